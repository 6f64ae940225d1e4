package bbolt_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/bbolt"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

// crashCopy copies the files of the open database at path into a new dir, as a crash
// would leave them now (every acknowledged batch was flushed, so the files' contents are
// what the disk holds), and returns the copy's database path.
func crashCopy(t *testing.T, path string) string {
	t.Helper()
	dir := t.TempDir()
	for _, suffix := range []string{"", ".wal", ".wal.1", ".txid"} {
		name := filepath.Base(path) + suffix
		src, err := os.Open(filepath.Join(filepath.Dir(path), name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		dst, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(dst, src); err != nil {
			t.Fatal(err)
		}
		src.Close()
		dst.Close()
	}
	return filepath.Join(dir, filepath.Base(path))
}

func openAt(t *testing.T, path string, opts bbolt.Options) *bbolt.DB {
	t.Helper()
	db, err := bbolt.Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func txidFile(path string) bbolt.Options { return bbolt.Options{TxidFile: path + ".txid"} }

// wantKeys checks that db holds exactly want (key → value) under the prefix "k/".
func wantKeys(t *testing.T, db storage.Backend, want map[string]string) {
	t.Helper()
	err := db.View(t.Context(), func(tx storage.Tx) error {
		got, err := tx.Scan("k/", "", 0)
		if err != nil {
			return err
		}
		if len(got) != len(want) {
			t.Errorf("%d keys, want %d", len(got), len(want))
		}
		for _, e := range got {
			if w, ok := want[e.Key]; !ok || w != string(e.Value) {
				t.Errorf("%s = %q, want %q (present: %v)", e.Key, e.Value, w, ok)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWALReplay: a batch is durable once Update returns, before any checkpoint: a start
// on what a crash leaves replays the log into the file, and a read-only open reads it
// without writing anything.
func TestWALReplay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "coffer.db")
	db := openAt(t, path, txidFile(path))
	storagetest.Put(t, db, "k/old", "in the file", "k/gone", "deleted after the checkpoint")
	if err := db.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"k/old": "in the file"}
	for i := range 20 {
		k := fmt.Sprintf("k/%02d", i)
		storagetest.Put(t, db, k, "v"+k)
		want[k] = "v" + k
	}
	if err := db.Update(t.Context(), func(tx storage.Tx) error {
		for _, k := range []string{"k/gone", "k/03", "k/absent"} {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return tx.Put("k/04", []byte("changed"))
	}); err != nil {
		t.Fatal(err)
	}
	delete(want, "k/03")
	want["k/04"] = "changed"
	before, _ := db.Txid()
	crashed := crashCopy(t, path)

	ro := openAt(t, crashed, bbolt.Options{ReadOnly: true})
	wantKeys(t, ro, want)
	if txid, _ := ro.Txid(); txid != before {
		t.Errorf("read-only open: the file holds transaction %d, want %d (nothing written)", txid, before)
	}
	ro.Close()

	re := openAt(t, crashed, txidFile(crashed))
	wantKeys(t, re, want)
	if txid, _ := re.Txid(); txid <= before {
		t.Errorf("after the start: the file holds transaction %d, want the replay committed past %d", txid, before)
	}
	re.Close()
	again := openAt(t, crashed, txidFile(crashed))
	wantKeys(t, again, want)
}

// afterBatches logs n batches (k/1 = "one", k/2 …) and returns what a crash then leaves
// (crashCopy) and where the log's second record begins.
func afterBatches(t *testing.T, n int) (crashed string, first int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "coffer.db")
	db := openAt(t, path, bbolt.Options{})
	for i := 1; i <= n; i++ {
		storagetest.Put(t, db, fmt.Sprintf("k/%d", i), []string{"", "one", "two", "three"}[i])
		if i == 1 {
			fi, err := os.Stat(path + ".wal")
			if err != nil {
				t.Fatal(err)
			}
			first = fi.Size()
		}
	}
	return crashCopy(t, path), first
}

// TestWALTornEnd: a crash while a record was written leaves it incomplete; its callers
// were never answered, and a start takes the records before it.
func TestWALTornEnd(t *testing.T) {
	crashed, first := afterBatches(t, 2)
	for _, cut := range []int64{3, 20, 40} { // in the header, in the payload
		if err := os.Truncate(crashed+".wal", first+cut); err != nil {
			t.Fatal(err)
		}
		ro := openAt(t, crashed, bbolt.Options{ReadOnly: true})
		wantKeys(t, ro, map[string]string{"k/1": "one"})
		ro.Close()
	}
}

// TestWALImplausibleLength: a header (a torn one, or old bytes behind a round) whose
// length runs past the end of the file is not a record, and nothing that long is read.
func TestWALImplausibleLength(t *testing.T) {
	crashed, first := afterBatches(t, 2)
	f, err := os.OpenFile(crashed+".wal", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff, 0xff, 0xff, 0x7f}, first); err != nil { // 2 GiB
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ro := openAt(t, crashed, bbolt.Options{ReadOnly: true})
	runtime.ReadMemStats(&after)
	wantKeys(t, ro, map[string]string{"k/1": "one"})
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("opening allocated %d MiB for a log of a few hundred bytes", grew>>20)
	}
}

// TestWALDamaged: a record that does not check, followed by records that do, is damage
// that would lose acknowledged writes: Open refuses it.
func TestWALDamaged(t *testing.T) {
	crashed, first := afterBatches(t, 3)
	f, err := os.OpenFile(crashed+".wal", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff}, first+30); err != nil { // in record 2's payload
		t.Fatal(err)
	}
	f.Close()
	if _, err := bbolt.Open(crashed, bbolt.Options{}); !errors.Is(err, bbolt.ErrCorrupt) {
		t.Fatalf("Open on a log damaged in the middle: %v, want ErrCorrupt", err)
	}
}

// TestWALOlderFile: a log that continues a newer state of the database file than the
// file at hand (the file replaced by an older copy) is refused, not replayed onto it.
func TestWALOlderFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "coffer.db")
	db := openAt(t, path, bbolt.Options{})
	storagetest.Put(t, db, "k/1", "one")
	if err := db.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	old := crashCopy(t, path)
	for _, k := range []string{"k/2", "k/3"} { // two checkpoints further: the log's rounds lie on them
		storagetest.Put(t, db, k, "later")
		if err := db.Checkpoint(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	storagetest.Put(t, db, "k/4", "four")
	newer := crashCopy(t, path)
	for _, log := range []string{".wal", ".wal.1"} {
		if err := os.Rename(newer+log, old+log); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bbolt.Open(old, bbolt.Options{}); !errors.Is(err, bbolt.ErrStale) {
		t.Fatalf("Open on a file older than its log: %v, want ErrStale", err)
	}
	// Read-only (coffer check), the log is left to the txid record to tell; accepting
	// the file as it is (coffer check --accept-stale-database) empties the log.
	ro := openAt(t, old, bbolt.Options{ReadOnly: true})
	wantKeys(t, ro, map[string]string{"k/1": "one"})
	txid, _ := ro.Txid()
	ro.Close()
	if err := bbolt.DiscardStaleWAL(old, txid); err != nil {
		t.Fatal(err)
	}
	wantKeys(t, openAt(t, old, bbolt.Options{}), map[string]string{"k/1": "one"})
}

// TestCheckpoints: the committer checkpoints by itself whenever the log reaches its
// working size, the log file stays about that size, and Views running meanwhile each
// see one state: two keys written together always agree.
func TestCheckpoints(t *testing.T) {
	bbolt.SetWALSize(t, 64<<10)
	path := filepath.Join(t.TempDir(), "coffer.db")
	db := openAt(t, path, txidFile(path))
	start, _ := db.Txid()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := db.View(t.Context(), func(tx storage.Tx) error {
					a, errA := tx.Get("k/a")
					b, errB := tx.Get("k/b")
					if (errA == nil) != (errB == nil) || string(a) != string(b) {
						t.Errorf("a View saw k/a = %q (%v) and k/b = %q (%v): written together", a, errA, b, errB)
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	value := make([]byte, 1000)
	for i := range 300 {
		if err := db.Update(t.Context(), func(tx storage.Tx) error {
			v := fmt.Appendf(value[:0], "%d", i)
			v = v[:cap(value)]
			if err := tx.Put("k/a", v); err != nil {
				return err
			}
			return tx.Put("k/b", v)
		}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if txid, _ := db.Txid(); txid-start < 3 {
		t.Errorf("%d checkpoints for 600 KB of changes through a 64 KiB log, want several", txid-start)
	}
	if fi, err := os.Stat(path + ".wal"); err != nil || fi.Size() > 72<<10 {
		t.Errorf("the log file: %v, %v; want it to stay near 64 KiB", fi.Size(), err)
	}
}

// TestJournal: a line given to Journal is in the log with the next batch; a start on what
// a crash leaves gives it to Options.Restore before the log lets go of it, and refuses
// to start without one; a checkpoint runs Options.BeforeCheckpoint first, and does not
// happen when it fails.
func TestJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "coffer.db")
	syncErr := errors.New("audit log unwritable")
	var failSync bool
	syncs := 0
	db := openAt(t, path, bbolt.Options{BeforeCheckpoint: func() error {
		if failSync {
			return syncErr
		}
		syncs++
		return nil
	}})
	db.Journal([]byte("request 1\n"))
	storagetest.Put(t, db, "k/1", "one")
	db.Journal([]byte("request 2\n"))
	storagetest.Put(t, db, "k/2", "two")
	db.Journal([]byte("request 3, its change never made\n"))
	crashed := crashCopy(t, path)

	if _, err := bbolt.Open(crashed, bbolt.Options{}); err == nil || !strings.Contains(err.Error(), "start the server") {
		t.Fatalf("Open without Restore on a log holding journaled lines: %v, want a refusal", err)
	}
	var restored []string
	re := openAt(t, crashed, bbolt.Options{Restore: func(lines [][]byte) error {
		for _, l := range lines {
			restored = append(restored, string(l))
		}
		return nil
	}})
	if got := strings.Join(restored, ""); got != "request 1\nrequest 2\n" {
		t.Errorf("Restore got %q, want the two lines logged with a batch", got)
	}
	wantKeys(t, re, map[string]string{"k/1": "one", "k/2": "two"})

	failSync = true
	if err := db.Checkpoint(t.Context()); !errors.Is(err, syncErr) {
		t.Fatalf("Checkpoint with BeforeCheckpoint failing: %v", err)
	}
	ro := openAt(t, crashCopy(t, path), bbolt.Options{ReadOnly: true}) // the log still holds them
	wantKeys(t, ro, map[string]string{"k/1": "one", "k/2": "two"})
	failSync = false
	if err := db.Checkpoint(t.Context()); err != nil || syncs != 1 {
		t.Fatalf("Checkpoint: %v, %d syncs; want 1", err, syncs)
	}
}

// TestJournalWithoutChanges: lines that no change follows (requests refused after their
// record) do not pile up in memory: once many wait, they are logged on their own.
func TestJournalWithoutChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "coffer.db")
	db := openAt(t, path, bbolt.Options{})
	const n = 3000
	for i := range n {
		db.Journal(fmt.Appendf(nil, "request %d\n", i))
	}
	// Lines given while a flush is on its way wait for the next Journal to start one.
	bbolt.WaitIdle(t, db)
	db.Journal([]byte("one more\n"))
	bbolt.WaitIdle(t, db)
	var got int
	openAt(t, crashCopy(t, path), bbolt.Options{Restore: func(lines [][]byte) error {
		got = len(lines)
		return nil
	}})
	if got < n+1-1024 {
		t.Errorf("%d of %d lines logged without a change; want all but fewer than 1,024", got, n+1)
	}
}

// TestWALLargeBatch: a batch larger than the log's working size is one record all the
// same (the file grows for it), and replays whole.
func TestWALLargeBatch(t *testing.T) {
	bbolt.SetWALSize(t, 64<<10)
	path := filepath.Join(t.TempDir(), "coffer.db")
	db := openAt(t, path, bbolt.Options{})
	want := map[string]string{}
	value := strings.Repeat("v", 1000)
	if err := db.Update(t.Context(), func(tx storage.Tx) error {
		for i := range 300 { // about 300 KB, over four times the working size
			k := fmt.Sprintf("k/%03d", i)
			want[k] = value
			if err := tx.Put(k, []byte(value)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	storagetest.Put(t, db, "k/after", "the checkpoint it calls for")
	want["k/after"] = "the checkpoint it calls for"
	storagetest.Put(t, db, "k/last", "logged after the checkpoint")
	want["k/last"] = "logged after the checkpoint"
	crashed := crashCopy(t, path)
	ro := openAt(t, crashed, bbolt.Options{ReadOnly: true})
	wantKeys(t, ro, want)
	ro.Close()
	wantKeys(t, openAt(t, crashed, bbolt.Options{}), want)
}

// TestCheckpointBeside: a checkpoint runs beside the committer. While it has not
// committed, batches go on into the next round of the log (in its other file), and what a
// crash then leaves replays both rounds; a checkpoint that fails is tried again later,
// and nothing is lost meanwhile.
func TestCheckpointBeside(t *testing.T) {
	bbolt.SetWALSize(t, 16<<10)
	path := filepath.Join(t.TempDir(), "coffer.db")
	hold, fail := make(chan struct{}), make(chan bool, 64)
	db := openAt(t, path, bbolt.Options{BeforeCheckpoint: func() error {
		<-hold
		if <-fail {
			return errors.New("not now")
		}
		return nil
	}})
	want := map[string]string{}
	value := strings.Repeat("v", 1000)
	put := func(from, to int) {
		for i := from; i < to; i++ {
			k := fmt.Sprintf("k/%03d", i)
			storagetest.Put(t, db, k, value)
			want[k] = value
		}
	}
	put(0, 20) // past 16 KiB: the next batch freezes the round and starts its checkpoint
	put(20, 30)
	// The checkpoint waits in BeforeCheckpoint: the file holds none of it yet.
	crashed := crashCopy(t, path)
	re := openAt(t, crashed, bbolt.Options{})
	wantKeys(t, re, want)
	re.Close()

	fail <- true // the first checkpoint fails …
	for range 8 {
		fail <- false // … and the next ones succeed
	}
	close(hold)
	put(30, 60) // the round fills again: the committer tries again, and goes on
	wantKeys(t, db, want)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wantKeys(t, openAt(t, path, bbolt.Options{}), want)
}

// TestLogFlushFails: a record written whose flush fails may or may not come back at the
// next start, so its batch fails with an error that does not say "nothing was written",
// every later write is refused (and the lines journaled meanwhile are not kept, since no
// change can follow them) while reads go on, and writes work again once the store is
// opened again.
func TestLogFlushFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "coffer.db")
	db := openAt(t, path, bbolt.Options{})
	storagetest.Put(t, db, "k/a", "acknowledged")
	eio := errors.New("input/output error")
	restore := bbolt.FailLogFlush(t, eio)
	put := func(k string) error {
		return db.Update(t.Context(), func(tx storage.Tx) error { return tx.Put(k, []byte("v")) })
	}
	if err := put("k/b"); !errors.Is(err, eio) || storage.Temporary(err) {
		t.Fatalf("Update whose flush failed: %v, want the flush's error, not a temporary refusal", err)
	}
	restore()
	if err := put("k/c"); err == nil {
		t.Fatal("an Update after a failed flush succeeded")
	}
	db.Journal([]byte("a request record\n"))
	if n := bbolt.PendingLines(db); n != 0 {
		t.Errorf("%d journaled lines kept by a store that refuses writes", n)
	}
	if err := db.View(t.Context(), func(tx storage.Tx) error {
		v, err := tx.Get("k/a")
		if err == nil && string(v) != "acknowledged" {
			t.Errorf("k/a = %q", v)
		}
		return err
	}); err != nil {
		t.Fatalf("a read after a failed flush: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path, bbolt.Options{})
	if err := put("k/d"); err != nil {
		t.Fatalf("an Update once opened again: %v", err)
	}
}

// TestCheckpointsKeepFailing: while checkpoints fail, batches go on in the log until its
// round holds twice its working size; then they are refused, the file unchanged, and
// every write acknowledged before is still read and survives a crash.
func TestCheckpointsKeepFailing(t *testing.T) {
	bbolt.SetWALSize(t, 16<<10)
	path := filepath.Join(t.TempDir(), "coffer.db")
	full := errors.New("audit disk full")
	db := openAt(t, path, bbolt.Options{BeforeCheckpoint: func() error { return full }})
	start, _ := db.Txid()
	want := map[string]string{}
	value := strings.Repeat("v", 1000)
	var refused error
	for i := 0; i < 100 && refused == nil; i++ {
		k := fmt.Sprintf("k/%03d", i)
		if refused = db.Update(t.Context(), func(tx storage.Tx) error { return tx.Put(k, []byte(value)) }); refused == nil {
			want[k] = value
		}
	}
	if !errors.Is(refused, full) {
		t.Fatalf("Updates while checkpoints fail: %v, want them refused with the checkpoint's error at last", refused)
	}
	if n := len(want); n < 2*16 || n > 4*16+2 {
		t.Errorf("%d writes of 1 KB taken before the refusal; want about two rounds of 16 KiB", n)
	}
	if txid, _ := db.Txid(); txid != start {
		t.Errorf("the file moved from transaction %d to %d although every checkpoint failed", start, txid)
	}
	wantKeys(t, db, want)
	wantKeys(t, openAt(t, crashCopy(t, path), bbolt.Options{}), want)
}

// TestDeleteOfANewKey: a key written and deleted before a checkpoint leaves nothing in
// the overlay (a scan would walk over a deletion kept for it until the checkpoint); a key
// the file holds keeps its deletion there until the checkpoint writes it.
func TestDeleteOfANewKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "coffer.db")
	db := openAt(t, path, bbolt.Options{})
	storagetest.Put(t, db, "k/old", "in the file")
	if err := db.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	storagetest.Put(t, db, "k/new", "only in the log")
	del := func(k string) {
		if err := db.Update(t.Context(), func(tx storage.Tx) error { return tx.Delete(k) }); err != nil {
			t.Fatal(err)
		}
	}
	del("k/new")
	if n := bbolt.OverlayLen(db); n != 0 {
		t.Errorf("after a new key's write and delete the overlay holds %d keys, want none", n)
	}
	del("k/old")
	if n := bbolt.OverlayLen(db); n != 1 {
		t.Errorf("after the delete of a key the file holds, the overlay holds %d keys, want its deletion", n)
	}
	wantKeys(t, db, map[string]string{})
	wantKeys(t, openAt(t, crashCopy(t, path), bbolt.Options{ReadOnly: true}), map[string]string{})
}
