package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/coffer/coffer/internal/pki"
)

// NotBeforeSkew is how far before its creation a self-signed certificate becomes valid, as in
// Key Vault (nbf = created − 600 s).
const NotBeforeSkew = 10 * time.Minute

// maxChain bounds the certificates of a merge or an import.
const maxChain = 32

// template builds the certificate template a normalized policy describes, for the key pub:
// subject, SANs, EKUs, key usage and basic constraints; no serial, dates or key ids.
func template(p Policy, pub crypto.PublicKey) (*x509.Certificate, error) {
	if err := checkKey(p, pub); err != nil {
		return nil, err
	}
	rdns, err := parseSubject(p.Subject)
	if err != nil {
		return nil, err
	}
	rawSubject, err := asn1.Marshal(rdns)
	if err != nil {
		return nil, fmt.Errorf("marshal subject: %w", err)
	}
	t := &x509.Certificate{
		RawSubject:            rawSubject,
		DNSNames:              p.DNSNames,
		EmailAddresses:        p.Emails,
		BasicConstraintsValid: true,
		IsCA:                  p.CA,
	}
	if len(p.UPNs) > 0 {
		ext, err := sanExtension(p.DNSNames, p.Emails, p.UPNs, len(rdns) == 0)
		if err != nil {
			return nil, fmt.Errorf("marshal subjectAltName: %w", err)
		}
		t.ExtraExtensions = append(t.ExtraExtensions, ext)
	}
	for _, e := range p.EKUs {
		if eku, ok := knownEKU(e); ok {
			t.ExtKeyUsage = append(t.ExtKeyUsage, eku)
			continue
		}
		oid, _ := parseOID(e) // checked by Normalize
		t.UnknownExtKeyUsage = append(t.UnknownExtKeyUsage, oid)
	}
	for _, u := range p.KeyUsage {
		for _, ku := range keyUsages {
			if ku.name == u {
				t.KeyUsage |= ku.bit
			}
		}
	}
	return t, nil
}

// checkKey refuses a key that is not what the policy's key_props describe, such as a reused
// key after the policy changed its type or size.
func checkKey(p Policy, pub crypto.PublicKey) error {
	var have string
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if (p.KeyType == KtyRSA || p.KeyType == KtyRSAHSM) && k.N.BitLen() == p.KeySize {
			return nil
		}
		have = fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		if (p.KeyType == KtyEC || p.KeyType == KtyECHSM) && k.Curve.Params().Name == p.Curve {
			return nil
		}
		have = "EC " + k.Curve.Params().Name
	default:
		return fmt.Errorf("certificate key: unsupported key type %T", pub)
	}
	want := fmt.Sprintf("%s %d", p.KeyType, p.KeySize)
	if p.Curve != "" {
		want = p.KeyType + " " + p.Curve
	}
	return invalid("the certificate's key is %s but the policy's key_props ask for %s; a reused key (reuse_key) cannot change type, size or curve", have, want)
}

// SelfSigned issues the self-signed certificate policy p describes (issuer Self) for key, and
// returns it in DER. p is normalized first (errors wrap [ErrInvalid]); key must match its
// key_props. The certificate is valid from now − [NotBeforeSkew] to now + validity_months
// (calendar months: 12 months is 365 or 366 days), has a random 128-bit serial number, a
// subject key identifier (RFC 7093 method 1) and basic constraints with cA as the policy says.
func SelfSigned(p Policy, key crypto.Signer, now time.Time) ([]byte, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	t, err := template(p, key.Public())
	if err != nil {
		return nil, err
	}
	serial, err := pki.NewSerial()
	if err != nil {
		return nil, err
	}
	ski, err := pki.SubjectKeyID(key.Public())
	if err != nil {
		return nil, err
	}
	now = now.UTC().Truncate(time.Second)
	t.SerialNumber = serial
	t.NotBefore = now.Add(-NotBeforeSkew)
	t.NotAfter = now.AddDate(0, p.ValidityMonths, 0)
	t.SubjectKeyId = ski
	der, err := x509.CreateCertificate(rand.Reader, t, t, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create certificate: %w", err)
	}
	return der, nil
}

// CSR creates the PKCS #10 certificate signing request of a pending operation (issuer
// Unknown or a named issuer) for key: the policy's subject, and in the extension request
// exactly the subjectAltName, keyUsage, extKeyUsage and basicConstraints extensions
// [SelfSigned] would write. p is normalized first (errors wrap [ErrInvalid]).
func CSR(p Policy, key crypto.Signer) ([]byte, error) {
	if err := p.Normalize(); err != nil {
		return nil, err
	}
	t, err := template(p, key.Public())
	if err != nil {
		return nil, err
	}
	exts, err := extensionsOf(t)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		RawSubject:      t.RawSubject,
		ExtraExtensions: exts,
	}, key)
	if err != nil {
		return nil, fmt.Errorf("create certificate request: %w", err)
	}
	return der, nil
}

// extensionsOf returns the policy extensions crypto/x509 writes for template t, so that a CSR
// carries them byte for byte as a certificate would, without any ASN.1 written here: t is
// issued once with a throw-away key and the extensions are taken from the result.
func extensionsOf(t *x509.Certificate) ([]pkix.Extension, error) {
	tmp, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	c := *t
	c.SerialNumber = big.NewInt(1)
	c.NotBefore = time.Unix(0, 0)
	c.NotAfter = time.Unix(1, 0)
	der, err := x509.CreateCertificate(rand.Reader, &c, &c, tmp.Public(), tmp)
	if err != nil {
		return nil, fmt.Errorf("encode extensions: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("encode extensions: %w", err)
	}
	var exts []pkix.Extension
	for _, e := range cert.Extensions {
		switch {
		case e.Id.Equal(oidSubjectAltName), e.Id.Equal(oidKeyUsage), e.Id.Equal(oidExtKeyUsage), e.Id.Equal(oidBasicConstraints):
			exts = append(exts, e)
		}
	}
	return exts, nil
}

// CheckMerge checks a merge of a pending operation: x5c is the certificate signed elsewhere
// with its chain, as DER. The certificate whose public key is the request's key is the leaf;
// it is moved to the front (Key Vault's order unless preserveCertOrder), the rest keep their
// order. A leaf for another key, an empty or oversized list or a certificate that does not
// parse are errors wrapping [ErrInvalid]; an unparseable csr is an internal error.
func CheckMerge(csr []byte, x5c [][]byte) ([]*x509.Certificate, error) {
	req, err := x509.ParseCertificateRequest(csr)
	if err != nil {
		return nil, fmt.Errorf("parse pending certificate request: %w", err)
	}
	if len(x5c) == 0 {
		return nil, invalid("x5c is empty; give the signed certificate (and its chain) as base64 DER, leaf first")
	}
	if len(x5c) > maxChain {
		return nil, invalid("x5c has %d certificates; at most %d are allowed", len(x5c), maxChain)
	}
	certs := make([]*x509.Certificate, len(x5c))
	for i, der := range x5c {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, invalid("x5c[%d] is not an X.509 certificate in DER: %v", i, err)
		}
		certs[i] = c
	}
	chain, ok := leafFirst(certs, req.PublicKey)
	if !ok {
		return nil, invalid("the certificate's public key does not match the pending request's key; merge the certificate issued for this request's CSR")
	}
	return chain, nil
}

// leafFirst returns certs with the first certificate for pub moved to the front.
func leafFirst(certs []*x509.Certificate, pub crypto.PublicKey) ([]*x509.Certificate, bool) {
	i := slices.IndexFunc(certs, func(c *x509.Certificate) bool { return pki.PublicKeysEqual(c.PublicKey, pub) })
	if i < 0 {
		return nil, false
	}
	chain := make([]*x509.Certificate, 0, len(certs))
	chain = append(chain, certs[i])
	chain = append(chain, certs[:i]...)
	return append(chain, certs[i+1:]...), true
}

// Thumbprint returns the SHA-1 digest of a DER certificate: the x5t of Key Vault.
func Thumbprint(der []byte) []byte {
	sum := sha1.Sum(der)
	return sum[:]
}

func knownEKU(oid string) (x509.ExtKeyUsage, bool) {
	for _, k := range extKeyUsages {
		if k.oid == oid {
			return k.eku, true
		}
	}
	return 0, false
}
