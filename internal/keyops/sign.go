package keyops

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"math/big"

	_ "crypto/sha256" // register the hashes the algorithms name
	_ "crypto/sha512"
)

// sigAlg describes a signature algorithm.
type sigAlg struct {
	fam   family
	pss   bool // RSA: PSS rather than PKCS #1 v1.5
	hash  crypto.Hash
	curve string // EC: the curve the algorithm requires
}

var sigAlgs = map[string]sigAlg{
	"RS256":  {fam: famRSA, hash: crypto.SHA256},
	"RS384":  {fam: famRSA, hash: crypto.SHA384},
	"RS512":  {fam: famRSA, hash: crypto.SHA512},
	"PS256":  {fam: famRSA, pss: true, hash: crypto.SHA256},
	"PS384":  {fam: famRSA, pss: true, hash: crypto.SHA384},
	"PS512":  {fam: famRSA, pss: true, hash: crypto.SHA512},
	"ES256":  {fam: famEC, hash: crypto.SHA256, curve: CurveP256},
	"ES384":  {fam: famEC, hash: crypto.SHA384, curve: CurveP384},
	"ES512":  {fam: famEC, hash: crypto.SHA512, curve: CurveP521},
	"ES256K": {fam: famEC, hash: crypto.SHA256, curve: CurveP256K},
}

// ecAlgFor names the one signature algorithm that fits each curve.
var ecAlgFor = map[string]string{CurveP256: "ES256", CurveP384: "ES384", CurveP521: "ES512"}

const rsaSigAlgs = "RS256, RS384, RS512, PS256, PS384, PS512"

// sigAlgsFor says which signature algorithms fit k, for messages.
func (k *Key) sigAlgsFor() string {
	if k.rsa != nil {
		return rsaSigAlgs
	}
	return ecAlgFor[k.Curve()] + " (the algorithm must match the curve " + k.Curve() + ")"
}

// signParams checks alg against k and the digest length.
func (k *Key) signParams(alg string, digest []byte) (sigAlg, error) {
	a, ok := sigAlgs[alg]
	if k.oct != nil {
		return a, invalid("an oct (AES) key cannot sign or verify on this server (HS256, HS384, HS512 are Managed HSM only); use an RSA or EC key")
	}
	if !ok {
		switch alg {
		case "HS256", "HS384", "HS512":
			return a, invalid("algorithm %s (HMAC) is available on Managed HSM only and is not supported by this server", alg)
		case "RSNULL":
			return a, invalid("algorithm RSNULL is reserved and not supported; for %s key use %s", k.family(), k.sigAlgsFor())
		}
		return a, invalid("signature algorithm %s is not valid; for %s key use %s", quote(alg), k.family(), k.sigAlgsFor())
	}
	if a.fam != k.family() {
		return a, invalid("algorithm %s is not valid for %s key; use %s", alg, k.family(), k.sigAlgsFor())
	}
	if a.curve == CurveP256K {
		return a, invalid("algorithm ES256K needs a P-256K key, and P-256K is not supported by this server")
	}
	if a.fam == famEC && a.curve != k.Curve() {
		return a, invalid("algorithm %s needs a %s key; this key is %s, use %s", alg, a.curve, k.Curve(), ecAlgFor[k.Curve()])
	}
	if len(digest) != a.hash.Size() {
		return a, invalid("the digest for %s must be %d bytes (the %s hash of the message), got %d",
			alg, a.hash.Size(), a.hash, len(digest))
	}
	return a, nil
}

func (k *Key) family() family {
	switch {
	case k.rsa != nil:
		return famRSA
	case k.ec != nil:
		return famEC
	}
	return famOct
}

// Sign signs a digest (not the message): RS256/384/512 (PKCS #1 v1.5, DigestInfo built here),
// PS256/384/512 (PSS, salt length = hash length, MGF1 with the same hash) with RSA keys;
// ES256/384/512 with EC keys on the matching curve, the signature being raw r||s, each
// zero-padded to the curve size. The digest length must be the hash size (32, 48, 64).
func (k *Key) Sign(alg string, digest []byte) ([]byte, error) {
	a, err := k.signParams(alg, digest)
	if err != nil {
		return nil, err
	}
	switch {
	case a.fam == famRSA && a.pss:
		sig, err := rsa.SignPSS(rand.Reader, k.rsa, a.hash, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			return nil, fmt.Errorf("sign %s: %w", alg, err)
		}
		return sig, nil
	case a.fam == famRSA:
		sig, err := rsa.SignPKCS1v15(nil, k.rsa, a.hash, digest)
		if err != nil {
			return nil, fmt.Errorf("sign %s: %w", alg, err)
		}
		return sig, nil
	default:
		r, s, err := ecdsa.Sign(rand.Reader, k.ec, digest)
		if err != nil {
			return nil, fmt.Errorf("sign %s: %w", alg, err)
		}
		size := curveOf(k.ec.Curve).size
		sig := make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
		return sig, nil
	}
}

// Verify checks a signature made by [Key.Sign] (or any JOSE implementation) over digest.
// A signature that does not verify, whatever its length, gives (false, nil); an algorithm that
// does not fit the key or a digest of the wrong length gives an [ErrInvalid] error.
func (k *Key) Verify(alg string, digest, sig []byte) (bool, error) {
	a, err := k.signParams(alg, digest)
	if err != nil {
		return false, err
	}
	switch {
	case a.fam == famRSA:
		if a.pss {
			err = rsa.VerifyPSS(&k.rsa.PublicKey, a.hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			err = rsa.VerifyPKCS1v15(&k.rsa.PublicKey, a.hash, digest, sig)
		}
		// Every failure here is about the signature (wrong value or length): the key and the
		// digest were checked above.
		return err == nil, nil
	default:
		size := curveOf(k.ec.Curve).size
		if len(sig) != 2*size {
			return false, nil
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(&k.ec.PublicKey, digest, r, s), nil
	}
}
