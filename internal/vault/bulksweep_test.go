package vault_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/vault"
)

// TestBulkSweepExactlyOnce: the sweeper purges many overdue objects per transaction; each
// still gets exactly one ledger entry and one Purged notice per subscription, a recovered
// object none, and several sweepers at once purge each exactly once between them.
// Batches of 7 make the 45 overdue objects span batches of different fill.
func TestBulkSweepExactlyOnce(t *testing.T) {
	vault.SetSweepBatch(t, 7)
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	sub := subscribeTo(t, h.s, "v", "hook", time.Hour)
	const overdue = 45
	for i := range overdue + 5 {
		n := fmt.Sprintf("s%03d", i)
		_, err := r.SetSecret(bg, "v", n, vault.SecretParams{Value: n})
		must(t, err)
		_, err = r.Secrets().Delete(bg, "v", n)
		must(t, err)
	}
	for i := overdue; i < overdue+5; i++ { // recovered: never purged
		_, err := r.Secrets().Recover(bg, "v", fmt.Sprintf("s%03d", i))
		must(t, err)
	}
	// A key, its purge due in the same second: another kind in the same batches.
	_, err := r.CreateKey(bg, "v", "k", vault.KeyParams{Kty: "EC"})
	must(t, err)
	_, err = r.Keys().Delete(bg, "v", "k")
	must(t, err)
	h.advance(7*24*time.Hour + time.Minute)

	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := h.s.Sweep(bg)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != overdue+1 {
		t.Fatalf("the sweepers purged %d objects between them, want %d", total, overdue+1)
	}
	if n := h.sweep(); n != 0 {
		t.Fatalf("a sweep after the backlog purged %d more", n)
	}
	var auto []ledger.Entry
	seen := map[string]int{}
	for _, e := range ledgerEntries(t, h.s, ledger.Filter{Limit: 10000}) {
		if e.Action == ledger.ActionAutoPurge {
			auto = append(auto, e)
			seen[e.Kind+"/"+e.Name]++
		}
	}
	if len(auto) != overdue+1 || len(seen) != overdue+1 {
		t.Fatalf("%d auto-purge entries for %d objects, want one each of %d:\n%s", len(auto), len(seen), overdue+1, summary(auto))
	}
	if res := verifyLedger(t, h.s); res.Count == 0 {
		t.Fatal("the ledger verifies empty")
	}
	box := outbox(t, h.st, sub)
	notices := strings.Count(box, "SecretPurged(") + strings.Count(box, "KeyPurged(")
	if notices != overdue+1 {
		t.Fatalf("%d Purged notices, want %d: %s", notices, overdue+1, outbox(t, h.st, sub))
	}
	for i := overdue; i < overdue+5; i++ {
		if _, err := r.GetSecret(bg, "v", fmt.Sprintf("s%03d", i), ""); err != nil {
			t.Fatalf("recovered secret: %v", err)
		}
	}
	if left := h.keys("due/"); len(left) != 0 {
		for _, k := range left {
			if strings.Contains(k, "/purge/") {
				t.Fatalf("purge entries left after the sweep: %v", left)
			}
		}
	}
}
