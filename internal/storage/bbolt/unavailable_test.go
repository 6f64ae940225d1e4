package bbolt

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/coffer/coffer/internal/storage"
)

// TestCommitErrorDiskFull: a commit that failed for want of space (ENOSPC, EDQUOT, also
// when bbolt's own wording dropped the errno) wraps storage.ErrUnavailable and is logged
// once until a commit succeeds again; any other failure is a plain error.
func TestCommitErrorDiskFull(t *testing.T) {
	var log bytes.Buffer
	db := &DB{path: "coffer.db", log: slog.New(slog.NewTextHandler(&log, nil))}
	for _, tc := range []struct {
		name string
		err  error
		full bool
	}{
		{"enospc", &os.PathError{Op: "write", Path: "coffer.db", Err: syscall.ENOSPC}, true},
		{"edquot", &os.PathError{Op: "write", Path: "coffer.db", Err: syscall.EDQUOT}, true},
		{"grow", fmt.Errorf("file resize error: %s", &os.PathError{Op: "truncate", Path: "coffer.db", Err: syscall.ENOSPC}), true},
		{"eio", &os.PathError{Op: "write", Path: "coffer.db", Err: syscall.EIO}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.commitError(tc.err, false)
			if errors.Is(err, storage.ErrUnavailable) != tc.full {
				t.Errorf("commitError(%v) = %v; ErrUnavailable %v, want %v", tc.err, err, !tc.full, tc.full)
			}
			if !strings.Contains(err.Error(), tc.err.Error()) {
				t.Errorf("commitError(%v) = %v: the cause is lost", tc.err, err)
			}
		})
	}
	if n := strings.Count(log.String(), "the disk holding the database file is full"); n != 1 {
		t.Errorf("logged the full disk %d times, want once:\n%s", n, &log)
	}
	// A commit whose meta page was written before its flush failed may be on disk: it
	// is not a temporary refusal that wrote nothing.
	full := &os.PathError{Op: "sync", Path: "coffer.db", Err: syscall.ENOSPC}
	if err := db.commitError(full, true); errors.Is(err, storage.ErrUnavailable) || !strings.Contains(err.Error(), "unknown") {
		t.Errorf("a commit that landed: %v", err)
	}
}

// TestTxidRecordNeverLeads: the record is written after the commit is on disk and before
// the callers are answered, so at every moment it names the file's transaction or the
// one before (a crash in between leaves it one behind, which Open accepts), never one the
// file does not hold.
func TestTxidRecordNeverLeads(t *testing.T) {
	dir := t.TempDir()
	path, rec := filepath.Join(dir, "coffer.db"), filepath.Join(dir, "coffer.db.txid")
	db, err := Open(path, Options{TxidFile: rec})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	seen := 0
	db.beforeRecord = func(txid uint64) {
		seen++
		rep, err := Verify(path) // what a restart would find on disk now
		if err != nil {
			t.Fatal(err)
		}
		recorded, _, err := ReadTxidRecord(rec)
		if err != nil || rep.Txid != txid || recorded != txid-1 {
			t.Errorf("between commit %d and its record: the file holds %d, the record names %d (%v); want %d and %d", txid, rep.Txid, recorded, err, txid, txid-1)
		}
	}
	for i := range 5 {
		if err := db.Update(t.Context(), func(tx storage.Tx) error { return tx.Put(fmt.Sprint(i), nil) }); err != nil {
			t.Fatal(err)
		}
		if err := db.Checkpoint(t.Context()); err != nil {
			t.Fatal(err)
		}
		txid, _ := db.Txid()
		if recorded, _, _ := ReadTxidRecord(rec); recorded != txid {
			t.Errorf("after Update returned: the record names %d, the file holds %d", recorded, txid)
		}
	}
	if seen != 5 {
		t.Errorf("%d commits recorded, want 5", seen)
	}
}
