package bbolt_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/bbolt"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

// TestOpenBoundedCheck: Open reads at most Options.StartPages pages of a file larger than
// that — the upper levels of its tree — so a leaf page damaged below them does not stop
// it; the damage is then found by VerifyFull (the server runs it in the background), and
// a read that meets the damaged page fails with an error wrapping ErrCorrupt instead of
// bringing the process down. A small file is still checked whole at open.
func TestOpenBoundedCheck(t *testing.T) {
	path, rec := damageDB(t, 2000, 100) // ~60 leaf pages under a branch level
	full, err := bbolt.Verify(path)
	if err != nil || len(full.Problems) != 0 || !full.Complete {
		t.Fatalf("Verify of a sound file: %+v, %v", full, err)
	}
	top, err := bbolt.VerifyTop(path, 8)
	if err != nil || len(top.Problems) != 0 || top.Complete || top.Pages >= 8 || top.Unread == 0 {
		t.Fatalf("VerifyTop(8) of a sound file: pages %d, unread %d, complete %v, %v", top.Pages, top.Unread, top.Complete, err)
	}
	if all, _ := bbolt.VerifyTop(path, 1<<20); !all.Complete || all.Pages != full.Pages || all.Keys != full.Keys {
		t.Fatalf("VerifyTop with room for every page: %+v, want %+v", all, full)
	}

	at := livePage(t, path, "k/1234")
	edit(t, path, func(b []byte, _ int) { b[at] ^= 0x40 }) // the page says it is another

	if _, err := bbolt.Open(path, bbolt.Options{TxidFile: rec, StartPages: -1}); !errors.Is(err, bbolt.ErrCorrupt) {
		t.Fatalf("Open checking every page: %v, want ErrCorrupt", err)
	}
	db, err := bbolt.Open(path, bbolt.Options{TxidFile: rec, StartPages: 8})
	if err != nil {
		t.Fatalf("Open with a bounded check: %v", err)
	}
	defer db.Close()
	if v := db.Verified(); v == nil || v.Complete || len(v.Problems) != 0 {
		t.Fatalf("Verified: %+v", v)
	}
	seen := map[string]bool{}
	rep, err := db.VerifyFull(t.Context(), func(k, v []byte) {
		// Every key with its own value: damageDB's values are the key's number's low byte.
		var n int
		if _, err := fmt.Sscanf(string(k), "k/%d", &n); err == nil && (len(v) != 100 || v[0] != byte(n)) {
			t.Errorf("VerifyFull handed %s a value of %d bytes starting %d", k, len(v), v[0])
		}
		seen[string(k)] = true
	})
	if len(seen) < 1000 {
		t.Errorf("VerifyFull handed %d keys over, want the keys it read", len(seen))
	}
	if err != nil || len(rep.Problems) == 0 || !strings.Contains(rep.Problems[0].Affects(), "k/1") {
		t.Fatalf("VerifyFull does not find the damaged page: %+v, %v", rep, err)
	}
	err = db.View(t.Context(), func(tx storage.Tx) error {
		_, err := tx.Get("k/1234")
		return err
	})
	if !errors.Is(err, bbolt.ErrCorrupt) {
		t.Fatalf("reading a key on the damaged page: %v, want ErrCorrupt", err)
	}
	// The rest is served.
	err = db.View(t.Context(), func(tx storage.Tx) error {
		_, err := tx.Get("k/0001")
		return err
	})
	if err != nil {
		t.Fatalf("reading a sound page: %v", err)
	}
}

// TestOpenReadsBoundedPages: the start check of a file of any size reads about
// StartPages pages; the whole-file walk reads them all. Counted by the report, and
// compared with a file ten times smaller in the same run.
func TestOpenReadsBoundedPages(t *testing.T) {
	pages := func(n int) (top, full int) {
		dir := t.TempDir()
		db, err := bbolt.Open(filepath.Join(dir, "coffer.db"), bbolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		v := make([]byte, 1024)
		for i := 0; i < n; i += 1000 {
			if err := db.Update(t.Context(), func(tx storage.Tx) error {
				for j := i; j < min(n, i+1000); j++ {
					if err := tx.Put(fmt.Sprintf("k/%08d", j), v); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()
		db, err = bbolt.Open(filepath.Join(dir, "coffer.db"), bbolt.Options{StartPages: 64})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rep, err := db.VerifyFull(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return db.Verified().Pages, rep.Pages
	}
	smallTop, smallFull := pages(2000)
	bigTop, bigFull := pages(20000)
	t.Logf("2k keys: %d of %d pages read at open; 20k keys: %d of %d", smallTop, smallFull, bigTop, bigFull)
	if bigTop > 64 || bigFull < 5*smallFull {
		t.Fatalf("open read %d pages of a file of %d (limit 64)", bigTop, bigFull)
	}
}

// freelistWritten reports whether the newest meta page of the file at path names a
// written free list.
func freelistWritten(t *testing.T, path string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := int(binary.NativeEndian.Uint32(b[metaPageSizeAt:]))
	return binary.NativeEndian.Uint64(b[newestMeta(b, ps)+16+32:]) != ^uint64(0)
}

// TestFreelistPolicy: a small free list is written with every commit; a large one (after
// a mass delete) is not — each commit would write all of it — but Close writes it, so the
// next start reads it instead of every page, and the txid record follows that last commit.
func TestFreelistPolicy(t *testing.T) {
	dir := t.TempDir()
	path, rec := filepath.Join(dir, "coffer.db"), filepath.Join(dir, "coffer.db.txid")
	db, err := bbolt.Open(path, bbolt.Options{TxidFile: rec})
	if err != nil {
		t.Fatal(err)
	}
	put := func(n int, del bool) {
		for i := 0; i < n; i += 1000 {
			if err := db.Update(t.Context(), func(tx storage.Tx) error {
				for j := i; j < i+1000; j++ {
					k := fmt.Sprintf("k/%08d", j)
					if del {
						if err := tx.Delete(k); err != nil {
							return err
						}
					} else if err := tx.Put(k, make([]byte, 1024)); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if err := db.Checkpoint(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}
	put(3000, false)
	if !freelistWritten(t, path) {
		t.Fatal("a small free list is not written with the commit")
	}
	put(20000, false)
	put(20000, true) // ~7,000 pages free
	storagetest.Put(t, db, "after", "the purge")
	if err := db.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	if freelistWritten(t, path) {
		t.Fatal("a large free list is written with every commit")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if !freelistWritten(t, path) {
		t.Fatal("Close did not write the large free list")
	}
	db, err = bbolt.Open(path, bbolt.Options{TxidFile: rec})
	if err != nil {
		t.Fatalf("Open after Close wrote the free list: %v", err)
	}
	defer db.Close()
	if err := db.View(t.Context(), func(tx storage.Tx) error {
		v, err := tx.Get("after")
		if err == nil && string(v) != "the purge" {
			t.Errorf("after = %q", v)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
