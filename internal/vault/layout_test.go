package vault

import (
	"fmt"
	"testing"
	"time"
)

// dueKey writes what its Sprintf form writes, and parseDueKey reads it back; keys that
// are not five parts after the prefix are malformed.
func TestDueKeyRoundTrip(t *testing.T) {
	for _, at := range []time.Time{time.Unix(0, 0), time.Unix(1, 0), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), time.Unix(999_999_999_999, 0), time.Unix(1_000_000_000_000, 0), time.Unix(-5, 0)} {
		key := dueKey(at, actionPurge, "VaultA", KindSecret, "Name-1")
		want := fmt.Sprintf("%s%012d/%s/%s/%s/%s", duePrefix, at.Unix(), actionPurge, "vaulta", KindSecret, "name-1")
		if key != want {
			t.Errorf("dueKey(%v) = %q, want %q", at, key, want)
		}
		e, ok := parseDueKey(key)
		if !ok || e.at != at.Unix() || e.action != actionPurge || e.vault != "vaulta" || e.kind != KindSecret || e.name != "name-1" || e.key != key {
			t.Errorf("parseDueKey(%q) = %+v, %v", key, e, ok)
		}
	}
	for _, bad := range []string{"due/", "due/1/purge/v/secret", "due/1/purge/v/secret/n/x", "due/x/purge/v/secret/n", "other/1/purge/v/secret/n"} {
		if e, ok := parseDueKey(bad); ok {
			t.Errorf("parseDueKey(%q) = %+v, want malformed", bad, e)
		}
	}
}
