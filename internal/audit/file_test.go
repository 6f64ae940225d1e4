package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/audit"
)

func openFile(t *testing.T, opts audit.FileOptions) *audit.File {
	t.Helper()
	l, err := audit.OpenFile(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func readLines(t *testing.T, paths ...string) []audit.Event {
	t.Helper()
	var out []audit.Event
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var e audit.Event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("%s: line %q: %v", p, sc.Text(), err)
			}
			out = append(out, e)
		}
		f.Close()
	}
	return out
}

// record records event(i) in l, or fails t.
func record(t *testing.T, l *audit.File, i int) {
	t.Helper()
	if err := l.Record(t.Context(), event(i)); err != nil {
		t.Fatal(err)
	}
}

func event(i int) audit.Event {
	return audit.Event{Time: time.Unix(1700000000, 0).UTC(), Phase: "outcome", RequestID: fmt.Sprintf("req-%05d", i),
		Principal: audit.Principal{ClientID: "c", ObjectID: "o"}, Operation: "GetSecret", ObjectID: "secrets/x", Status: 200}
}

func TestFileWritesDurableJSONLines(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	path := filepath.Join(dir, "audit.log")
	l := openFile(t, audit.FileOptions{Path: path})
	record(t, l, 1)
	got := readLines(t, path)
	if len(got) != 1 || got[0].RequestID != "req-00001" || got[0].Operation != "GetSecret" {
		t.Fatalf("records %+v", got)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
}

// TestFileConcurrentWriters: 64 writers share the committer; every record is written
// whole, once.
func TestFileConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openFile(t, audit.FileOptions{Path: path})
	const writers, each = 64, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := l.Record(context.Background(), event(w*each+i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, e := range readLines(t, path) {
		if seen[e.RequestID] {
			t.Errorf("record %s twice", e.RequestID)
		}
		seen[e.RequestID] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("%d records, want %d", len(seen), writers*each)
	}
}

func TestFileRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	line, _ := json.Marshal(event(0))
	l := openFile(t, audit.FileOptions{Path: path, MaxSize: int64(len(line)+1) * 10, Keep: 2})
	for i := range 45 {
		record(t, l, i)
	}
	l.Close()
	if _, err := os.Stat(path + ".3"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("audit.log.3 exists beyond Keep=2: %v", err)
	}
	// Newest last: audit.log.2, audit.log.1, audit.log hold the last 25 records in order.
	got := readLines(t, path+".2", path+".1", path)
	if len(got) != 25 {
		t.Fatalf("%d records kept, want 25", len(got))
	}
	for i, e := range got {
		if want := fmt.Sprintf("req-%05d", 20+i); e.RequestID != want {
			t.Fatalf("record %d is %s, want %s", i, e.RequestID, want)
		}
	}
}

// TestFileFailsClosed: a log whose directory is removed, or a device that refuses
// writes, makes Record fail; the log recovers once its directory is back.
func TestFileFailsClosed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	path := filepath.Join(dir, "audit.log")
	l := openFile(t, audit.FileOptions{Path: path})
	record(t, l, 1)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(t.Context(), event(2)); err == nil {
		t.Fatal("Record succeeded with the log's directory removed")
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(t.Context(), event(3)); err != nil {
		t.Fatalf("Record after the directory came back: %v", err)
	}
	if got := readLines(t, path); len(got) != 1 || got[0].RequestID != "req-00003" {
		t.Fatalf("records %+v", got)
	}

	if _, err := os.Stat("/dev/full"); err == nil {
		full := openFile(t, audit.FileOptions{Path: "/dev/full"})
		if err := full.Record(t.Context(), event(4)); err == nil {
			t.Error("Record on /dev/full succeeded")
		}
	}
}

func TestFileRepairsTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(path, []byte(`{"time":"2024-01-01T00:00:00Z","pha`), 0o600); err != nil {
		t.Fatal(err)
	}
	l := openFile(t, audit.FileOptions{Path: path})
	record(t, l, 1)
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "req-00001") {
		t.Fatalf("file %q", b)
	}
}

func TestFileStdoutAndClose(t *testing.T) {
	var buf bytes.Buffer
	l := openFile(t, audit.FileOptions{Path: "-", Stdout: &buf})
	record(t, l, 7)
	l.Close()
	if !strings.Contains(buf.String(), `"id":"req-00007"`) || !strings.HasSuffix(buf.String(), "\n") {
		t.Fatalf("stdout %q", buf.String())
	}
	if err := l.Record(t.Context(), event(8)); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("Record after Close: %v, want ErrClosed", err)
	}
}

func BenchmarkFileRecordParallel(b *testing.B) {
	l, err := audit.OpenFile(audit.FileOptions{Path: filepath.Join(b.TempDir(), "audit.log")})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Record(context.Background(), event(1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestFileHandsOffOutcomes: with HandOffOutcomes an outcome record returns at once and
// is written by a later batch or at Close; request records still wait to be durable.
func TestFileHandsOffOutcomes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit", "audit.log")
	l, err := audit.OpenFile(audit.FileOptions{Path: path, HandOffOutcomes: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if err := l.Record(t.Context(), audit.Event{Phase: "outcome", Operation: "GetSecret", Status: 200 + i%2}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Record(t.Context(), audit.Event{Phase: "request", Operation: "SetSecret"}); err != nil {
		t.Fatal(err)
	}
	// The request record is durable when Record returns.
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), `"op":"SetSecret"`) {
		t.Fatalf("request record not on disk: %s", b)
	}
	l.Close()
	b, _ = os.ReadFile(path)
	if n := strings.Count(string(b), `"op":"GetSecret"`); n != 100 {
		t.Fatalf("%d of 100 outcome records written by Close", n)
	}
}

// TestFileKeepsTheOrderOfRecords: a handed-off outcome is written before a record that
// came after it (a client's next request follows the answer to its last one), although
// the two travel apart to the committer.
func TestFileKeepsTheOrderOfRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := audit.OpenFile(audit.FileOptions{Path: path, HandOffOutcomes: true})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		if err := l.Record(t.Context(), audit.Event{Phase: "outcome", Operation: "Get", Status: i}); err != nil {
			t.Fatal(err)
		}
		if err := l.Record(t.Context(), audit.Event{Phase: "request", Operation: "Set", Status: i}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2*n {
		t.Fatalf("%d lines, want %d", len(lines), 2*n)
	}
	for i, line := range lines {
		var e audit.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		wantOp := "Get"
		if i%2 == 1 {
			wantOp = "Set"
		}
		if e.Operation != wantOp || e.Status != i/2 {
			t.Fatalf("line %d is %s %d, want %s %d", i, e.Operation, e.Status, wantOp, i/2)
		}
	}
}

// TestFileDefersTheFsyncOfOutcomes: batches of handed-off outcomes alone are written at
// once but fsynced together, OutcomeSyncDelay after the first at most (without Close);
// a request record is durable when its Record returns, with the outcomes before it.
func TestFileDefersTheFsyncOfOutcomes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := audit.OpenFile(audit.FileOptions{Path: path, HandOffOutcomes: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	before := audit.Fsyncs(l)
	const n = 2000
	for i := range n {
		if err := l.Record(t.Context(), audit.Event{Phase: "outcome", Operation: "GetSecret", Status: i}); err != nil {
			t.Fatal(err)
		}
	}
	// Written without Close (a crash of the process loses none of them)...
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if strings.Count(string(b), `"op":"GetSecret"`) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d outcomes written after 5 s", strings.Count(string(b), `"op":"GetSecret"`), n)
		}
		runtime.Gosched()
	}
	// ...and fsynced within OutcomeSyncDelay, in far fewer fsyncs than batches.
	for audit.Fsyncs(l) == before {
		if time.Now().After(deadline) {
			t.Fatalf("outcomes not fsynced %v after they were written", 5*time.Second)
		}
		runtime.Gosched()
	}
	if got := audit.Fsyncs(l) - before; got > n/20 {
		t.Errorf("%d fsyncs for %d outcomes; want them shared", got, n)
	}
	synced := audit.Fsyncs(l)
	if err := l.Record(t.Context(), audit.Event{Phase: "request", Operation: "SetSecret"}); err != nil {
		t.Fatal(err)
	}
	if audit.Fsyncs(l) == synced {
		t.Error("a request record returned before an fsync")
	}
}

// TestFileJournal: with a journal set, the request record of a stored change is written
// and handed to the journal without an fsync of its own; any other record still waits
// for its fsync; Sync makes everything written durable; Restore writes back the journaled
// lines the file lacks, once.
func TestFileJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openFile(t, audit.FileOptions{Path: path})
	var journaled [][]byte
	l.SetJournal(func(line []byte) { journaled = append(journaled, line) })

	stored := event(1)
	stored.Phase, stored.Stored, stored.Operation = "request", true, "SetSecret"
	before := audit.Fsyncs(l)
	if err := l.Record(t.Context(), stored); err != nil {
		t.Fatal(err)
	}
	if got := audit.Fsyncs(l) - before; got != 0 || len(journaled) != 1 {
		t.Fatalf("a stored change's request record: %d fsyncs, %d lines journaled; want 0 and 1", got, len(journaled))
	}
	if got := readLines(t, path); len(got) != 1 || got[0].RequestID != "req-00001" {
		t.Fatalf("not written before Record returned: %+v", got)
	}
	plain := event(2)
	plain.Phase, plain.Operation = "request", "ExportVault"
	before = audit.Fsyncs(l)
	if err := l.Record(t.Context(), plain); err != nil {
		t.Fatal(err)
	}
	if got := audit.Fsyncs(l) - before; got != 1 || len(journaled) != 1 {
		t.Fatalf("another request record: %d fsyncs, %d lines journaled; want 1 and still 1", got, len(journaled))
	}
	before = audit.Fsyncs(l)
	if err := l.Sync(); err != nil || audit.Fsyncs(l)-before != 1 {
		t.Fatalf("Sync: %v, %d fsyncs", err, audit.Fsyncs(l)-before)
	}

	// A line the file holds is not written again; one it lacks is, and synced.
	lost := event(3)
	lost.Phase, lost.Stored, lost.Operation = "request", true, "SetSecret"
	l2 := openFile(t, audit.FileOptions{Path: filepath.Join(t.TempDir(), "other.log")})
	var lostLine []byte
	l2.SetJournal(func(line []byte) { lostLine = line })
	if err := l2.Record(t.Context(), lost); err != nil {
		t.Fatal(err)
	}
	n, err := l.Restore([][]byte{journaled[0], lostLine})
	if err != nil || n != 1 {
		t.Fatalf("Restore: %d lines written back, %v; want 1", n, err)
	}
	var ids []string
	for _, e := range readLines(t, path) {
		ids = append(ids, e.RequestID)
	}
	if strings.Join(ids, " ") != "req-00001 req-00002 req-00003" {
		t.Errorf("after Restore the file holds %v", ids)
	}
}
