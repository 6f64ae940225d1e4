package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/server"
)

// startOnce runs server.New on dir and closes what it opened; the error is New's.
func startOnce(t *testing.T, dir string, edit func(*server.Config)) error {
	t.Helper()
	cfg := server.Config{DataDir: dir, Addr: "127.0.0.1:0", AuditLog: server.AuditLogOff,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), SweepInterval: time.Hour}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := server.New(context.Background(), cfg)
	if err == nil {
		srv.Close()
	}
	return err
}

func modeOf(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestLooseFileModesRefuseStart: a data dir, master.key, bootstrap-credentials.json or
// server key that group or others can reach stops the start with the chmod that fixes it,
// and Coffer changes no mode itself.
func TestLooseFileModesRefuseStart(t *testing.T) {
	dir := t.TempDir()
	if err := startOnce(t, dir, nil); err != nil {
		t.Fatalf("first start: %v", err)
	}
	files := map[string]string{
		"master.key":                 filepath.Join(dir, "master.key"),
		"bootstrap-credentials.json": filepath.Join(dir, "bootstrap-credentials.json"),
		"tls/server.key":             filepath.Join(dir, "tls", "server.key"),
	}
	for name, path := range files {
		if m := modeOf(t, path); m != 0o600 {
			t.Fatalf("%s was made with mode %v, want 0600", name, m)
		}
	}

	cases := []struct {
		name string
		path string
		mode os.FileMode
		good os.FileMode
		fix  string
	}{
		{"data dir 0755", dir, 0o755, 0o700, "chmod 700 " + dir},
		{"data dir 0710", dir, 0o710, 0o700, "chmod 700 " + dir},
		{"master.key 0644", files["master.key"], 0o644, 0o600, "chmod 600 " + files["master.key"]},
		{"credentials 0640", files["bootstrap-credentials.json"], 0o640, 0o600, "chmod 600 " + files["bootstrap-credentials.json"]},
		{"server key 0604", files["tls/server.key"], 0o604, 0o600, "chmod 600 " + files["tls/server.key"]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.Chmod(tc.path, tc.mode); err != nil {
				t.Fatal(err)
			}
			defer os.Chmod(tc.path, tc.good)
			err := startOnce(t, dir, nil)
			if err == nil {
				t.Fatalf("the server started with %s at mode %v", tc.path, tc.mode)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.fix) || !strings.Contains(msg, tc.path+" has mode "+tc.mode.String()) {
				t.Errorf("the error does not name the file and the command that fixes it (%q):\n%s", tc.fix, msg)
			}
			if m := modeOf(t, tc.path); m != tc.mode {
				t.Errorf("the mode of %s was changed to %v", tc.path, m)
			}
		})
	}

	// Every problem at once is listed at once.
	os.Chmod(dir, 0o755)
	os.Chmod(files["master.key"], 0o644)
	err := startOnce(t, dir, nil)
	if err == nil || !strings.Contains(err.Error(), "chmod 700 "+dir) || !strings.Contains(err.Error(), "chmod 600 "+files["master.key"]) {
		t.Errorf("want both problems named, got %v", err)
	}
	os.Chmod(dir, 0o700)
	os.Chmod(files["master.key"], 0o600)
	if err := startOnce(t, dir, nil); err != nil {
		t.Fatalf("start after the modes were fixed: %v", err)
	}
}

// TestLooseTLSKeyRefusesStart: an operator's --tls-key may be readable by its group (as
// Debian's ssl-cert group has it), not by others.
func TestLooseTLSKeyRefusesStart(t *testing.T) {
	dir := t.TempDir()
	keyDir := t.TempDir()
	certPath, keyPath := filepath.Join(keyDir, "tls.crt"), filepath.Join(keyDir, "tls.key")
	writeSelfSigned(t, certPath, keyPath)
	tlsFlags := func(c *server.Config) { c.TLSCert, c.TLSKey = certPath, keyPath }

	os.Chmod(keyPath, 0o644)
	err := startOnce(t, dir, tlsFlags)
	if err == nil || !strings.Contains(err.Error(), "chmod o-rwx "+keyPath) {
		t.Fatalf("a --tls-key others can read: want a refusal naming chmod o-rwx, got %v", err)
	}
	if m := modeOf(t, keyPath); m != 0o644 {
		t.Errorf("the mode of --tls-key was changed to %v", m)
	}
	os.Chmod(keyPath, 0o640)
	if err := startOnce(t, dir, tlsFlags); err != nil {
		t.Fatalf("a --tls-key readable by its group only: %v", err)
	}
}

func writeSelfSigned(t *testing.T, certPath, keyPath string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestNewDataDirMadePrivate: a data dir made by hand before the first start (mkdir with
// the usual umask: 0755) holds nothing yet, so Coffer makes it 0700 and starts.
func TestNewDataDirMadePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755) // whatever the umask
	if err := startOnce(t, dir, nil); err != nil {
		t.Fatalf("first start on an empty 0755 data dir: %v", err)
	}
	if m := modeOf(t, dir); m != 0o700 {
		t.Errorf("the new data dir has mode %v, want 0700", m)
	}
}
