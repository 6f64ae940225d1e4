package certs

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"hash"
	"math/big"
	"unicode/utf16"
)

// MaxPFXIterations bounds each key-derivation iteration count of an imported PFX (PKCS #12).
// A PFX's MAC, each encrypted safe and the private key are opened with keys derived from
// the password as many times as the file itself says, and go-pkcs12 trusts the file: a
// count of 2^31−1 keeps a core busy for minutes. The bound is far above what exporters
// write (OpenSSL 3: 2,048; Windows, .NET and Key Vault's own downloads: 2,000; Java: 10,000)
// and equal to the count recommended today for PBKDF2-HMAC-SHA256 password storage, so a
// file made "extra strong" on purpose still imports; one derivation at the bound takes
// about a tenth of a second.
const MaxPFXIterations = 600_000

// maxPFXWork bounds a PFX's iteration counts together: four derivations at
// MaxPFXIterations, as many as a PFX with a MAC, two encrypted safes and a private key has.
// It keeps a file with many safes or many key bags from multiplying the per-count bound.
const maxPFXWork = 4 * MaxPFXIterations

var (
	oidData           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidEncryptedData  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidShroudedKeyBag = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidPKCS12PBE      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1} // pbeWithSHAAnd…, by the last arc
	oidPBES2          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidPBMAC1         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}
	oidHMACSHA1       = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA256     = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA512     = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

// The PKCS #12 structures as go-pkcs12 reads them, field for field, except that iteration
// counts are read as big integers: a count too large for an int is refused here with a
// message rather than left to a parse error.
type (
	p12PFX struct {
		Version  int
		AuthSafe p12ContentInfo
		MacData  p12MacData `asn1:"optional"`
	}
	p12ContentInfo struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
	}
	p12MacData struct {
		Mac struct {
			Algorithm pkix.AlgorithmIdentifier
			Digest    []byte
		}
		MacSalt    []byte
		Iterations *big.Int `asn1:"optional"` // DEFAULT 1
	}
	p12EncryptedData struct {
		Version              int
		EncryptedContentInfo struct {
			ContentType                asn1.ObjectIdentifier
			ContentEncryptionAlgorithm pkix.AlgorithmIdentifier
			EncryptedContent           []byte `asn1:"tag:0,optional"`
		}
	}
	p12SafeBag struct {
		ID         asn1.ObjectIdentifier
		Value      asn1.RawValue `asn1:"tag:0,explicit"`
		Attributes []struct {
			ID    asn1.ObjectIdentifier
			Value asn1.RawValue `asn1:"set"`
		} `asn1:"set,optional"`
	}
	p12EncryptedPrivateKeyInfo struct {
		Algorithm     pkix.AlgorithmIdentifier
		EncryptedData []byte
	}
	p12PBEParams struct {
		Salt       []byte
		Iterations *big.Int
	}
	p12PBES2Params struct {
		KDF              pkix.AlgorithmIdentifier
		EncryptionScheme pkix.AlgorithmIdentifier
	}
	p12PBKDF2Params struct {
		Salt       asn1.RawValue
		Iterations *big.Int
		KeyLength  *big.Int                 `asn1:"optional"`
		PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
	}
	p12PBMAC1Params struct {
		KDF    pkix.AlgorithmIdentifier
		MacAlg pkix.AlgorithmIdentifier
	}
)

// errPFXPassword is the check's "the password does not open this PFX"; parsePFX answers it
// as it answers go-pkcs12's own.
var errPFXPassword = errors.New("pkcs12: decryption password incorrect")

// checkPFXWork reads every iteration count of a PFX from its ASN.1 structure, before any
// key is derived, and refuses a file whose counts exceed MaxPFXIterations each or
// maxPFXWork together. A private key bag can hide inside an encrypted safe, where its count
// cannot be read without opening the safe: the check opens each encrypted safe with the
// password (its own count checked first) and reads the bags inside.
//
// It returns nil for a file that is not a PFX go-pkcs12 would read this far (go-pkcs12
// then refuses it before deriving any key and says why); any other structure it cannot
// read is refused, since go-pkcs12 might derive keys from what the check could not see.
func checkPFXWork(der []byte, password string) error {
	var pfx p12PFX
	if unmarshalAll(der, &pfx) != nil || pfx.Version != 3 || !pfx.AuthSafe.ContentType.Equal(oidData) {
		return nil
	}
	var w pfxWork
	if alg := pfx.MacData.Mac.Algorithm; len(alg.Algorithm) != 0 {
		count := pfx.MacData.Iterations
		if alg.Algorithm.Equal(oidPBMAC1) {
			var p p12PBMAC1Params
			if err := unmarshalAll(alg.Parameters.FullBytes, &p); err != nil {
				return unreadablePFX(err)
			}
			kdf, err := pbkdf2Of(p.KDF)
			if err != nil {
				return err
			}
			count = kdf.Iterations
		}
		if err := w.add(count, "MAC"); err != nil {
			return err
		}
	}
	var content []byte
	if err := unmarshalAll(pfx.AuthSafe.Content.Bytes, &content); err != nil {
		return unreadablePFX(err)
	}
	var safes []p12ContentInfo
	if err := unmarshalAll(content, &safes); err != nil {
		return unreadablePFX(err)
	}
	passwords, ok := pfxPasswords(password)
	if !ok {
		return nil // go-pkcs12 refuses the password before reading the file
	}
	for _, safe := range safes {
		var plain [][]byte
		switch {
		case safe.ContentType.Equal(oidData):
			var data []byte
			if err := unmarshalAll(safe.Content.Bytes, &data); err != nil {
				return unreadablePFX(err)
			}
			plain = [][]byte{data}
		case safe.ContentType.Equal(oidEncryptedData):
			var ed p12EncryptedData
			if err := unmarshalAll(safe.Content.Bytes, &ed); err != nil {
				return unreadablePFX(err)
			}
			if ed.Version != 0 {
				return unsupportedPFX("only version 0 of EncryptedData is supported")
			}
			info := ed.EncryptedContentInfo
			if err := w.addAlgorithm(info.ContentEncryptionAlgorithm, "encrypted contents"); err != nil {
				return err
			}
			var err error
			if plain, err = openSafe(info.ContentEncryptionAlgorithm, info.EncryptedContent, passwords); err != nil {
				return err
			}
		default:
			continue // go-pkcs12 refuses it without deriving a key
		}
		// A wrong password decrypts to well-padded noise about once in 256 (and with the
		// empty password two forms are tried): a plaintext that holds no bags is that noise.
		// Every one that holds bags is counted; when none does, an encrypted safe was
		// opened with the wrong password, as go-pkcs12's own MAC check would say.
		var parsed [][]p12SafeBag
		var parseErr error
		for _, data := range plain {
			var bags []p12SafeBag
			if err := unmarshalAll(data, &bags); err != nil {
				parseErr = err
				continue
			}
			parsed = append(parsed, bags)
		}
		if len(parsed) == 0 {
			if safe.ContentType.Equal(oidEncryptedData) {
				return errPFXPassword
			}
			return unreadablePFX(parseErr)
		}
		for _, bags := range parsed {
			for _, bag := range bags {
				if !bag.ID.Equal(oidShroudedKeyBag) {
					continue
				}
				var info p12EncryptedPrivateKeyInfo
				if err := unmarshalAll(bag.Value.Bytes, &info); err != nil {
					return unreadablePFX(err)
				}
				if err := w.addAlgorithm(info.Algorithm, "private key"); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// pfxWork adds up the iteration counts of one PFX.
type pfxWork struct{ total int64 }

func (w *pfxWork) add(count *big.Int, what string) error {
	n := int64(1) // the DEFAULT of macData.iterations; a count below 1 derives once
	if count != nil {
		if !count.IsInt64() || count.Int64() > MaxPFXIterations {
			shown := "more than 9223372036854775807"
			if count.IsInt64() {
				shown = count.String()
			}
			return invalid("the PFX (PKCS #12) file asks for %s key-derivation iterations for its %s; at most %d are accepted. "+
				"Export the certificate again with a usual iteration count (OpenSSL, Windows and .NET use about 2000)", shown, what, MaxPFXIterations)
		}
		n = max(n, count.Int64())
	}
	if w.total += n; w.total > maxPFXWork {
		return invalid("the PFX (PKCS #12) file asks for more than %d key-derivation iterations in all; at most %d are accepted, %d for each of its MAC, encrypted contents and private key. "+
			"Export the certificate again with a usual iteration count (OpenSSL, Windows and .NET use about 2000)", maxPFXWork, maxPFXWork, MaxPFXIterations)
	}
	return nil
}

// addAlgorithm adds the count of an encryption algorithm: a PKCS #12 PBE or PBES2 with PBKDF2.
// Any other algorithm is refused, as go-pkcs12 refuses it.
func (w *pfxWork) addAlgorithm(alg pkix.AlgorithmIdentifier, what string) error {
	switch {
	case isPKCS12PBE(alg.Algorithm):
		var p p12PBEParams
		if err := unmarshalAll(alg.Parameters.FullBytes, &p); err != nil {
			return unreadablePFX(err)
		}
		return w.add(p.Iterations, what)
	case alg.Algorithm.Equal(oidPBES2):
		var p p12PBES2Params
		if err := unmarshalAll(alg.Parameters.FullBytes, &p); err != nil {
			return unreadablePFX(err)
		}
		kdf, err := pbkdf2Of(p.KDF)
		if err != nil {
			return err
		}
		return w.add(kdf.Iterations, what)
	}
	return unsupportedPFX("pbe algorithm " + alg.Algorithm.String() + " is not supported")
}

func isPKCS12PBE(oid asn1.ObjectIdentifier) bool {
	return len(oid) == len(oidPKCS12PBE)+1 && oid[:len(oidPKCS12PBE)].Equal(oidPKCS12PBE)
}

// pbkdf2Of reads the parameters of a PBES2 or PBMAC1 key derivation, which must be PBKDF2
// (a derivation whose cost the check cannot read is refused).
func pbkdf2Of(kdf pkix.AlgorithmIdentifier) (p12PBKDF2Params, error) {
	var p p12PBKDF2Params
	if !kdf.Algorithm.Equal(oidPBKDF2) {
		return p, unsupportedPFX("pbes2 kdf algorithm " + kdf.Algorithm.String() + " is not supported")
	}
	if err := unmarshalAll(kdf.Parameters.FullBytes, &p); err != nil {
		return p, unreadablePFX(err)
	}
	return p, nil
}

// pfxPasswords returns the forms of password a PFX may have been made with, as go-pkcs12
// tries them: the BMPString with its terminator, and for the empty password also no bytes
// at all. ok is false for a password go-pkcs12 cannot encode.
func pfxPasswords(password string) (forms [][]byte, ok bool) {
	b := make([]byte, 0, 2*len(password)+2)
	for _, r := range password {
		if r1, _ := utf16.EncodeRune(r); r1 != '\uFFFD' {
			return nil, false // outside the Basic Multilingual Plane
		}
		b = append(b, byte(r>>8), byte(r))
	}
	forms = [][]byte{append(b, 0, 0)}
	if password == "" {
		forms = append(forms, nil)
	}
	return forms, true
}

// openSafe decrypts an encrypted safe with each form of the password and returns every
// plaintext that decrypts; none is the wrong password. Its count has been checked.
func openSafe(alg pkix.AlgorithmIdentifier, ciphertext []byte, passwords [][]byte) ([][]byte, error) {
	var out [][]byte
	var err error
	if alg.Algorithm.Equal(oidPBES2) {
		// PBES2 takes the password as UTF-8: both forms of the empty password are "".
		var p p12PBES2Params
		if err := unmarshalAll(alg.Parameters.FullBytes, &p); err != nil {
			return nil, unreadablePFX(err)
		}
		var plain []byte
		if plain, err = pbes2Decrypt(p, ciphertext, bmpToUTF8(passwords[0])); err == nil {
			out = append(out, plain)
		}
	} else {
		for _, pw := range passwords {
			var plain []byte
			if plain, err = pkcs12PBEDecrypt(alg, ciphertext, pw); err == nil {
				out = append(out, plain)
			}
		}
	}
	if len(out) == 0 {
		return nil, err
	}
	return out, nil
}

func bmpToUTF8(b []byte) string {
	b = bytes.TrimSuffix(b, []byte{0, 0})
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u))
}

func pkcs12PBEDecrypt(alg pkix.AlgorithmIdentifier, ciphertext, password []byte) ([]byte, error) {
	var p p12PBEParams
	if err := unmarshalAll(alg.Parameters.FullBytes, &p); err != nil {
		return nil, unreadablePFX(err)
	}
	iterations := int(p.Iterations.Int64()) // checked: at most MaxPFXIterations
	var block cipher.Block
	switch alg.Algorithm[len(alg.Algorithm)-1] {
	case 3: // pbeWithSHAAnd3-KeyTripleDES-CBC
		var err error
		if block, err = des.NewTripleDESCipher(pkcs12KDF(password, p.Salt, iterations, 1, 24)); err != nil {
			return nil, err
		}
	case 5: // pbeWithSHAAnd128BitRC2-CBC
		block = newRC2(pkcs12KDF(password, p.Salt, iterations, 1, 16), 128)
	case 6: // pbeWithSHAAnd40BitRC2-CBC
		block = newRC2(pkcs12KDF(password, p.Salt, iterations, 1, 5), 40)
	default:
		return nil, unsupportedPFX("pbe algorithm " + alg.Algorithm.String() + " is not supported")
	}
	return cbcDecrypt(block, pkcs12KDF(password, p.Salt, iterations, 2, 8), ciphertext)
}

func pbes2Decrypt(p p12PBES2Params, ciphertext []byte, password string) ([]byte, error) {
	kdf, err := pbkdf2Of(p.KDF)
	if err != nil {
		return nil, err
	}
	if kdf.Salt.Tag != asn1.TagOctetString {
		return nil, unsupportedPFX("only octet string salts are supported for pbes2/pbkdf2")
	}
	var prf func() hash.Hash
	switch alg := kdf.PRF.Algorithm; {
	case alg == nil, alg.Equal(oidHMACSHA1):
		prf = sha1.New
	case alg.Equal(oidHMACSHA256):
		prf = sha256.New
	case alg.Equal(oidHMACSHA512):
		prf = sha512.New
	default:
		return nil, unsupportedPFX("pbes2 prf " + alg.String() + " is not supported")
	}
	var keyLen int
	switch alg := p.EncryptionScheme.Algorithm; {
	case alg.Equal(oidAES128CBC):
		keyLen = 16
	case alg.Equal(oidAES192CBC):
		keyLen = 24
	case alg.Equal(oidAES256CBC):
		keyLen = 32
	default:
		return nil, unsupportedPFX("pbes2 algorithm " + alg.String() + " is not supported")
	}
	key, err := pbkdf2.Key(prf, password, kdf.Salt.Bytes, int(kdf.Iterations.Int64()), keyLen)
	if err != nil {
		return nil, unsupportedPFX(err.Error())
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cbcDecrypt(block, p.EncryptionScheme.Parameters.Bytes, ciphertext)
}

// cbcDecrypt decrypts CBC with PKCS #7 padding; a wrong key shows as bad padding.
func cbcDecrypt(block cipher.Block, iv, ciphertext []byte) ([]byte, error) {
	bs := block.BlockSize()
	if len(iv) != bs || len(ciphertext) == 0 || len(ciphertext)%bs != 0 {
		return nil, unreadablePFX(errors.New("encrypted contents of a wrong length"))
	}
	plain := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ciphertext)
	pad := int(plain[len(plain)-1])
	if pad == 0 || pad > bs || !bytes.Equal(plain[len(plain)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, errPFXPassword
	}
	return plain[:len(plain)-pad], nil
}

// pkcs12KDF derives size bytes from a password (a BMPString with its terminator) and salt
// with SHA-1, by PKCS #12's own key derivation; id is 1 for a key, 2 for an IV.
func pkcs12KDF(password, salt []byte, iterations int, id byte, size int) []byte {
	const v = 64 // SHA-1's block size
	d := bytes.Repeat([]byte{id}, v)
	in := append(fillBlocks(salt, v), fillBlocks(password, v)...)
	var out []byte
	for {
		h := sha1.New()
		h.Write(d)
		h.Write(in)
		a := h.Sum(nil)
		for j := 1; j < iterations; j++ {
			s := sha1.Sum(a)
			a = s[:]
		}
		if out = append(out, a...); len(out) >= size {
			return out[:size]
		}
		// Each v-byte block of in becomes (block + B + 1) mod 2^(8v), B being a repeated.
		b := fillBlocks(a, v)
		for j := 0; j < len(in); j += v {
			carry := uint16(1)
			for k := v - 1; k >= 0; k-- {
				s := uint16(in[j+k]) + uint16(b[k]) + carry
				in[j+k], carry = byte(s), s>>8
			}
		}
	}
}

// fillBlocks repeats p to fill whole v-byte blocks (the last copy cut short); empty stays
// empty.
func fillBlocks(p []byte, v int) []byte {
	if len(p) == 0 {
		return nil
	}
	out := make([]byte, v*((len(p)+v-1)/v))
	for i := range out {
		out[i] = p[i%len(p)]
	}
	return out
}

// unmarshalAll is asn1.Unmarshal that also refuses trailing bytes, as go-pkcs12 does.
func unmarshalAll(der []byte, v any) error {
	rest, err := asn1.Unmarshal(der, v)
	if err == nil && len(rest) != 0 {
		err = errors.New("trailing data found")
	}
	return err
}

func unreadablePFX(err error) error {
	return invalid("the certificate value is neither PEM text nor a readable PFX (PKCS #12) file: %v", err)
}

func unsupportedPFX(what string) error {
	return invalid("the PFX (PKCS #12) file is not supported: %s", what)
}
