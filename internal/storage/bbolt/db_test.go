package bbolt_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/bbolt"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

func open(t *testing.T, path string) *bbolt.DB {
	t.Helper()
	db, err := bbolt.Open(path, bbolt.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		return open(t, filepath.Join(t.TempDir(), "coffer.db"))
	})
}

func TestOpen(t *testing.T) {
	t.Run("ok/file-mode-0600", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "coffer.db")
		db := open(t, path)
		defer db.Close()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("file mode = %v, want 0600", got)
		}
	})

	t.Run("ok/reopen-keeps-data", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "coffer.db")
		db := open(t, path)
		storagetest.Put(t, db, "k", "v")
		if err := db.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		db = open(t, path)
		defer db.Close()
		storagetest.WantValue(t, db, "k", "v")
	})

	t.Run("fail/in-use", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "coffer.db")
		db := open(t, path)
		defer db.Close()
		start := time.Now()
		second, err := bbolt.Open(path, bbolt.Options{LockTimeout: 50 * time.Millisecond})
		if err == nil {
			second.Close()
			t.Fatal("second Open of the same file succeeded")
		}
		if !errors.Is(err, bbolt.ErrInUse) {
			t.Errorf("second Open error = %v, want ErrInUse", err)
		}
		if !strings.Contains(err.Error(), "data dir in use") {
			t.Errorf("second Open error = %q, want it to say \"data dir in use\"", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("second Open took %v, want it to fail fast", d)
		}
	})

	t.Run("fail/missing-dir", func(t *testing.T) {
		_, err := bbolt.Open(filepath.Join(t.TempDir(), "nope", "coffer.db"), bbolt.Options{})
		if err == nil || errors.Is(err, bbolt.ErrInUse) {
			t.Errorf("Open in a missing directory: error = %v, want a non-ErrInUse error", err)
		}
	})
}
