package vault

import (
	"testing"
	"time"
)

// SetPageSkipLimit sets how many left-out records a listing page reads, until the test ends.
func SetPageSkipLimit(t testing.TB, n int) {
	old := pageSkipLimit
	pageSkipLimit = n
	t.Cleanup(func() { pageSkipLimit = old })
}

// SetImportBatch sets how many records one import staging transaction writes, until the
// test ends.
func SetImportBatch(t testing.TB, n int) {
	old := importBatch
	importBatch = n
	t.Cleanup(func() { importBatch = old })
}

// SetSweepBatch sets how many purges one sweep transaction carries out, until the test
// ends.
func SetSweepBatch(t testing.TB, n int) {
	old := sweepBatch
	sweepBatch = n
	t.Cleanup(func() { sweepBatch = old })
}

// SetSweepPace sets the sweeper's work per transaction and its share of a processor
// while requests are served, until the test ends.
func SetSweepPace(t testing.TB, slice time.Duration, share float64) {
	oldSlice, oldShare := sweepSlice, sweepShare
	sweepSlice, sweepShare = slice, share
	t.Cleanup(func() { sweepSlice, sweepShare = oldSlice, oldShare })
}
