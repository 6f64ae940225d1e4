package keyops

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"fmt"

	_ "crypto/sha1" // RSA-OAEP is OAEP with SHA-1
)

// encMode is how an encryption or key-wrap algorithm works.
type encMode int

const (
	modeOAEP   encMode = iota + 1 // RSA-OAEP with hash
	modePKCS1                     // RSA1_5
	modeGCM                       // AES-GCM, 12-byte iv, 16-byte tag
	modeCBC                       // AES-CBC, no padding
	modeCBCPad                    // AES-CBC, PKCS #7 padding
	modeKW                        // RFC 3394
	modeKWP                       // RFC 5649
)

// encAlg describes an encryption or key-wrap algorithm.
type encAlg struct {
	fam     family
	mode    encMode
	hash    crypto.Hash // OAEP hash (and MGF1 hash)
	keyBits int         // AES key size the algorithm requires; 0: any
	wrap    bool        // a key-wrap algorithm (wrapKey/unwrapKey), not encrypt/decrypt
	encrypt bool        // an encrypt/decrypt algorithm
}

var encAlgs = map[string]encAlg{
	"RSA-OAEP":     {fam: famRSA, mode: modeOAEP, hash: crypto.SHA1, wrap: true, encrypt: true},
	"RSA-OAEP-256": {fam: famRSA, mode: modeOAEP, hash: crypto.SHA256, wrap: true, encrypt: true},
	"RSA1_5":       {fam: famRSA, mode: modePKCS1, wrap: true, encrypt: true},

	"A128GCM":    {fam: famOct, mode: modeGCM, keyBits: 128, encrypt: true},
	"A192GCM":    {fam: famOct, mode: modeGCM, keyBits: 192, encrypt: true},
	"A256GCM":    {fam: famOct, mode: modeGCM, keyBits: 256, encrypt: true},
	"A128CBC":    {fam: famOct, mode: modeCBC, keyBits: 128, encrypt: true},
	"A192CBC":    {fam: famOct, mode: modeCBC, keyBits: 192, encrypt: true},
	"A256CBC":    {fam: famOct, mode: modeCBC, keyBits: 256, encrypt: true},
	"A128CBCPAD": {fam: famOct, mode: modeCBCPad, keyBits: 128, encrypt: true},
	"A192CBCPAD": {fam: famOct, mode: modeCBCPad, keyBits: 192, encrypt: true},
	"A256CBCPAD": {fam: famOct, mode: modeCBCPad, keyBits: 256, encrypt: true},

	"A128KW":               {fam: famOct, mode: modeKW, keyBits: 128, wrap: true},
	"A192KW":               {fam: famOct, mode: modeKW, keyBits: 192, wrap: true},
	"A256KW":               {fam: famOct, mode: modeKW, keyBits: 256, wrap: true},
	"CKM_AES_KEY_WRAP":     {fam: famOct, mode: modeKW, wrap: true},
	"CKM_AES_KEY_WRAP_PAD": {fam: famOct, mode: modeKWP, wrap: true},
}

const (
	gcmIVSize  = 12
	gcmTagSize = 16
)

// encAlgsFor says which algorithms fit k for encrypt (wrap false) or wrapKey (wrap true).
func (k *Key) encAlgsFor(wrap bool) string {
	if k.rsa != nil {
		return "RSA-OAEP, RSA-OAEP-256, RSA1_5"
	}
	b := len(k.oct) * 8
	if wrap {
		return fmt.Sprintf("A%dKW, CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD", b)
	}
	return fmt.Sprintf("A%dGCM, A%dCBC, A%dCBCPAD", b, b, b)
}

// encParams checks alg against k for an encrypt/decrypt (wrap false) or wrapKey/unwrapKey
// (wrap true) request.
func (k *Key) encParams(alg string, wrap bool) (encAlg, error) {
	op := "encrypt and decrypt"
	if wrap {
		op = "wrapKey and unwrapKey"
	}
	if k.ec != nil {
		return encAlg{}, invalid("an EC key cannot %s; EC keys only sign and verify", op)
	}
	a, ok := encAlgs[alg]
	if !ok {
		return a, invalid("algorithm %s is not valid for %s; for %s key use %s", quote(alg), op, k.family(), k.encAlgsFor(wrap))
	}
	if a.fam != k.family() {
		return a, invalid("algorithm %s is not valid for %s key; use %s", alg, k.family(), k.encAlgsFor(wrap))
	}
	if wrap && !a.wrap {
		return a, invalid("algorithm %s is for encrypt and decrypt; for wrapKey and unwrapKey use %s", alg, k.encAlgsFor(true))
	}
	if !wrap && !a.encrypt {
		return a, invalid("algorithm %s is for wrapKey and unwrapKey; for encrypt and decrypt use %s", alg, k.encAlgsFor(false))
	}
	if a.keyBits != 0 && a.keyBits != len(k.oct)*8 {
		return a, invalid("algorithm %s needs a %d-bit key; this key is %d bits, use %s", alg, a.keyBits, len(k.oct)*8, k.encAlgsFor(wrap))
	}
	return a, nil
}

func errNotDecrypted() error {
	return invalid("the ciphertext could not be decrypted with this key and algorithm")
}

// rsaLimit is the largest plaintext alg can encrypt with k.
func (k *Key) rsaLimit(a encAlg) int {
	if a.mode == modePKCS1 {
		return k.rsa.Size() - 11
	}
	return k.rsa.Size() - 2*a.hash.Size() - 2
}

func (k *Key) rsaEncrypt(alg string, a encAlg, what string, plaintext []byte) ([]byte, error) {
	if limit := k.rsaLimit(a); len(plaintext) > limit {
		return nil, invalid("the %s for %s with a %d-bit key must be at most %d bytes, got %d",
			what, alg, k.rsa.N.BitLen(), limit, len(plaintext))
	}
	var ct []byte
	var err error
	if a.mode == modePKCS1 {
		ct, err = rsa.EncryptPKCS1v15(rand.Reader, &k.rsa.PublicKey, plaintext)
	} else {
		ct, err = rsa.EncryptOAEP(a.hash.New(), rand.Reader, &k.rsa.PublicKey, plaintext, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", alg, err)
	}
	return ct, nil
}

func (k *Key) rsaDecrypt(alg string, a encAlg, what string, ct []byte) ([]byte, error) {
	if len(ct) != k.rsa.Size() {
		return nil, invalid("the %s for %s with a %d-bit key must be %d bytes, got %d",
			what, alg, k.rsa.N.BitLen(), k.rsa.Size(), len(ct))
	}
	var pt []byte
	var err error
	if a.mode == modePKCS1 {
		pt, err = rsa.DecryptPKCS1v15(nil, k.rsa, ct)
	} else {
		pt, err = rsa.DecryptOAEP(a.hash.New(), nil, k.rsa, ct, nil)
	}
	if err != nil {
		return nil, errNotDecrypted()
	}
	return pt, nil
}

// Encrypt encrypts plaintext. RSA keys: RSA-OAEP (SHA-1), RSA-OAEP-256, RSA1_5, with the
// plaintext limited by the modulus and padding (190 bytes for RSA-OAEP-256 with 2048 bits); iv
// and aad must be empty, and ivOut and tag are nil. oct keys: AnnnGCM (iv generated here unless
// the caller gives 12 bytes; returns the iv and the 16-byte tag), AnnnCBC (plaintext a multiple
// of 16 bytes) and AnnnCBCPAD (PKCS #7), both with a 16-byte iv, generated here when empty and
// returned; aad is for GCM only. The algorithm's key size must be the key's.
func (k *Key) Encrypt(alg string, plaintext, iv, aad []byte) (ct, ivOut, tag []byte, err error) {
	a, err := k.encParams(alg, false)
	if err != nil {
		return nil, nil, nil, err
	}
	if a.fam == famRSA {
		if len(iv) != 0 || len(aad) != 0 {
			return nil, nil, nil, invalid("iv and aad do not apply to %s; send alg and value only", alg)
		}
		ct, err := k.rsaEncrypt(alg, a, "plaintext", plaintext)
		return ct, nil, nil, err
	}
	block, err := aes.NewCipher(k.oct)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", alg, err)
	}
	if a.mode == modeGCM {
		if len(iv) != 0 && len(iv) != gcmIVSize {
			return nil, nil, nil, invalid("the iv for %s must be %d bytes, got %d (or omit it: the server generates one)", alg, gcmIVSize, len(iv))
		}
		if len(iv) == 0 {
			iv = make([]byte, gcmIVSize)
			if _, err := rand.Read(iv); err != nil {
				return nil, nil, nil, fmt.Errorf("%s iv: %w", alg, err)
			}
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", alg, err)
		}
		sealed := gcm.Seal(nil, iv, plaintext, aad)
		n := len(sealed) - gcmTagSize
		return sealed[:n:n], iv, sealed[n:], nil
	}
	// CBC, with or without padding.
	if len(aad) != 0 {
		return nil, nil, nil, invalid("aad does not apply to %s; only the GCM algorithms take aad", alg)
	}
	if len(iv) != 0 && len(iv) != aes.BlockSize {
		return nil, nil, nil, invalid("the iv for %s must be %d bytes, got %d", alg, aes.BlockSize, len(iv))
	}
	if len(iv) == 0 {
		iv = make([]byte, aes.BlockSize)
		if _, err := rand.Read(iv); err != nil {
			return nil, nil, nil, fmt.Errorf("%s iv: %w", alg, err)
		}
	}
	var buf []byte
	if a.mode == modeCBCPad {
		pad := aes.BlockSize - len(plaintext)%aes.BlockSize
		buf = make([]byte, len(plaintext)+pad)
		copy(buf, plaintext)
		for i := len(plaintext); i < len(buf); i++ {
			buf[i] = byte(pad)
		}
	} else {
		if len(plaintext)%aes.BlockSize != 0 {
			return nil, nil, nil, invalid("the plaintext for %s must be a multiple of %d bytes, got %d; use %sPAD for other lengths",
				alg, aes.BlockSize, len(plaintext), alg)
		}
		buf = append([]byte(nil), plaintext...)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return buf, append([]byte(nil), iv...), nil, nil
}

// Decrypt reverses [Key.Encrypt]: GCM needs the 12-byte iv, the aad and the 16-byte tag; CBC
// needs the 16-byte iv; RSA takes the ciphertext alone. A ciphertext that does not decrypt gives
// an [ErrInvalid] error "the ciphertext could not be decrypted with this key and algorithm".
func (k *Key) Decrypt(alg string, ct, iv, aad, tag []byte) ([]byte, error) {
	a, err := k.encParams(alg, false)
	if err != nil {
		return nil, err
	}
	if a.fam == famRSA {
		if len(iv) != 0 || len(aad) != 0 || len(tag) != 0 {
			return nil, invalid("iv, aad and tag do not apply to %s; send alg and value only", alg)
		}
		return k.rsaDecrypt(alg, a, "ciphertext", ct)
	}
	block, err := aes.NewCipher(k.oct)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", alg, err)
	}
	if a.mode == modeGCM {
		if len(iv) != gcmIVSize {
			return nil, invalid("the iv for %s must be %d bytes, got %d", alg, gcmIVSize, len(iv))
		}
		if len(tag) != gcmTagSize {
			return nil, invalid("the tag for %s must be %d bytes, got %d", alg, gcmTagSize, len(tag))
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", alg, err)
		}
		sealed := make([]byte, 0, len(ct)+len(tag))
		sealed = append(append(sealed, ct...), tag...)
		pt, err := gcm.Open(nil, iv, sealed, aad)
		if err != nil {
			return nil, errNotDecrypted()
		}
		return pt, nil
	}
	if len(aad) != 0 || len(tag) != 0 {
		return nil, invalid("aad and tag do not apply to %s; only the GCM algorithms take them", alg)
	}
	if len(iv) != aes.BlockSize {
		return nil, invalid("the iv for %s must be %d bytes, got %d", alg, aes.BlockSize, len(iv))
	}
	if len(ct)%aes.BlockSize != 0 || (a.mode == modeCBCPad && len(ct) == 0) {
		return nil, invalid("the ciphertext for %s must be a non-empty multiple of %d bytes, got %d", alg, aes.BlockSize, len(ct))
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(pt, ct)
	if a.mode == modeCBC {
		return pt, nil
	}
	pad := int(pt[len(pt)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, errNotDecrypted()
	}
	for _, b := range pt[len(pt)-pad:] {
		if int(b) != pad {
			return nil, errNotDecrypted()
		}
	}
	return pt[:len(pt)-pad], nil
}

// WrapKey wraps key material: RSA-OAEP, RSA-OAEP-256, RSA1_5 with RSA keys (same limits as
// [Key.Encrypt]); AnnnKW (RFC 3394, key size must match) and CKM_AES_KEY_WRAP (RFC 3394, any
// AES key size) with oct keys, for a key of 16 bytes or more in multiples of 8;
// CKM_AES_KEY_WRAP_PAD (RFC 5649) for any non-empty key.
func (k *Key) WrapKey(alg string, key []byte) ([]byte, error) {
	a, err := k.encParams(alg, true)
	if err != nil {
		return nil, err
	}
	if a.fam == famRSA {
		return k.rsaEncrypt(alg, a, "key to wrap", key)
	}
	block, err := aes.NewCipher(k.oct)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", alg, err)
	}
	if a.mode == modeKWP {
		if len(key) == 0 {
			return nil, invalid("the key to wrap with %s must not be empty", alg)
		}
		return kwpWrap(block, key), nil
	}
	if len(key) < 16 || len(key)%8 != 0 {
		return nil, invalid("the key to wrap with %s must be at least 16 bytes and a multiple of 8, got %d; use CKM_AES_KEY_WRAP_PAD for other lengths",
			alg, len(key))
	}
	return kwWrap(block, kwIV, key), nil
}

// UnwrapKey reverses [Key.WrapKey]. A wrapped key that fails its integrity check gives an
// [ErrInvalid] error.
func (k *Key) UnwrapKey(alg string, wrapped []byte) ([]byte, error) {
	a, err := k.encParams(alg, true)
	if err != nil {
		return nil, err
	}
	if a.fam == famRSA {
		return k.rsaDecrypt(alg, a, "wrapped key", wrapped)
	}
	block, err := aes.NewCipher(k.oct)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", alg, err)
	}
	minLen := 24
	if a.mode == modeKWP {
		minLen = 16
	}
	if len(wrapped) < minLen || len(wrapped)%8 != 0 {
		return nil, invalid("the wrapped key for %s must be at least %d bytes and a multiple of 8, got %d", alg, minLen, len(wrapped))
	}
	var key []byte
	var ok bool
	if a.mode == modeKWP {
		key, ok = kwpOpen(block, wrapped)
	} else {
		key, ok = kwOpen(block, wrapped)
	}
	if !ok {
		return nil, invalid("the wrapped key could not be unwrapped with this key and algorithm")
	}
	return key, nil
}
