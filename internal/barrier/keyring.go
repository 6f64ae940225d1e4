package barrier

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/coffer/coffer/internal/storage"
)

// Sealed value layout: term(4, big endian) | version(1) | nonce(12) | ciphertext+tag(16).
const (
	valueVersion = 1
	termLen      = 4
	nonceLen     = 12
	tagLen       = 16
	headerLen    = termLen + 1 + nonceLen
	minValueLen  = headerLen + tagLen
)

const (
	// reservedPrefix holds the barrier's own records; nothing under it passes through.
	reservedPrefix = "barrier/"
	// keyringKey holds the keyring, sealed by the KEK with term 0 and itself as additional data.
	keyringKey = reservedPrefix + "keyring"
	// kekTerm is the term written in the header of the sealed keyring.
	kekTerm = 0

	dataKeySize   = 32
	keyringFormat = 1
	// Keyring plaintext: format(1) | active term(4) | count(4) | count × (term(4) | key(32)).
	keyringHeaderLen = 1 + 4 + 4
	keyringEntryLen  = termLen + dataKeySize
)

var keyringAAD = []byte(keyringKey)

// keyring is an immutable set of data keys. A new term makes a new keyring; the barrier swaps
// the pointer, so a transaction that took one keyring sees it unchanged to the end.
type keyring struct {
	active     uint32
	activeAEAD cipher.AEAD
	maxTerm    uint32
	aeads      map[uint32]cipher.AEAD
	keys       []termKey // ascending by term; what is serialized
}

type termKey struct {
	term uint32
	key  [dataKeySize]byte
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// newKeyring builds the ciphers once; keys must be ascending by term, terms non-zero, unique.
func newKeyring(active uint32, keys []termKey) (*keyring, error) {
	r := &keyring{active: active, aeads: make(map[uint32]cipher.AEAD, len(keys)), keys: keys}
	for i := range keys {
		k := &keys[i]
		if k.term == kekTerm || (i > 0 && k.term <= keys[i-1].term) {
			return nil, errors.New("corrupt keyring: terms out of order")
		}
		aead, err := newAEAD(k.key[:])
		if err != nil {
			return nil, fmt.Errorf("keyring term %d: %w", k.term, err)
		}
		r.aeads[k.term] = aead
		r.maxTerm = k.term
	}
	r.activeAEAD = r.aeads[active]
	if r.activeAEAD == nil {
		return nil, fmt.Errorf("corrupt keyring: active term %d has no key", active)
	}
	return r, nil
}

// firstKeyring returns a keyring holding one random data key, term 1.
func firstKeyring() (*keyring, error) {
	k := termKey{term: 1}
	if _, err := rand.Read(k.key[:]); err != nil {
		return nil, fmt.Errorf("generate data key: %w", err)
	}
	return newKeyring(1, []termKey{k})
}

// withKey returns a new keyring that adds key under the next term and makes it active.
func (r *keyring) withKey(key *[dataKeySize]byte) (*keyring, error) {
	if r.maxTerm == math.MaxUint32 {
		return nil, errors.New("keyring has no term left")
	}
	term := r.maxTerm + 1
	keys := append(slices.Clip(r.keys), termKey{term: term, key: *key})
	return newKeyring(term, keys)
}

func (r *keyring) marshal() []byte {
	b := make([]byte, keyringHeaderLen, keyringHeaderLen+len(r.keys)*keyringEntryLen)
	b[0] = keyringFormat
	binary.BigEndian.PutUint32(b[1:], r.active)
	binary.BigEndian.PutUint32(b[5:], uint32(len(r.keys)))
	for _, k := range r.keys {
		b = binary.BigEndian.AppendUint32(b, k.term)
		b = append(b, k.key[:]...)
	}
	return b
}

func parseKeyring(b []byte) (*keyring, error) {
	if len(b) < keyringHeaderLen || b[0] != keyringFormat {
		return nil, errors.New("unsupported keyring format")
	}
	active := binary.BigEndian.Uint32(b[1:])
	n := binary.BigEndian.Uint32(b[5:])
	rest := b[keyringHeaderLen:]
	if n == 0 || uint64(len(rest)) != uint64(n)*keyringEntryLen {
		return nil, errors.New("corrupt keyring: bad length")
	}
	keys := make([]termKey, n)
	for i := range keys {
		keys[i].term = binary.BigEndian.Uint32(rest)
		copy(keys[i].key[:], rest[termLen:keyringEntryLen])
		rest = rest[keyringEntryLen:]
	}
	return newKeyring(active, keys)
}

// seal returns header | AES-GCM(plaintext) with a random nonce and aad as additional data.
// One allocation holds the result and, past its capacity, a copy of aad (so the string needs
// no conversion of its own).
func seal(aead cipher.AEAD, term uint32, plaintext []byte, aad string) []byte {
	n := headerLen + len(plaintext) + tagLen
	buf := make([]byte, n+len(aad))
	ad := buf[n:]
	copy(ad, aad)
	out := buf[:headerLen:n] // Seal appends within this capacity, never reaching ad
	binary.BigEndian.PutUint32(out, term)
	out[termLen] = valueVersion
	nonce := out[termLen+1 : headerLen]
	rand.Read(nonce) // never fails (crypto/rand crashes the program instead)
	return aead.Seal(out, nonce, plaintext, ad)
}

// header checks the fixed part of a sealed value and returns its term.
func header(v []byte) (uint32, error) {
	if len(v) < minValueLen {
		return 0, fmt.Errorf("truncated (%d bytes, want at least %d)", len(v), minValueLen)
	}
	if v[termLen] != valueVersion {
		return 0, fmt.Errorf("unsupported format version %d", v[termLen])
	}
	return binary.BigEndian.Uint32(v), nil
}

// open decrypts a sealed value in place: the plaintext reuses v's memory.
func open(aead cipher.AEAD, v, aad []byte) ([]byte, error) {
	body := v[headerLen:]
	return aead.Open(body[:0], v[termLen+1:headerLen], body, aad)
}

func sealKeyring(kek cipher.AEAD, r *keyring) []byte {
	plain := r.marshal()
	defer clear(plain)
	return seal(kek, kekTerm, plain, keyringKey)
}

// openKeyring unseals a stored keyring; an authentication failure is [ErrWrongKEK].
func openKeyring(kek cipher.AEAD, sealed []byte) (*keyring, error) {
	term, err := header(sealed)
	if err != nil {
		return nil, fmt.Errorf("keyring: %s", err)
	}
	if term != kekTerm {
		return nil, fmt.Errorf("keyring: unexpected term %d", term)
	}
	plain, err := open(kek, sealed, keyringAAD)
	if err != nil {
		return nil, ErrWrongKEK
	}
	defer clear(plain)
	return parseKeyring(plain)
}

// loadKeyring reads and unseals the keyring in tx; [ErrNoKeyring] when there is none.
func loadKeyring(tx storage.Tx, kek cipher.AEAD) (*keyring, error) {
	sealed, err := tx.Get(keyringKey)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNoKeyring
	}
	if err != nil {
		return nil, fmt.Errorf("read keyring: %w", err)
	}
	return openKeyring(kek, sealed)
}
