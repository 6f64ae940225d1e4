package bbolt

import (
	"os"
	"runtime"
	"testing"
)

// SetNoFreelistSync opens files with bbolt's NoFreelistSync until the test ends: the free
// list rebuilt at open instead of written with every commit.
func SetNoFreelistSync(tb testing.TB, on bool) {
	old := noFreelistSync
	noFreelistSync = on
	tb.Cleanup(func() { noFreelistSync = old })
}

// SetMaxSyncedFreePages sets the largest free list written with every commit until the
// test ends.
func SetMaxSyncedFreePages(tb testing.TB, n int) {
	old := maxSyncedFreePages
	maxSyncedFreePages = n
	tb.Cleanup(func() { maxSyncedFreePages = old })
}

// SetWALSize sets the length of log after which the committer checkpoints, until the test
// ends.
func SetWALSize(tb testing.TB, n int64) {
	old := walSize
	walSize = n
	tb.Cleanup(func() { walSize = old })
}

// WaitIdle waits until no request to log the journaled lines on their own is on its way.
func WaitIdle(tb testing.TB, db *DB) {
	for db.flushing.Load() {
		runtime.Gosched()
	}
}

// FailLogFlush makes every flush of a log record fail with err until the test ends or
// the returned function is called.
func FailLogFlush(tb testing.TB, err error) (restore func()) {
	old := flushLog
	flushLog = func(*os.File) error { return err }
	restore = func() { flushLog = old }
	tb.Cleanup(restore)
	return restore
}

// OverlayLen is how many keys the live overlay holds (read it between batches).
func OverlayLen(db *DB) int { return db.live.Len() }

// PendingLines is how many journaled lines wait for a record.
func PendingLines(db *DB) int {
	db.notesMu.Lock()
	defer db.notesMu.Unlock()
	return len(db.notes)
}
