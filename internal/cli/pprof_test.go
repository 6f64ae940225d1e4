package cli

import (
	"log/slog"
	"strings"
	"testing"
)

// The profiler has no authentication: only a loopback address is accepted.
func TestPprofOnlyOnLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:6060", ":6060", "192.0.2.1:6060", "localhost:6060", "6060"} {
		err := startPprof(addr, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), "--debug-pprof-addr") {
			t.Errorf("%s: got %v, want a refusal", addr, err)
		}
	}
	if err := startPprof("127.0.0.1:0", slog.New(slog.DiscardHandler)); err != nil {
		t.Errorf("127.0.0.1:0: %v", err)
	}
}
