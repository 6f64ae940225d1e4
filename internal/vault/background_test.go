package vault_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/vault"
)

// backgroundCounter passes everything to its backend, counting the Updates asked for as
// background work.
type backgroundCounter struct {
	storage.Backend
	background atomic.Int64
}

func (c *backgroundCounter) UpdateBackground(ctx context.Context, fn func(storage.Tx) error) error {
	c.background.Add(1)
	return storage.UpdateBackground(ctx, c.Backend, fn)
}

// TestSweepIsBackgroundWork checks that the sweeper's transactions, and only they, are
// asked of the storage as background work (which bbolt runs at a lower priority than
// requests), and that they still purge.
func TestSweepIsBackgroundWork(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	st := &backgroundCounter{Backend: h.st}
	s, err := vault.Open(t.Context(), vault.Options{Storage: st, Clock: h.clk, Log: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Internal()
	for _, n := range []string{"a", "b"} {
		_, err := r.SetSecret(bg, "v", n, vault.SecretParams{Value: n})
		must(t, err)
		_, err = r.Secrets().Delete(bg, "v", n)
		must(t, err)
	}
	_, err = r.Secrets().Recover(bg, "v", "b")
	must(t, err)
	if n := st.background.Load(); n != 0 {
		t.Fatalf("requests made %d background Updates, want none", n)
	}
	h.advance(7*24*time.Hour + time.Minute)
	purged, err := s.Sweep(bg)
	must(t, err)
	if purged != 1 {
		t.Errorf("the sweep purged %d, want 1", purged)
	}
	if st.background.Load() == 0 {
		t.Error("the sweep made no background Update")
	}
	if _, err := r.Secrets().GetDeleted(bg, "v", "a"); err == nil {
		t.Error("a is still deleted, not purged")
	}
}
