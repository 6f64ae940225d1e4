package identity

import (
	"fmt"
	"testing"
	"time"
)

// TestThrottleTablesBounded: however many addresses and made-up client ids fail, the
// slow-down's tables stay within maxThrottleKeys.
func TestThrottleTablesBounded(t *testing.T) {
	th := newThrottle(ThrottleOptions{})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for range 10 {
		th.failed(now, "192.0.2.1", "victim")
	}
	if w, by := th.check(now, "192.0.2.1", "other"); w <= 0 || by != "source" {
		t.Fatalf("the guessing address is not slowed down: %v %q", w, by)
	}
	// Much later, a flood of one failure each from new addresses with new client ids.
	later := now.Add(30 * time.Second)
	for i := range maxThrottleKeys + 5000 {
		th.failed(later, fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), fmt.Sprintf("made-up-%d", i))
	}
	if len(th.sources) > maxThrottleKeys || len(th.clients) > maxThrottleKeys {
		t.Fatalf("tables grew to %d sources and %d clients, bound %d", len(th.sources), len(th.clients), maxThrottleKeys)
	}
}
