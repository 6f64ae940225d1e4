// Package barrier owns encryption at rest: [Barrier] is a [storage.Backend] that wraps another
// storage.Backend and seals every value with AES-256-GCM under a data key, the storage key being
// the additional data, so a value copied to another key does not open.
//
// The data keys form a keyring (term → key, one active term) kept in the wrapped storage under
// the reserved key "barrier/keyring", sealed by the key-encryption key (KEK). Rotation adds a
// term; old terms keep decrypting. The keyring is replaced, never changed in place, and never
// created over existing data. Keys under "barrier/" cannot be read or written through the
// barrier, and scans skip them.
//
// A sealed value is term(4, big endian) | version(1) = 1 | nonce(12) | ciphertext+tag(16).
//
// Start with [Open] and the tx type (barrier.go); the keyring and the sealing are in
// keyring.go, the KEK's text form ([ParseKEK]) in kek.go. [Barrier.Rotate] adds a data key
// on a running barrier; [Rekey] re-seals the keyring under a new KEK while no server runs.
//
// The barrier knows keys and bytes only: it imports internal/storage and the standard library,
// and must not import any domain package (vault, keyops, pki, identity, azapi, arm, ...).
// Names and paths (the storage keys) are not secret and stay in clear; values are sealed.
package barrier

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/coffer/coffer/internal/storage"
)

var (
	// ErrWrongKEK means the key-encryption key does not open the stored keyring: it is not the
	// key the keyring was sealed with (or the keyring was altered).
	ErrWrongKEK = errors.New("the key-encryption key cannot open the keyring: wrong COFFER_MASTER_KEY or master.key?")
	// ErrNoKeyring means the storage holds no keyring and [Options.Create] was not set.
	ErrNoKeyring = errors.New("storage holds no keyring")
)

// Options configures [Open].
type Options struct {
	// Create makes Open create a new keyring (term 1) when the storage holds none. Set it only
	// for storage that is new; Open refuses anyway when the storage holds any key.
	Create bool
}

// Barrier is a storage.Backend that encrypts values on their way to the wrapped backend. It is
// safe for concurrent use.
type Barrier struct {
	inner storage.Backend
	kek   cipher.AEAD
	ring  atomic.Pointer[keyring]
}

var _ storage.Backend = (*Barrier)(nil)

// Open loads the keyring from inner with kek (32 bytes, see [ParseKEK]) and returns the barrier
// over inner. A kek that cannot open the keyring gives an error wrapping [ErrWrongKEK]; a missing
// keyring gives [ErrNoKeyring] unless opts.Create is set, in which case a new keyring is
// created if inner holds no key at all. An existing keyring is never overwritten.
func Open(ctx context.Context, inner storage.Backend, kek []byte, opts Options) (*Barrier, error) {
	kekAEAD, err := kekCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("open barrier: %w", err)
	}
	var ring *keyring
	err = inner.View(ctx, func(tx storage.Tx) error {
		ring = nil
		r, err := loadKeyring(tx, kekAEAD)
		ring = r
		return err
	})
	if errors.Is(err, ErrNoKeyring) && opts.Create {
		ring, err = create(ctx, inner, kekAEAD)
	}
	if err != nil {
		return nil, fmt.Errorf("open barrier: %w", err)
	}
	b := &Barrier{inner: inner, kek: kekAEAD}
	b.ring.Store(ring)
	return b, nil
}

// create writes a first keyring unless one appeared meanwhile (then it loads that one) or the
// storage holds data.
func create(ctx context.Context, inner storage.Backend, kek cipher.AEAD) (*keyring, error) {
	fresh, err := firstKeyring()
	if err != nil {
		return nil, err
	}
	sealed := sealKeyring(kek, fresh)
	var ring *keyring
	err = inner.Update(ctx, func(tx storage.Tx) error {
		ring = nil
		r, err := loadKeyring(tx, kek)
		if !errors.Is(err, ErrNoKeyring) {
			ring = r // created concurrently: use it, never overwrite it
			return err
		}
		some, err := tx.Scan("", "", 1)
		if err != nil {
			return fmt.Errorf("check storage is empty: %w", err)
		}
		if len(some) > 0 {
			return errors.New("storage holds data but no keyring; refusing to create one")
		}
		if err := tx.Put(keyringKey, sealed); err != nil {
			return fmt.Errorf("write keyring: %w", err)
		}
		ring = fresh
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ring, nil
}

// Rotate adds a new data key under the next term and makes it active: later writes use it, and
// values sealed under older terms still open. It returns the new term. The new keyring is
// written in one transaction of the wrapped backend.
func (b *Barrier) Rotate(ctx context.Context) (uint32, error) {
	var key [dataKeySize]byte
	if _, err := rand.Read(key[:]); err != nil {
		return 0, fmt.Errorf("generate data key: %w", err)
	}
	defer clear(key[:])
	var next *keyring
	err := b.inner.Update(ctx, func(tx storage.Tx) error {
		next = nil
		// Start from the stored keyring, not the cached one: another server may have rotated.
		cur, err := loadKeyring(tx, b.kek)
		if err != nil {
			return err
		}
		r, err := cur.withKey(&key)
		if err != nil {
			return err
		}
		if err := tx.Put(keyringKey, sealKeyring(b.kek, r)); err != nil {
			return fmt.Errorf("write keyring: %w", err)
		}
		next = r
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("rotate barrier keyring: %w", err)
	}
	b.install(next)
	return next.active, nil
}

// Terms returns how many data keys the barrier's keyring holds.
func (b *Barrier) Terms() int { return len(b.ring.Load().keys) }

// ActiveTerm returns the term new values are sealed with.
func (b *Barrier) ActiveTerm() uint32 { return b.ring.Load().active }

// Rekey re-seals the keyring stored in inner under newKEK, in one transaction. Data values are
// unchanged: they are sealed by the data keys. oldKEK must open the keyring ([ErrWrongKEK]
// otherwise). Run it while no Barrier is open on inner (all servers stopped): an open Barrier
// still holds the old KEK.
func Rekey(ctx context.Context, inner storage.Backend, oldKEK, newKEK []byte) error {
	oldAEAD, err := kekCipher(oldKEK)
	if err != nil {
		return fmt.Errorf("rekey barrier keyring: old %w", err)
	}
	newAEAD, err := kekCipher(newKEK)
	if err != nil {
		return fmt.Errorf("rekey barrier keyring: new %w", err)
	}
	err = inner.Update(ctx, func(tx storage.Tx) error {
		r, err := loadKeyring(tx, oldAEAD)
		if err != nil {
			return err
		}
		if err := tx.Put(keyringKey, sealKeyring(newAEAD, r)); err != nil {
			return fmt.Errorf("write keyring: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rekey barrier keyring: %w", err)
	}
	return nil
}

func kekCipher(kek []byte) (cipher.AEAD, error) {
	if len(kek) != KEKSize {
		return nil, fmt.Errorf("key-encryption key is %d bytes, want %d", len(kek), KEKSize)
	}
	return newAEAD(kek)
}

// install makes r the cached keyring unless the cache already holds a keyring as new. Keyrings
// only grow, so the one with the higher last term holds every key of the other.
func (b *Barrier) install(r *keyring) {
	for {
		cur := b.ring.Load()
		if cur.maxTerm >= r.maxTerm || b.ring.CompareAndSwap(cur, r) {
			return
		}
	}
}

// View runs fn in a read-only snapshot of the wrapped backend; Get and Scan decrypt.
func (b *Barrier) View(ctx context.Context, fn func(storage.Tx) error) error {
	return b.run(ctx, b.inner.View, fn)
}

// Update runs fn in a read-write transaction of the wrapped backend; Put encrypts with the
// active term. Like the wrapped backend, it may run fn more than once.
func (b *Barrier) Update(ctx context.Context, fn func(storage.Tx) error) error {
	return b.run(ctx, b.inner.Update, fn)
}

// UpdateBackground implements [storage.BackgroundUpdater]: Update, as background work
// where the wrapped backend can do that.
func (b *Barrier) UpdateBackground(ctx context.Context, fn func(storage.Tx) error) error {
	return b.run(ctx, func(ctx context.Context, fn func(storage.Tx) error) error {
		return storage.UpdateBackground(ctx, b.inner, fn)
	}, fn)
}

// Close closes the wrapped backend.
func (b *Barrier) Close() error { return b.inner.Close() }

// Opens reports why sealed, as stored at key in the wrapped backend, does not open under
// the keyring (nil when it does): a value changed, or moved from another key. It is for
// a check that reads the stored bytes by other means (the server's background check of
// the embedded file reads its pages directly), and hands back nothing of the plaintext.
// A term the cached keyring lacks is reported too: the caller confirms through View,
// which reloads the keyring.
func (b *Barrier) Opens(key string, sealed []byte) error {
	term, err := header(sealed)
	if err != nil {
		return fmt.Errorf("barrier: value at %q: %s", key, err)
	}
	aead := b.ring.Load().aeads[term]
	if aead == nil {
		return fmt.Errorf("barrier: value at %q: unknown key term %d", key, term)
	}
	pt, err := open(aead, bytes.Clone(sealed), []byte(key))
	clear(pt)
	if err != nil {
		return fmt.Errorf("barrier: value at %q does not open (altered, or moved from another key)", key)
	}
	return nil
}

func (b *Barrier) run(ctx context.Context, do func(context.Context, func(storage.Tx) error) error, fn func(storage.Tx) error) error {
	t := new(tx)
	err := do(ctx, func(itx storage.Tx) error {
		*t = tx{b: b, inner: itx, ring: b.ring.Load()} // fresh on every run of fn
		return fn(t)
	})
	// A keyring read inside the transaction is known committed only once it succeeded.
	if err == nil && t.reloaded != nil {
		b.install(t.reloaded)
	}
	return err
}

// tx is the storage.Tx handed to callers: it seals on Put and opens on Get and Scan.
type tx struct {
	b     *Barrier
	inner storage.Tx
	ring  *keyring
	// reloaded is the stored keyring when a value named a term the cached one lacks (another
	// server rotated); it is installed after the transaction succeeds.
	reloaded *keyring
	tried    bool
}

func reserved(key string) bool { return strings.HasPrefix(key, reservedPrefix) }

func errReserved(key string) error {
	return fmt.Errorf("barrier: key %q is reserved", key)
}

func (t *tx) Get(key string) ([]byte, error) {
	if reserved(key) {
		return nil, errReserved(key)
	}
	v, err := t.inner.Get(key)
	if err != nil {
		return nil, err
	}
	return t.open(key, v)
}

// Prefetch passes the hint on ([storage.Prefetch]): keys are stored as they are, only
// values are sealed, so a prefetched value is opened by the Get that takes it.
func (t *tx) Prefetch(keys ...string) {
	for _, k := range keys {
		if reserved(k) {
			return
		}
	}
	storage.Prefetch(t.inner, keys...)
}

// ReadsNeedNoSnapshot passes the hint on ([storage.NoSnapshot]). A keyring this
// transaction reloads is then read by itself too; the keyring only gains terms.
func (t *tx) ReadsNeedNoSnapshot() { storage.NoSnapshot(t.inner) }

// GetShared is Get under the inner backend's shared lock ([storage.GetShared]).
func (t *tx) GetShared(key string) ([]byte, error) {
	if reserved(key) {
		return nil, errReserved(key)
	}
	v, err := storage.GetShared(t.inner, key)
	if err != nil {
		return nil, err
	}
	return t.open(key, v)
}

// GetExclusive is Get under the inner backend's exclusive lock ([storage.GetExclusive]).
func (t *tx) GetExclusive(key string) ([]byte, error) {
	if reserved(key) {
		return nil, errReserved(key)
	}
	v, err := storage.GetExclusive(t.inner, key)
	if err != nil {
		return nil, err
	}
	return t.open(key, v)
}

func (t *tx) Put(key string, value []byte) error {
	if reserved(key) {
		return errReserved(key)
	}
	return t.inner.Put(key, seal(t.ring.activeAEAD, t.ring.active, value, key))
}

func (t *tx) Delete(key string) error {
	if reserved(key) {
		return errReserved(key)
	}
	return t.inner.Delete(key)
}

func (t *tx) Scan(prefix, after string, limit int) ([]storage.Entry, error) {
	if reserved(prefix) {
		return nil, nil // every key under prefix is reserved
	}
	var out []storage.Entry
	want := limit
	for {
		es, err := t.inner.Scan(prefix, after, want)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = es[:0] // the entries are ours: filter and decrypt in place
		}
		for _, e := range es {
			if reserved(e.Key) {
				continue
			}
			pt, err := t.open(e.Key, e.Value)
			if err != nil {
				return nil, err
			}
			out = append(out, storage.Entry{Key: e.Key, Value: pt})
		}
		// Reserved keys were skipped: fetch more so a short page still means the end.
		if limit <= 0 || len(es) < want || len(out) >= limit {
			return out, nil
		}
		after = es[len(es)-1].Key
		want = limit - len(out)
	}
}

// ScanKeys implements [storage.KeyScanner]: the keys Scan would return (reserved ones
// skipped), without opening a value. Keys are not secret; a value that does not open is
// reported by what reads it.
func (t *tx) ScanKeys(prefix, after string, limit int) ([]string, error) {
	if reserved(prefix) {
		return nil, nil
	}
	var out []string
	want := limit
	for {
		ks, err := storage.ScanKeys(t.inner, prefix, after, want)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = ks[:0] // the keys are ours: filter in place
		}
		for _, k := range ks {
			if !reserved(k) {
				out = append(out, k)
			}
		}
		if limit <= 0 || len(ks) < want || len(out) >= limit {
			return out, nil
		}
		after = ks[len(ks)-1]
		want = limit - len(out)
	}
}

// open decrypts v, read at key, in place.
func (t *tx) open(key string, v []byte) ([]byte, error) {
	term, err := header(v)
	if err != nil {
		return nil, fmt.Errorf("barrier: value at %q: %s", key, err)
	}
	aead := t.ring.aeads[term]
	if aead == nil {
		if aead, err = t.reload(term); err != nil {
			return nil, fmt.Errorf("barrier: value at %q: %w", key, err)
		}
	}
	pt, err := open(aead, v, []byte(key))
	if err != nil {
		return nil, fmt.Errorf("barrier: value at %q does not open (altered, or moved from another key)", key)
	}
	return pt, nil
}

// reload reads the stored keyring once per transaction, for a term the cached keyring lacks.
func (t *tx) reload(term uint32) (cipher.AEAD, error) {
	if !t.tried {
		t.tried = true
		r, err := loadKeyring(t.inner, t.b.kek)
		if err != nil {
			return nil, err
		}
		if r.maxTerm > t.ring.maxTerm {
			t.ring, t.reloaded = r, r
		}
	}
	if aead := t.ring.aeads[term]; aead != nil {
		return aead, nil
	}
	return nil, fmt.Errorf("unknown key term %d", term)
}
