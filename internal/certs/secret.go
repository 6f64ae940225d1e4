package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/coffer/coffer/internal/keyops"
	"github.com/coffer/coffer/internal/pki"
)

// pfxEncoder writes the PKCS #12 of a backing secret; see the package comment for the choice.
var pfxEncoder = pkcs12.LegacyDES

// EncodeSecret returns the value of a certificate's backing secret: for application/x-pkcs12
// the standard base64 of a PKCS #12 with an empty password holding key and chain (leaf
// first); for application/x-pem-file PEM text, the key as an unencrypted PKCS #8 "PRIVATE KEY"
// block first, then one "CERTIFICATE" block per certificate, leaf first, with \n line endings.
//
// key is nil when the key is not exportable: the value then holds the certificates only (for
// PKCS #12 a certificate-only file, written by go-pkcs12 as a trust store). A key that does
// not match chain[0] or an empty chain is an internal error; an unknown content type wraps
// [ErrInvalid].
func EncodeSecret(contentType string, key crypto.Signer, chain []*x509.Certificate) (string, error) {
	if len(chain) == 0 {
		return "", errors.New("encode certificate secret: no certificate")
	}
	if key != nil && !pki.PublicKeysEqual(chain[0].PublicKey, key.Public()) {
		return "", errors.New("encode certificate secret: the key does not match the leaf certificate")
	}
	ct, ok := canonicalContentType(contentType)
	if !ok {
		return "", invalid("secret_props.contentType %s is not valid; use %s or %s", quote(contentType), ContentTypePKCS12, ContentTypePEM)
	}
	if ct == ContentTypePEM {
		var b bytes.Buffer
		if key != nil {
			der, err := x509.MarshalPKCS8PrivateKey(key)
			if err != nil {
				return "", fmt.Errorf("encode certificate secret: %w", err)
			}
			_ = pem.Encode(&b, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
		}
		for _, c := range chain {
			_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
		return b.String(), nil
	}
	var pfx []byte
	var err error
	if key != nil {
		pfx, err = pfxEncoder.Encode(key, chain[0], chain[1:], "")
	} else {
		entries := make([]pkcs12.TrustStoreEntry, len(chain))
		for i, c := range chain {
			entries[i] = pkcs12.TrustStoreEntry{Cert: c}
		}
		pfx, err = pfxEncoder.EncodeTrustStoreEntries(entries, "")
	}
	if err != nil {
		return "", fmt.Errorf("encode certificate secret: %w", err)
	}
	return base64.StdEncoding.EncodeToString(pfx), nil
}

// ParseImport reads the value of a certificate import: the standard base64 of a PFX
// (PKCS #12) opened with password ("" for none), or PEM text holding a private key (PKCS #8,
// PKCS #1 RSA or SEC 1 EC, unencrypted) and certificates in any order. It returns the key,
// the certificates with the leaf (the one for the key) first, and the detected content type
// (application/x-pkcs12 or application/x-pem-file).
//
// contentType is the import policy's secret_props.contentType, "" when the request has no
// policy; when given it must match the value: PEM needs application/x-pem-file and a PFX
// application/x-pkcs12. The key must be RSA (2048, 3072, 4096 bits) or EC (P-256, P-384,
// P-521). Every refusal wraps [ErrInvalid] and says what is wrong: a wrong password, a value
// that is neither PFX nor PEM, a missing key, a key that matches no certificate.
//
// Decoding a PFX costs what its key-derivation iteration counts say, and go-pkcs12 does not
// bound them: before it runs, every count is read from the file's structure and a file
// asking for more than [MaxPFXIterations] per derivation is refused. The caller should
// still bound the request size and the imports in flight.
func ParseImport(value, password, contentType string) (key crypto.Signer, chain []*x509.Certificate, detected string, err error) {
	detected = ContentTypePKCS12
	if strings.Contains(value, "-----BEGIN") {
		detected = ContentTypePEM
	}
	if contentType != "" {
		ct, ok := canonicalContentType(contentType)
		if !ok {
			return nil, nil, "", invalid("Property policy has invalid value: secret_props.contentType %s is not valid; use %s or %s", quote(contentType), ContentTypePKCS12, ContentTypePEM)
		}
		if ct != detected {
			what := "a PFX (base64 PKCS #12)"
			if detected == ContentTypePEM {
				what = "PEM text"
			}
			return nil, nil, "", invalid("Property policy has invalid value: the certificate value is %s, so the policy's secret_props.contentType must be %s, not %s", what, detected, ct)
		}
	}
	var certs []*x509.Certificate
	var priv any
	if detected == ContentTypePEM {
		priv, certs, err = parsePEM(value)
	} else {
		priv, certs, err = parsePFX(value, password)
	}
	if err != nil {
		return nil, nil, "", err
	}
	if key, err = importedKey(priv); err != nil {
		return nil, nil, "", err
	}
	if len(certs) > maxChain {
		return nil, nil, "", invalid("the certificate value has %d certificates; at most %d are allowed", len(certs), maxChain)
	}
	chain, ok := leafFirst(certs, key.Public())
	if !ok {
		return nil, nil, "", invalid("the private key does not match any certificate in the value; import the certificate with its own private key")
	}
	return key, chain, detected, nil
}

func parsePFX(value, password string) (any, []*x509.Certificate, error) {
	data, ok := decodeBase64(value)
	if !ok {
		return nil, nil, invalid("the certificate value is neither PEM text nor the base64 of a PFX (PKCS #12) file")
	}
	if err := checkPFXWork(data, password); err != nil {
		if errors.Is(err, errPFXPassword) {
			return nil, nil, wrongPFXPassword(password)
		}
		return nil, nil, err
	}
	priv, leaf, cas, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		var ni pkcs12.NotImplementedError
		msg := err.Error()
		switch {
		case errors.Is(err, pkcs12.ErrIncorrectPassword), errors.Is(err, pkcs12.ErrDecryption):
			return nil, nil, wrongPFXPassword(password)
		case strings.Contains(msg, "private key missing"):
			return nil, nil, invalid("the PFX has no private key; import the certificate together with its private key")
		case strings.Contains(msg, "certificate missing"):
			return nil, nil, invalid("the PFX has no certificate")
		case errors.As(err, &ni):
			return nil, nil, invalid("the PFX (PKCS #12) file is not supported: %s", strings.TrimPrefix(msg, "pkcs12: "))
		}
		return nil, nil, invalid("the certificate value is neither PEM text nor a readable PFX (PKCS #12) file: %s", strings.TrimPrefix(msg, "pkcs12: "))
	}
	return priv, append([]*x509.Certificate{leaf}, cas...), nil
}

func wrongPFXPassword(password string) error {
	if password == "" {
		return invalid("the PFX password is wrong: the PFX is protected by a password; give it in pwd")
	}
	return invalid("the PFX password is wrong")
}

// decodeBase64 accepts standard base64, padded or not, with line breaks, and the URL-safe
// alphabet, which some clients send.
func decodeBase64(s string) ([]byte, bool) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	if s == "" {
		return nil, false
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

// parsePEM reads PEM blocks: one private key (PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY)
// and CERTIFICATE blocks; EC PARAMETERS blocks and text between blocks are skipped.
func parsePEM(value string) (any, []*x509.Certificate, error) {
	rest := []byte(value)
	var priv any
	var certs []*x509.Certificate
	for n := 1; ; n++ {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if len(certs) >= maxChain {
			return nil, nil, invalid("the PEM text has more than %d certificates", maxChain)
		}
		if _, encrypted := b.Headers["Proc-Type"]; encrypted || b.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, nil, invalid("PEM block %d (%s) is encrypted; import an unencrypted private key, or a PFX with its password", n, b.Type)
		}
		var err error
		var k any
		switch b.Type {
		case "CERTIFICATE":
			c, perr := x509.ParseCertificate(b.Bytes)
			if perr != nil {
				return nil, nil, invalid("PEM block %d (CERTIFICATE) is not a valid X.509 certificate: %v", n, perr)
			}
			certs = append(certs, c)
			continue
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "EC PARAMETERS":
			continue
		default:
			return nil, nil, invalid("PEM block %d has type %s; a certificate import takes PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY and CERTIFICATE blocks", n, quote(b.Type))
		}
		if err != nil {
			return nil, nil, invalid("PEM block %d (%s) is not a valid private key", n, b.Type)
		}
		if priv != nil {
			return nil, nil, invalid("the PEM text has more than one private key; import one certificate with its own key")
		}
		priv = k
	}
	switch {
	case priv == nil && len(certs) == 0:
		return nil, nil, invalid("the certificate value is neither a readable PFX (PKCS #12) file nor PEM text with a private key and a certificate")
	case priv == nil:
		return nil, nil, invalid("the PEM text has no private key; import the certificate together with its private key (a PRIVATE KEY block)")
	case len(certs) == 0:
		return nil, nil, invalid("the PEM text has no certificate (a CERTIFICATE block)")
	}
	return priv, certs, nil
}

// importedKey checks that an imported private key can back a Key Vault certificate.
func importedKey(priv any) (crypto.Signer, error) {
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits != 2048 && bits != 3072 && bits != 4096 {
			return nil, invalid("the private key is a %d-bit RSA key; Key Vault certificates need 2048, 3072 or 4096 bits", bits)
		}
		if len(k.Primes) != 2 {
			return nil, invalid("the private key is a multi-prime RSA key; only two-prime RSA keys are supported")
		}
		return k, nil
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return k, nil
		}
		return nil, invalid("the private key is on curve %s; Key Vault certificates need P-256, P-384 or P-521", k.Curve.Params().Name)
	case ed25519.PrivateKey:
		return nil, invalid("the private key is Ed25519; Key Vault certificates need an RSA or EC (P-256, P-384, P-521) key")
	}
	return nil, invalid("the private key's type is not supported; Key Vault certificates need an RSA or EC (P-256, P-384, P-521) key")
}

// KeyFromSigner converts an imported private key (from [ParseImport]) to the key domain's
// form. kty is the key type to record ("" for RSA or EC by the key; RSA-HSM or EC-HSM to
// import with HSM protection) and must be of the key's family. Errors wrap [ErrInvalid].
func KeyFromSigner(key crypto.Signer, kty string) (*keyops.Key, error) {
	var j keyops.JWK
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if kty == "" {
			kty = KtyRSA
		}
		if len(k.Primes) != 2 {
			return nil, invalid("only two-prime RSA keys are supported")
		}
		j = keyops.JWK{
			Kty: kty,
			N:   k.N.Bytes(), E: bigEndian(k.E), D: k.D.Bytes(),
			P: k.Primes[0].Bytes(), Q: k.Primes[1].Bytes(),
		}
	case *ecdsa.PrivateKey:
		if kty == "" {
			kty = KtyEC
		}
		pt, err := k.PublicKey.Bytes()
		if err != nil {
			return nil, invalid("the EC key cannot be encoded: %v", err)
		}
		d, err := k.Bytes()
		if err != nil {
			return nil, invalid("the EC key cannot be encoded: %v", err)
		}
		size := (len(pt) - 1) / 2
		j = keyops.JWK{Kty: kty, Crv: k.Curve.Params().Name, X: pt[1 : 1+size], Y: pt[1+size:], D: d}
	default:
		return nil, invalid("the private key's type is not supported; use an RSA or EC key")
	}
	family := "EC"
	if j.Crv == "" {
		family = "RSA"
	}
	if strings.TrimSuffix(kty, "-HSM") != family {
		return nil, invalid("key type %s does not match the key, which is %s", quote(kty), family)
	}
	out, err := keyops.Import(j)
	if err != nil {
		if errors.Is(err, keyops.ErrInvalid) {
			return nil, invalid("%s", err.Error())
		}
		return nil, err
	}
	return out, nil
}

func bigEndian(e int) []byte {
	var b []byte
	for ; e > 0; e >>= 8 {
		b = append([]byte{byte(e)}, b...)
	}
	return b
}
