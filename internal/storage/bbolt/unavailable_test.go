package bbolt

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
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
			err := db.commitError(tc.err)
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
}
