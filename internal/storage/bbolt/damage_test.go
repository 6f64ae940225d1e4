package bbolt_test

import (
	"bytes"
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

// Offsets in a bbolt file: meta pages at 0 and pageSize, each a 16-byte page header then
// the meta (magic, version, page size, flags, root bucket, freelist, pgid, txid, checksum).
const (
	metaPageSizeAt = 16 + 8
	metaRootAt     = 16 + 16
	metaTxidAt     = 16 + 48
)

// damageDB makes a database at dir/coffer.db with a txid record, holding n keys
// "k/0000"… with values of size bytes, written in several transactions; the last one
// puts "last".
func damageDB(t *testing.T, n, size int) (path, rec string) {
	t.Helper()
	dir := t.TempDir()
	path, rec = filepath.Join(dir, "coffer.db"), filepath.Join(dir, "coffer.db.txid")
	db, err := bbolt.Open(path, bbolt.Options{TxidFile: rec})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 50 {
		err := db.Update(t.Context(), func(tx storage.Tx) error {
			for j := i; j < min(n, i+50); j++ {
				if err := tx.Put(fmt.Sprintf("k/%04d", j), bytes.Repeat([]byte{byte(j)}, size)); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			err = db.Checkpoint(t.Context()) // a commit to the file each, as a long-lived file has
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	storagetest.Put(t, db, "last", "the last acknowledged write")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path, rec
}

func edit(t *testing.T, path string, change func(b []byte, pageSize int)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	change(b, int(binary.NativeEndian.Uint32(b[metaPageSizeAt:])))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// newestMeta is the offset of the meta page with the higher txid.
func newestMeta(b []byte, pageSize int) int {
	if binary.NativeEndian.Uint64(b[pageSize+metaTxidAt:]) > binary.NativeEndian.Uint64(b[metaTxidAt:]) {
		return pageSize
	}
	return 0
}

// livePage is the offset of the page that holds key in the tree bbolt uses: Verify walks
// it; among the copies of key in the file (older transactions leave theirs behind) it is
// the one whose page no longer verifies once spoilt.
func livePage(t *testing.T, path string, key string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := int(binary.NativeEndian.Uint32(b[metaPageSizeAt:]))
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte(key))
		if j < 0 {
			break
		}
		page := (i + j) / pageSize * pageSize
		i += j + 1
		saved := b[page+8]
		b[page+8] ^= 0x20
		spoilt := filepath.Join(t.TempDir(), "probe.db")
		if err := os.WriteFile(spoilt, b, 0o600); err != nil {
			t.Fatal(err)
		}
		b[page+8] = saved
		if rep, err := bbolt.Verify(spoilt); err == nil && len(rep.Problems) > 0 {
			return page
		}
	}
	t.Fatalf("no live page holds %q", key)
	return 0
}

func TestVerifySound(t *testing.T) {
	path, _ := damageDB(t, 300, 100)
	rep, err := bbolt.Verify(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 || rep.Keys != 301 || rep.Txid < 7 || rep.Pages < 5 {
		t.Fatalf("a sound file: %+v", rep)
	}
}

// TestOpenDamaged: Open on a damaged file never panics: a page bbolt would trip over is a
// CorruptError naming the page and the keys it affects; a newest meta page that does not
// validate (bbolt would fall back to the transaction before) is a StaleError, since the
// txid record names the lost transaction.
func TestOpenDamaged(t *testing.T) {
	for _, tc := range []struct {
		name    string
		damage  func(t *testing.T, path string)
		want    error
		affects string // in the first problem's Affects, for a CorruptError
	}{
		{"newest-meta-page", func(t *testing.T, path string) {
			edit(t, path, func(b []byte, ps int) { b[newestMeta(b, ps)+metaRootAt] ^= 1 })
		}, bbolt.ErrStale, ""},
		{"page-type", func(t *testing.T, path string) {
			at := livePage(t, path, "k/0123")
			edit(t, path, func(b []byte, _ int) { b[at+8] ^= 0x20 })
		}, bbolt.ErrCorrupt, "k/01"},
		{"page-id", func(t *testing.T, path string) {
			at := livePage(t, path, "k/0123")
			edit(t, path, func(b []byte, _ int) { b[at] ^= 0x40 })
		}, bbolt.ErrCorrupt, "k/01"},
		{"element-count", func(t *testing.T, path string) {
			at := livePage(t, path, "k/0123")
			edit(t, path, func(b []byte, _ int) { b[at+11] = 0x7f })
		}, bbolt.ErrCorrupt, "k/01"},
		{"key-order", func(t *testing.T, path string) {
			at := livePage(t, path, "k/0123")
			edit(t, path, func(b []byte, ps int) {
				k := at + bytes.Index(b[at:at+ps], []byte("k/0123"))
				b[k+2] = '9' // k/9123: after every key that follows it
			})
		}, bbolt.ErrCorrupt, "k/01"},
		{"truncated", func(t *testing.T, path string) {
			fi, _ := os.Stat(path)
			rep, _ := bbolt.Verify(path)
			os.Truncate(path, min(fi.Size(), int64(rep.PageSize*3)))
		}, bbolt.ErrCorrupt, "the whole database"},
		{"not-a-database", func(t *testing.T, path string) {
			os.WriteFile(path, bytes.Repeat([]byte("coffer"), 4096), 0o600)
		}, bbolt.ErrCorrupt, "the whole database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, rec := damageDB(t, 300, 100)
			tc.damage(t, path)
			db, err := bbolt.Open(path, bbolt.Options{TxidFile: rec})
			if err == nil {
				db.Close()
				t.Fatalf("Open of a damaged file succeeded")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open: %v, want %v", err, tc.want)
			}
			var ce *bbolt.CorruptError
			if errors.As(err, &ce) {
				if ce.Report == nil || len(ce.Report.Problems) == 0 {
					t.Fatalf("a CorruptError without problems: %v", err)
				}
				if got := ce.Report.Problems[0].Affects(); !strings.Contains(got, tc.affects) {
					t.Errorf("the problem affects %s, want it to name %q: %v", got, tc.affects, err)
				}
			}
			var se *bbolt.StaleError
			if errors.As(err, &se) && (se.Found+1 != se.Recorded || len(se.Meta) != 1 || !strings.Contains(err.Error(), "does not validate")) {
				t.Errorf("a StaleError that does not say what happened: %+v: %v", se, err)
			}
		})
	}
}

// TestOpenOlderMetaDamaged: a damaged meta page that is not the newest loses nothing:
// Open goes on (bbolt rewrites that page at its next commit), as it does on a damaged
// newest one without a txid record to tell.
func TestOpenOlderMetaDamaged(t *testing.T) {
	path, rec := damageDB(t, 10, 10)
	edit(t, path, func(b []byte, ps int) { b[ps-newestMeta(b, ps)+metaRootAt] ^= 1 })
	db, err := bbolt.Open(path, bbolt.Options{TxidFile: rec})
	if err != nil {
		t.Fatalf("Open with the older meta page damaged: %v", err)
	}
	if rep := db.Verified(); rep == nil || len(rep.Problems) != 1 || !rep.Problems[0].Meta {
		t.Errorf("Verified: %+v", rep)
	}
	storagetest.WantValue(t, db, "last", "the last acknowledged write")
	storagetest.Put(t, db, "after", "x") // rewrites the damaged page
	db.Close()
	if rep, err := bbolt.Verify(path); err != nil || len(rep.Problems) != 0 {
		t.Errorf("after a commit: %+v %v", rep, err)
	}
}

// TestTxidRecord: the record may lag one batch behind the file (a crash between the
// commit and the record), never lead; a file older than the record, or none where the
// record says there was one, is refused until the record is replaced by hand.
func TestTxidRecord(t *testing.T) {
	t.Run("ok/lagging-record-caught-up", func(t *testing.T) {
		path, rec := damageDB(t, 10, 10)
		before, _ := os.ReadFile(rec)
		db, err := bbolt.Open(path, bbolt.Options{TxidFile: rec})
		if err != nil {
			t.Fatal(err)
		}
		storagetest.Put(t, db, "more", "x")
		db.Close()
		os.WriteFile(rec, before, 0o600) // as if the process died before recording
		db, err = bbolt.Open(path, bbolt.Options{TxidFile: rec})
		if err != nil {
			t.Fatalf("Open with a record one batch behind: %v", err)
		}
		txid, _ := db.Txid()
		db.Close()
		if got, _, _ := bbolt.ReadTxidRecord(rec); got != txid {
			t.Errorf("the record names %d after Open, want %d", got, txid)
		}
	})
	t.Run("fail/record-ahead", func(t *testing.T) {
		path, rec := damageDB(t, 10, 10)
		got, _, _ := bbolt.ReadTxidRecord(rec)
		bbolt.WriteTxidRecord(rec, got+5) // the file restored from an older backup
		_, err := bbolt.Open(path, bbolt.Options{TxidFile: rec})
		var se *bbolt.StaleError
		if !errors.As(err, &se) || se.Recorded != got+5 || se.Found != got || len(se.Meta) != 0 {
			t.Fatalf("Open: %v", err)
		}
		// Read-only opens (coffer check) go on, and replacing the record accepts the file.
		db, err := bbolt.Open(path, bbolt.Options{TxidFile: rec, ReadOnly: true})
		if err != nil {
			t.Fatalf("read-only Open: %v", err)
		}
		if err := db.Update(t.Context(), func(tx storage.Tx) error { return tx.Put("x", nil) }); err == nil {
			t.Error("an Update on a read-only DB succeeded")
		}
		storagetest.WantValue(t, db, "last", "the last acknowledged write")
		db.Close()
		bbolt.WriteTxidRecord(rec, got)
		if db, err = bbolt.Open(path, bbolt.Options{TxidFile: rec}); err != nil {
			t.Fatalf("Open once the record names the file's transaction: %v", err)
		}
		db.Close()
	})
	t.Run("fail/file-missing", func(t *testing.T) {
		path, rec := damageDB(t, 1, 1)
		os.Rename(path, path+".moved")
		_, err := bbolt.Open(path, bbolt.Options{TxidFile: rec})
		var se *bbolt.StaleError
		if !errors.As(err, &se) || !se.Missing {
			t.Fatalf("Open: %v", err)
		}
		if _, err := os.Stat(path); err == nil {
			t.Error("Open made a new, empty file where the record names one")
		}
	})
	t.Run("fail/record-damaged", func(t *testing.T) {
		path, rec := damageDB(t, 1, 1)
		os.WriteFile(rec, bytes.Repeat([]byte{1}, 32), 0o600)
		if _, err := bbolt.Open(path, bbolt.Options{TxidFile: rec}); !errors.Is(err, bbolt.ErrTxidRecord) {
			t.Fatalf("Open: %v", err)
		}
	})
	t.Run("ok/torn-slot", func(t *testing.T) {
		path, rec := damageDB(t, 1, 1)
		got, _, _ := bbolt.ReadTxidRecord(rec)
		edit(t, rec, func(b []byte, _ int) {
			for off := 0; off < 32; off += 16 {
				if binary.LittleEndian.Uint64(b[off:]) == got {
					b[off+3] ^= 0xff // the newer slot torn: the other names the batch before
				}
			}
		})
		if after, _, err := bbolt.ReadTxidRecord(rec); err != nil || after != got-1 {
			t.Fatalf("a record with one torn slot names %d (%v), want %d", after, err, got-1)
		}
		db, err := bbolt.Open(path, bbolt.Options{TxidFile: rec})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	})
}

// FuzzOpenDamaged: whatever bytes of a sound file are changed, Verify and Open never
// panic or fault, and a file Open accepts can be read to its end. Each input is a list
// of edits: a 2-byte offset into the file's first 64 KiB and a byte to xor there.
func FuzzOpenDamaged(f *testing.F) {
	sound := filepath.Join(f.TempDir(), "sound.db")
	func() {
		db, err := bbolt.Open(sound, bbolt.Options{})
		if err != nil {
			f.Fatal(err)
		}
		defer db.Close()
		for i := range 6 {
			err := db.Update(f.Context(), func(tx storage.Tx) error {
				for j := range 60 {
					if err := tx.Put(fmt.Sprintf("k/%02d/%04d", i, j), bytes.Repeat([]byte{byte(j)}, 20+j*7)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				f.Fatal(err)
			}
		}
	}()
	base, err := os.ReadFile(sound)
	if err != nil {
		f.Fatal(err)
	}
	ps := int(binary.NativeEndian.Uint32(base[metaPageSizeAt:]))
	for _, at := range []int{metaRootAt, ps + metaTxidAt, 2*ps + 8, 3*ps + 10, 4*ps + 16, 4*ps + 20, 5*ps + 12} {
		f.Add([]byte{byte(at), byte(at >> 8), 0x41})
	}
	f.Fuzz(func(t *testing.T, edits []byte) {
		b := bytes.Clone(base)
		for i := 0; i+3 <= len(edits); i += 3 {
			if at := int(edits[i]) | int(edits[i+1])<<8; at < len(b) {
				b[at] ^= edits[i+2]
			}
		}
		path := filepath.Join(t.TempDir(), "coffer.db")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := bbolt.Verify(path); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		db, err := bbolt.Open(path, bbolt.Options{})
		if err != nil {
			return
		}
		defer db.Close()
		if err := db.View(t.Context(), func(tx storage.Tx) error {
			_, err := tx.Scan("", "", 0)
			return err
		}); err != nil {
			t.Fatalf("reading a file Open accepted: %v", err)
		}
	})
}
