package pki_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/pki"
)

// now is the fixed time of every test; nothing here reads the wall clock.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newCA(t testing.TB) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA(now, "Coffer test CA")
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

func TestNewCA(t *testing.T) {
	ca := newCA(t)
	c := ca.Cert
	if !c.IsCA || !c.BasicConstraintsValid || c.MaxPathLen != 0 || !c.MaxPathLenZero {
		t.Errorf("basic constraints: IsCA=%v valid=%v maxPathLen=%d zero=%v", c.IsCA, c.BasicConstraintsValid, c.MaxPathLen, c.MaxPathLenZero)
	}
	if want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign; c.KeyUsage != want {
		t.Errorf("KeyUsage = %v, want %v", c.KeyUsage, want)
	}
	if c.Subject.CommonName != "Coffer test CA" {
		t.Errorf("CommonName = %q", c.Subject.CommonName)
	}
	if !c.NotBefore.Equal(now.Add(-time.Hour)) || !c.NotAfter.Equal(now.AddDate(10, 0, 0)) {
		t.Errorf("validity = %v .. %v, want %v .. %v", c.NotBefore, c.NotAfter, now.Add(-time.Hour), now.AddDate(10, 0, 0))
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
		t.Errorf("serial %v: want positive, at most 128 bits", c.SerialNumber)
	}
	if len(c.SubjectKeyId) != 20 {
		t.Errorf("SubjectKeyId has %d bytes, want 20", len(c.SubjectKeyId))
	}
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key %T, want ECDSA P-256", c.PublicKey)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	other := newCA(t)
	if c.SerialNumber.Cmp(other.Cert.SerialNumber) == 0 {
		t.Error("two CAs share a serial number")
	}
}

func TestCAPEMRoundTrip(t *testing.T) {
	ca := newCA(t)
	certPEM, keyPEM, err := ca.MarshalPEM()
	if err != nil {
		t.Fatalf("MarshalPEM: %v", err)
	}
	if !strings.HasPrefix(string(keyPEM), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("key PEM is not PKCS#8:\n%.40s", keyPEM)
	}
	if string(certPEM) != string(ca.CertPEM()) {
		t.Error("MarshalPEM cert differs from CertPEM")
	}
	got, err := pki.ParseCA(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("ParseCA: %v", err)
	}
	if !got.Cert.Equal(ca.Cert) {
		t.Error("certificate changed in the round trip")
	}
	if !got.Key.Public().(*ecdsa.PublicKey).Equal(ca.Key.Public()) {
		t.Error("key changed in the round trip")
	}
	// The parsed CA still issues certificates that verify against the original.
	der, err := got.Issue(now, got.Key.Public(), pki.ServerNames{DNSNames: []string{"localhost"}}, 24*time.Hour)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	verify(t, ca, der, "localhost")
}

func TestParseCAErrors(t *testing.T) {
	ca := newCA(t)
	certPEM, keyPEM, err := ca.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	_, otherKeyPEM, err := newCA(t).MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	leafPEM, leafKeyPEM := leafPair(t, ca)
	tests := []struct {
		name            string
		certPEM, keyPEM []byte
		wantErr         string
	}{
		{"fail/empty", nil, nil, "no CERTIFICATE"},
		{"fail/no-key", certPEM, nil, "no PRIVATE KEY"},
		{"fail/garbage-cert", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), keyPEM, "parse CA certificate"},
		{"fail/garbage-key", certPEM, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "malformed PKCS#8"},
		{"fail/key-mismatch", certPEM, otherKeyPEM, "does not match"},
		{"fail/not-a-ca", leafPEM, leafKeyPEM, "not a CA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pki.ParseCA(tt.certPEM, tt.keyPEM)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseCA error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// leafPair returns a leaf certificate and its key, PEM, in the form ParseCA reads.
func leafPair(t *testing.T, ca *pki.CA) (certPEM, keyPEM []byte) {
	t.Helper()
	leafCA := newCA(t) // only for its key and PEM encoding
	der, err := ca.Issue(now, leafCA.Key.Public(), pki.ServerNames{DNSNames: []string{"leaf.example"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	_, keyPEM, err = (&pki.CA{Cert: cert, Key: leafCA.Key}).MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	return (&pki.CA{Cert: cert}).CertPEM(), keyPEM
}

// verify checks that der chains to ca at now for server auth and names name (a DNS name or
// an IP literal).
func verify(t testing.TB, ca *pki.CA, der []byte, name string) {
	t.Helper()
	if err := verifyErr(ca, der, name); err != nil {
		t.Errorf("verify %s: %v", name, err)
	}
}

func verifyErr(ca *pki.CA, der []byte, name string) error {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	_, err = cert.Verify(x509.VerifyOptions{
		DNSName:     name,
		Roots:       roots,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}

func TestIssue(t *testing.T) {
	ca := newCA(t)
	key := newCA(t).Key // any ECDSA key
	names := pki.ServerSANs("192.0.2.10", "localhost")
	der, err := ca.Issue(now, key.Public(), names, 1000*24*time.Hour)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	for _, name := range []string{"localhost", "myvault.localhost", "127.0.0.1", "::1", "192.0.2.10"} {
		verify(t, ca, der, name)
	}
	for _, name := range []string{"example.com", "a.b.localhost", "192.0.2.11"} {
		if err := verifyErr(ca, der, name); err == nil {
			t.Errorf("verify %s: want an error", name)
		}
	}
	cert, _ := x509.ParseCertificate(der)
	if !cert.NotBefore.Equal(now.Add(-time.Hour)) {
		t.Errorf("NotBefore = %v, want now-1h", cert.NotBefore)
	}
	if !cert.NotAfter.Equal(now.Add(pki.MaxLeafValidity)) {
		t.Errorf("NotAfter = %v, want now+397 days (capped)", cert.NotAfter)
	}
	if cert.IsCA {
		t.Error("leaf is a CA")
	}
	if cert.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("KeyUsage = %v, want DigitalSignature", cert.KeyUsage)
	}
	if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
		t.Errorf("ExtKeyUsage = %v, want [ServerAuth]", cert.ExtKeyUsage)
	}
	if string(cert.AuthorityKeyId) != string(ca.Cert.SubjectKeyId) {
		t.Error("AuthorityKeyId does not name the CA")
	}
}

func TestIssueExactHost(t *testing.T) {
	ca := newCA(t)
	der, err := ca.Issue(now, newCA(t).Key.Public(), pki.ServerNames{DNSNames: []string{"myvault.localhost"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	verify(t, ca, der, "myvault.localhost")
	if err := verifyErr(ca, der, "other.localhost"); err == nil {
		t.Error("exact certificate verifies for another host")
	}
}

func TestIssueBoundedByCA(t *testing.T) {
	ca := newCA(t)
	late := ca.Cert.NotAfter.Add(-24 * time.Hour)
	der, err := ca.Issue(late, newCA(t).Key.Public(), pki.ServerNames{IPs: []net.IP{net.IPv6loopback}}, pki.MaxLeafValidity)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	if !cert.NotAfter.Equal(ca.Cert.NotAfter) {
		t.Errorf("NotAfter = %v, want the CA's %v", cert.NotAfter, ca.Cert.NotAfter)
	}
}

func TestIssueErrors(t *testing.T) {
	ca := newCA(t)
	pub := newCA(t).Key.Public()
	names := pki.ServerNames{DNSNames: []string{"localhost"}}
	tests := []struct {
		name     string
		at       time.Time
		names    pki.ServerNames
		validity time.Duration
	}{
		{"fail/no-names", now, pki.ServerNames{}, time.Hour},
		{"fail/zero-validity", now, names, 0},
		{"fail/negative-validity", now, names, -time.Hour},
		{"fail/ca-expired", ca.Cert.NotAfter.Add(time.Hour), names, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ca.Issue(tt.at, pub, tt.names, tt.validity); err == nil {
				t.Fatal("Issue succeeded, want an error")
			}
		})
	}
}
