package barrier_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/coffer/coffer/internal/barrier"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/bbolt"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

func openBolt(t *testing.T, path string) storage.Backend {
	t.Helper()
	db, err := bbolt.Open(path, bbolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// Over the real embedded backend (group commit may run fn more than once).
func TestConformanceBbolt(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		inner := openBolt(t, filepath.Join(t.TempDir(), "coffer.db"))
		b, err := barrier.Open(t.Context(), inner, newKEK(t), barrier.Options{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

// The database file never holds a value in clear, in hex or in base64, and a reopen with the
// same KEK reads it back.
func TestBboltFileHoldsNoPlaintext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "coffer.db")
	kek := newKEK(t)
	b, err := barrier.Open(t.Context(), openBolt(t, path), kek, barrier.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("s3cr3t-value-that-must-not-leak-7f3a9c")
	put(t, b, "v/default/secret/db/ver/1", secret)
	if _, err := b.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	put(t, b, "v/default/secret/db/ver/2", secret)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range [][]byte{
		secret,
		[]byte(hex.EncodeToString(secret)),
		[]byte(base64.StdEncoding.EncodeToString(secret)),
		[]byte(base64.RawURLEncoding.EncodeToString(secret)),
	} {
		if bytes.Contains(file, f) {
			t.Fatalf("database file holds %q", f)
		}
	}
	r := reopen(t, openBolt(t, path), kek)
	defer r.Close()
	for _, k := range []string{"v/default/secret/db/ver/1", "v/default/secret/db/ver/2"} {
		if got := mustGet(t, r, k); !bytes.Equal(got, secret) {
			t.Fatalf("%s = %q", k, got)
		}
	}
}
