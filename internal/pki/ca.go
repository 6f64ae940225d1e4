// Package pki owns Coffer's own certificate authority and the certificates it issues: the
// self-signed [CA] (kept, sealed, in storage by its caller), TLS server leaves issued by it,
// the server certificate files under DIR/tls/ ([EnsureServerCert]), and the per-host
// certificates presented by SNI for vault hosts ([SNICerts]).
//
// Start with [NewCA] and [CA.Issue] (ca.go); [ServerSANs] (names.go) says which names the
// server certificate carries, [EnsureServerCert] (servercert.go) keeps it under DIR/tls/ and
// re-issues it when its names change or it nears expiry, and [SNICerts] (sni.go) chooses
// the certificate of each TLS handshake. x509.go holds what every issuer needs (serial
// numbers, subject key ids, key comparison), which the certificates of the vaults
// (internal/certs) use too.
//
// It uses the standard library's crypto only and never reads the wall clock: every function
// takes the time it must use. It must not import storage, the barrier, net/http or any other
// Coffer package; it knows nothing of vaults beyond the vault domain's name.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// MaxLeafValidity is the longest lifetime [CA.Issue] grants a leaf: 397 days, the limit
// browsers and Apple platforms accept for TLS server certificates.
const MaxLeafValidity = 397 * 24 * time.Hour

const (
	// caYears is the lifetime of a CA made by [NewCA].
	caYears = 10

	// clockSkew backdates every certificate's NotBefore so that a client whose clock is a
	// little behind still accepts a certificate issued a moment ago.
	clockSkew = time.Hour
)

// CA is a certificate authority: its self-signed certificate and the key that signs with it.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewCA creates a self-signed CA named commonName with a new ECDSA P-256 key, valid for
// 10 years from now (backdated by an hour for clock skew). It may sign leaves only
// (path length 0).
func NewCA(now time.Time, commonName string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := NewSerial()
	if err != nil {
		return nil, err
	}
	ski, err := SubjectKeyID(key.Public())
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-clockSkew).UTC(),
		NotAfter:              now.AddDate(caYears, 0, 0).UTC(),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		SubjectKeyId:          ski,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// ParseCA reads a CA written by [CA.MarshalPEM]: a CERTIFICATE block and a PKCS#8
// PRIVATE KEY block. The certificate must be a CA certificate and the key must match it.
func ParseCA(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	if !cert.IsCA || !cert.BasicConstraintsValid {
		return nil, errors.New("parse CA certificate: not a CA certificate")
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("parse CA key: %w", err)
	}
	if !PublicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, errors.New("parse CA: key does not match certificate")
	}
	return &CA{Cert: cert, Key: key}, nil
}

// MarshalPEM encodes the CA certificate as a CERTIFICATE block and its key as a PKCS#8
// PRIVATE KEY block. The key PEM is secret: store it sealed.
func (ca *CA) MarshalPEM() (certPEM, keyPEM []byte, err error) {
	der, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal CA key: %w", err)
	}
	return ca.CertPEM(), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// CertPEM returns the CA certificate as a CERTIFICATE PEM block: what clients trust.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// Issue signs a TLS server certificate for pub naming exactly names, and returns it in DER.
// It is valid from an hour before now (clock skew) until now+validity, where validity is
// capped at [MaxLeafValidity] and the leaf never outlives the CA.
func (ca *CA) Issue(now time.Time, pub crypto.PublicKey, names ServerNames, validity time.Duration) ([]byte, error) {
	if len(names.DNSNames) == 0 && len(names.IPs) == 0 {
		return nil, errors.New("issue certificate: no names")
	}
	if validity <= 0 {
		return nil, errors.New("issue certificate: validity must be positive")
	}
	validity = min(validity, MaxLeafValidity)
	notAfter := now.Add(validity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	if !notAfter.After(now) {
		return nil, errors.New("issue certificate: CA has expired")
	}
	serial, err := NewSerial()
	if err != nil {
		return nil, err
	}
	usage := x509.KeyUsageDigitalSignature
	if _, ok := pub.(*rsa.PublicKey); ok {
		usage |= x509.KeyUsageKeyEncipherment // TLS 1.2 RSA key exchange
	}
	cn := ""
	if len(names.DNSNames) > 0 {
		cn = names.DNSNames[0]
	} else {
		cn = names.IPs[0].String()
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-clockSkew).UTC(),
		NotAfter:              notAfter.UTC(),
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              names.DNSNames,
		IPAddresses:           names.IPs,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("issue certificate: %w", err)
	}
	return der, nil
}

// parseCertPEM returns the first CERTIFICATE block of data, parsed.
func parseCertPEM(data []byte) (*x509.Certificate, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no CERTIFICATE PEM block")
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}

// parseKeyPEM returns the first PKCS#8 PRIVATE KEY block of data, parsed. Its error never
// contains key material.
func parseKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PRIVATE KEY PEM block")
		}
		if block.Type != "PRIVATE KEY" {
			continue
		}
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("malformed PKCS#8 private key")
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported private key type %T", key)
		}
		return signer, nil
	}
}
