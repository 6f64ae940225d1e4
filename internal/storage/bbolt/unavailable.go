package bbolt

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/coffer/coffer/internal/storage"
)

// A commit that fails for want of disk space is a temporary condition, not a fault: bbolt
// rolls the transaction back before its meta page is written, so the file still holds
// exactly the transactions committed before, and the next commit is tried afresh (there
// is nothing to reopen). The batch's callers get an error wrapping
// [storage.ErrUnavailable], which the planes answer with 503 and Retry-After; the
// committer carries on, and writes succeed again once space is freed.

// commitError is the error every caller of a failed batch gets. A full disk or quota is
// logged once when it begins (and once when it ends, see commit), not once per request.
// landed reports that the failed transaction is visible all the same: its meta page was
// written and only its flush failed (a copy-on-write file system may say ENOSPC there).
// Whether it is on disk is then unknown, and the callers must not be told that nothing
// was written.
func (db *DB) commitError(err error, landed bool) error {
	if landed {
		return fmt.Errorf("bbolt: commit: the transaction's meta page was written but not flushed, so whether it is on disk is unknown: %w", err)
	}
	if !diskFull(err) {
		return fmt.Errorf("bbolt: commit: %w", err)
	}
	if !db.full.Swap(true) {
		db.log.Error("the disk holding the database file is full: writes are refused (503, nothing is written) until space is freed; reads go on, and nothing acknowledged is lost",
			"path", db.path, "err", err)
	}
	return fmt.Errorf("bbolt: commit: %w: %w", storage.ErrUnavailable, err)
}

// diskFull reports whether err says that the file system had no room for the file: the
// disk (ENOSPC) or the user's quota (EDQUOT) is full.
func diskFull(err error) bool {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	// bbolt words the failure to grow the file with %s, which drops the errno.
	msg := err.Error()
	return strings.Contains(msg, syscall.ENOSPC.Error()) || strings.Contains(msg, syscall.EDQUOT.Error())
}
