package cli

import (
	"runtime/debug"
	"testing"
)

// TestServerGCPercent: the server runs the collector at serverGCPercent unless GOGC is
// set, and then leaves it as GOGC says.
func TestServerGCPercent(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })

	t.Setenv("GOGC", "")
	setGCPercent()
	if got := debug.SetGCPercent(100); got != serverGCPercent {
		t.Errorf("GOGC unset: the collector runs at %d; want %d", got, serverGCPercent)
	}

	t.Setenv("GOGC", "100")
	setGCPercent()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC=100: the collector runs at %d; want 100", got)
	}
}
