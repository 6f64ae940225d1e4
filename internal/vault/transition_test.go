package vault_test

import (
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/vault"
)

// TestEveryTransitionEndsWithItsSideEffects: each way a lifecycle transition happens —
// by hand, by the sweeper, when a name is taken again, with its vault — leaves its ledger
// entry and its webhook notice (the store check at the end covers the purge entries).
func TestEveryTransitionEndsWithItsSideEffects(t *testing.T) {
	h := armHarness(t)
	r := h.s.Internal()
	h.armVault("kv1", 7, false)
	h.armVault("kv2", 7, false)
	for _, v := range []string{"kv1", "kv2"} {
		subscribeTo(t, h.s, v, "hook-"+v, time.Hour)
	}
	for _, o := range []struct{ vault, name string }{{"kv1", "byhand"}, {"kv1", "swept"}, {"kv1", "reused"}, {"kv2", "inside"}} {
		_, err := r.SetSecret(bg, o.vault, o.name, vault.SecretParams{Value: "x"})
		must(t, err)
		_, err = r.Secrets().Delete(bg, o.vault, o.name)
		must(t, err)
	}
	must(t, r.Secrets().Purge(bg, "kv1", "byhand"))
	h.advance(7*24*time.Hour + time.Minute)
	_, err := r.SetSecret(bg, "kv1", "reused", vault.SecretParams{Value: "y"}) // before the sweeper
	must(t, err)
	_, _, err = r.DeleteVault(bg, "kv2")
	must(t, err)
	h.advance(7*24*time.Hour + time.Minute)
	_, _, err = r.CreateOrUpdateVault(bg, "kv2", sub1) // the deleted kv2 is past its date
	must(t, err)
	// Only "swept" is left for the sweeper: kv2's purge took "inside" with it.
	if n := h.sweep(); n != 1 {
		t.Fatalf("sweep acted %d times", n)
	}

	got := summary(ledgerEntries(t, h.s, ledger.Filter{}))
	for _, want := range []string{
		"purge secret byhand by sweeper", "auto-purge secret reused by sweeper", "auto-purge secret swept by sweeper",
		"delete vault kv2 by sweeper", "auto-purge vault kv2 by sweeper",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("ledger lacks %q:\n%s", want, got)
		}
	}
	notices := outbox(t, h.st)
	for _, want := range []string{"SecretPurged(byhand)", "SecretPurged(reused)", "SecretPurged(swept)", "SecretPurged(inside)", "VaultPurged(kv2)"} {
		if !strings.Contains(notices, want) {
			t.Errorf("outbox lacks %s: %s", want, notices)
		}
	}
}
