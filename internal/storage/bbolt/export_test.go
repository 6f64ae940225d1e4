package bbolt

import "testing"

// SetNoFreelistSync opens files with bbolt's NoFreelistSync until the test ends: the free
// list rebuilt at open instead of written with every commit.
func SetNoFreelistSync(tb testing.TB, on bool) {
	old := noFreelistSync
	noFreelistSync = on
	tb.Cleanup(func() { noFreelistSync = old })
}
