package vault_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/vault"
)

// pending is PendingPurges as "vault/kind" → count.
func pending(t *testing.T, s *vault.Service) (map[string]int, time.Duration) {
	t.Helper()
	ps, lag, err := s.PendingPurges(t.Context())
	must(t, err)
	out := map[string]int{}
	for _, p := range ps {
		out[p.Vault+"/"+p.Kind] = p.Count
	}
	return out, lag
}

// TestDeletedCounts: the counts the metrics read are kept by every transition — delete,
// recover, purge by hand, the sweeper, a vault's delete and purge — with a series for
// every vault and kind even at zero; a store written before they were kept is counted
// once at open. (Every harness's final CheckStore compares the counts with the store.)
func TestDeletedCounts(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	h.vault("w", 7, false)
	r := h.s.Internal()
	for i := range 6 {
		n := fmt.Sprintf("s%d", i)
		_, err := r.SetSecret(bg, "v", n, vault.SecretParams{Value: n})
		must(t, err)
		_, err = r.Secrets().Delete(bg, "v", n)
		must(t, err)
	}
	_, err := r.CreateCertificate(bg, "v", "c", selfPolicy, vault.CertParams{})
	must(t, err)
	_, err = r.Certificates().Delete(bg, "v", "c")
	must(t, err)
	_, err = r.Secrets().Recover(bg, "v", "s0")
	must(t, err)
	must(t, r.Secrets().Purge(bg, "v", "s1"))
	_, err = r.SetSecret(bg, "w", "x", vault.SecretParams{Value: "x"})
	must(t, err)
	_, err = r.Secrets().Delete(bg, "w", "x")
	must(t, err)
	_, _, err = r.DeleteVault(bg, "w")
	must(t, err)

	got, lag := pending(t, h.s)
	want := map[string]int{"v/secret": 4, "v/certificate": 1, "v/key": 0, "v/vault": 0, "w/secret": 1, "w/vault": 1, "w/key": 0, "w/certificate": 0}
	if fmt.Sprint(got) != fmt.Sprint(want) || lag != 0 {
		t.Fatalf("pending %v lag %v, want %v and no lag", got, lag, want)
	}

	// An old store: no counts kept. Open counts them once.
	must(t, h.st.Update(bg, func(tx storage.Tx) error {
		es, err := tx.Scan("stats/", "", 0)
		for _, e := range es {
			must(t, tx.Delete(e.Key))
		}
		return err
	}))
	s2, err := vault.Open(bg, vault.Options{Storage: h.st, Clock: h.clk, Log: discardLogger()})
	must(t, err)
	if got, _ := pending(t, s2); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the backfill %v, want %v", got, want)
	}

	h.advance(7*24*time.Hour + time.Hour)
	if got, lag := pending(t, h.s); lag < time.Hour || got["v/secret"] != 4 {
		t.Fatalf("past the purge dates, before the sweep: %v lag %v", got, lag)
	}
	h.sweep()
	got, lag = pending(t, h.s)
	if lag != 0 || got["v/secret"] != 0 || got["v/certificate"] != 0 || got["v/vault"] != 0 {
		t.Fatalf("after the sweep %v lag %v", got, lag)
	}
	if _, ok := got["w/vault"]; ok {
		t.Fatalf("the purged vault w still has series: %v", got)
	}
}
