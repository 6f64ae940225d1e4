package bbolt

import (
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
