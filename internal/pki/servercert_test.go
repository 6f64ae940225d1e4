package pki_test

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/pki"
)

var defaultNames = pki.ServerSANs("127.0.0.1", "localhost")

func ensure(t *testing.T, dir string, ca *pki.CA, names pki.ServerNames, at time.Time) tls.Certificate {
	t.Helper()
	cert, err := pki.EnsureServerCert(dir, ca, names, at)
	if err != nil {
		t.Fatalf("EnsureServerCert: %v", err)
	}
	return cert
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, want)
	}
}

// checkFileModes checks that the CA, certificate and key files of dir are 0600.
func checkFileModes(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []string{pki.CAFile, pki.CertFile, pki.KeyFile} {
		checkMode(t, filepath.Join(dir, f), 0o600)
	}
}

func TestEnsureServerCertCreates(t *testing.T) {
	ca := newCA(t)
	dir := filepath.Join(t.TempDir(), "data", "tls")
	cert := ensure(t, dir, ca, defaultNames, now)

	checkMode(t, dir, 0o700)
	checkFileModes(t, dir)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("tls dir holds %d entries, want 3 (no temporary files left)", len(entries))
	}
	if got := readFile(t, filepath.Join(dir, pki.CAFile)); string(got) != string(ca.CertPEM()) {
		t.Error("ca.crt is not the CA certificate")
	}

	// server.crt is the leaf then the CA; server.key is PKCS#8 and matches it.
	rest := readFile(t, filepath.Join(dir, pki.CertFile))
	var chain [][]byte
	for {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		chain = append(chain, b.Bytes)
	}
	if len(chain) != 2 || string(chain[1]) != string(ca.Cert.Raw) {
		t.Fatalf("server.crt holds %d certificates, want leaf + CA", len(chain))
	}
	keyPEM := readFile(t, filepath.Join(dir, pki.KeyFile))
	if b, _ := pem.Decode(keyPEM); b == nil || b.Type != "PRIVATE KEY" {
		t.Fatal("server.key is not a PKCS#8 PEM block")
	}
	if _, err := tls.X509KeyPair(readFile(t, filepath.Join(dir, pki.CertFile)), keyPEM); err != nil {
		t.Fatalf("server.crt and server.key do not pair: %v", err)
	}

	// The returned certificate is the files' content, with Leaf set.
	if len(cert.Certificate) != 2 || string(cert.Certificate[0]) != string(chain[0]) || string(cert.Certificate[1]) != string(ca.Cert.Raw) {
		t.Error("returned chain differs from server.crt")
	}
	if cert.Leaf == nil || string(cert.Leaf.Raw) != string(chain[0]) {
		t.Fatal("returned Leaf not set to the leaf")
	}
	for _, name := range []string{"localhost", "v1.localhost", "127.0.0.1", "::1"} {
		verify(t, ca, cert.Leaf.Raw, name)
	}
}

func TestEnsureServerCertReuse(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	first := ensure(t, dir, ca, defaultNames, now)
	before := readFile(t, filepath.Join(dir, pki.CertFile))

	// The same names in another order and case are the same set.
	reordered := pki.ServerNames{
		DNSNames: []string{"*.LOCALHOST", "localhost"},
		IPs:      []net.IP{defaultNames.IPs[1], defaultNames.IPs[0]},
	}
	second := ensure(t, dir, ca, reordered, now.Add(24*time.Hour))
	if !second.Leaf.Equal(first.Leaf) {
		t.Error("valid certificate was re-issued")
	}
	if after := readFile(t, filepath.Join(dir, pki.CertFile)); string(after) != string(before) {
		t.Error("server.crt rewritten though reused")
	}
}

func TestEnsureServerCertReissue(t *testing.T) {
	// Each case changes one thing before the second call: its time (at, from the first
	// leaf), its names, its CA, or a file of dir (file, set to content; "" removes it).
	tests := []struct {
		name          string
		at            func(leaf *x509.Certificate) time.Time
		names         *pki.ServerNames
		otherCA       bool
		file, content string
		reissue       bool
		sameKey       bool
	}{
		{name: "ok/reuse-31-days-left", at: func(leaf *x509.Certificate) time.Time { return leaf.NotAfter.Add(-31 * 24 * time.Hour) }, reissue: false, sameKey: true},
		{name: "ok/reissue-29-days-left", at: func(leaf *x509.Certificate) time.Time { return leaf.NotAfter.Add(-29 * 24 * time.Hour) }, reissue: true, sameKey: true},
		{name: "ok/reissue-expired", at: func(leaf *x509.Certificate) time.Time { return leaf.NotAfter.Add(24 * time.Hour) }, reissue: true, sameKey: true},
		{name: "ok/reissue-not-yet-valid", at: func(leaf *x509.Certificate) time.Time { return leaf.NotBefore.Add(-time.Minute) }, reissue: true, sameKey: true},
		{name: "ok/reissue-public-host-changed", names: ptr(pki.ServerSANs("coffer.example.com", "localhost")), reissue: true, sameKey: true},
		{name: "ok/reissue-vault-domain-changed", names: ptr(pki.ServerSANs("127.0.0.1", "vault.localhost")), reissue: true, sameKey: true},
		{name: "ok/reissue-other-ca", otherCA: true, reissue: true, sameKey: true},
		{name: "ok/reissue-cert-missing", file: pki.CertFile, reissue: true, sameKey: true},
		{name: "ok/reissue-cert-garbage", file: pki.CertFile, content: "garbage", reissue: true, sameKey: true},
		{name: "ok/new-key-when-key-garbage", file: pki.KeyFile, content: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", reissue: true, sameKey: false},
		{name: "ok/new-key-when-key-missing", file: pki.KeyFile, reissue: true, sameKey: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca := newCA(t)
			dir := t.TempDir()
			first := ensure(t, dir, ca, defaultNames, now)
			ca2, names, at := ca, defaultNames, now
			switch {
			case tt.at != nil:
				at = tt.at(first.Leaf)
			case tt.names != nil:
				names = *tt.names
			case tt.otherCA:
				ca2 = newCA(t)
			case tt.content != "":
				writeFile(t, filepath.Join(dir, tt.file), tt.content)
			case tt.file != "":
				if err := os.Remove(filepath.Join(dir, tt.file)); err != nil {
					t.Fatal(err)
				}
			}
			second := ensure(t, dir, ca2, names, at)

			if reissued := !second.Leaf.Equal(first.Leaf); reissued != tt.reissue {
				t.Fatalf("re-issued = %v, want %v", reissued, tt.reissue)
			}
			sameKey := second.Leaf.PublicKey.(*ecdsa.PublicKey).Equal(first.Leaf.PublicKey)
			if sameKey != tt.sameKey {
				t.Errorf("same key = %v, want %v", sameKey, tt.sameKey)
			}
			if tt.reissue && !second.Leaf.NotAfter.Equal(at.Add(pki.MaxLeafValidity)) {
				t.Errorf("NotAfter = %v, want %v", second.Leaf.NotAfter, at.Add(pki.MaxLeafValidity))
			}
			// The files on disk are what is served, and ca.crt names the CA in use.
			pair, err := tls.X509KeyPair(readFile(t, filepath.Join(dir, pki.CertFile)), readFile(t, filepath.Join(dir, pki.KeyFile)))
			if err != nil {
				t.Fatalf("files do not pair: %v", err)
			}
			if !pair.Leaf.Equal(second.Leaf) {
				t.Error("server.crt differs from the returned certificate")
			}
			if string(readFile(t, filepath.Join(dir, pki.CAFile))) != string(ca2.CertPEM()) {
				t.Error("ca.crt is not the current CA")
			}
			if err := second.Leaf.CheckSignatureFrom(ca2.Cert); err != nil {
				t.Errorf("not issued by the current CA: %v", err)
			}
			checkFileModes(t, dir)
		})
	}
}

func TestEnsureServerCertFixesModes(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	ensure(t, dir, ca, defaultNames, now)
	for _, f := range []string{pki.CAFile, pki.CertFile, pki.KeyFile} {
		if err := os.Chmod(filepath.Join(dir, f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ensure(t, dir, ca, defaultNames, now)
	checkFileModes(t, dir)
}

func TestEnsureServerCertRewritesCAFile(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	ensure(t, dir, ca, defaultNames, now)
	writeFile(t, filepath.Join(dir, pki.CAFile), "stale")
	ensure(t, dir, ca, defaultNames, now)
	if string(readFile(t, filepath.Join(dir, pki.CAFile))) != string(ca.CertPEM()) {
		t.Error("ca.crt not rewritten")
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }
