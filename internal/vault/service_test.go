package vault_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/vault"
)

// newService is a vault.Service on the test harness (real bbolt behind the real barrier,
// a fake clock, the store checked when the test ends) with one vault "v" of 7 days'
// retention and the given purge protection.
func newService(t testing.TB, protected bool) (*vault.Service, *clock.Fake, storage.Backend) {
	t.Helper()
	h := newHarness(t)
	h.vault("v", 7, protected)
	return h.s, h.clk, h.st
}

func TestPurgeProtection(t *testing.T) {
	s, clk, _ := newService(t, true)
	ctx := t.Context()
	if _, err := s.Internal().SetSecret(ctx, "v", "s", vault.SecretParams{Value: "x"}); err != nil {
		t.Fatal(err)
	}
	d, err := s.Internal().Secrets().Delete(ctx, "v", "s")
	if err != nil {
		t.Fatal(err)
	}
	if d.Vault.RecoveryLevel() != "CustomizedRecoverable" {
		t.Fatalf("level %s", d.Vault.RecoveryLevel())
	}
	err = s.Internal().Secrets().Purge(ctx, "v", "s")
	var ve *vault.Error
	if !errors.Is(err, vault.ErrPurgeProtected) || !errors.As(err, &ve) || !ve.ScheduledPurgeDate.Equal(d.Object.ScheduledPurgeDate) {
		t.Fatalf("purge under protection: %v", err)
	}
	if _, err := s.Internal().Secrets().GetDeleted(ctx, "v", "s"); err != nil {
		t.Fatalf("no longer recoverable after a refused purge: %v", err)
	}
	// When the retention ends, the sweeper purges it even under purge protection.
	clk.Advance(7 * 24 * time.Hour)
	if n, err := s.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
}

func TestSweeperNeverPurgesRecovered(t *testing.T) {
	s, clk, _ := newService(t, false)
	ctx := t.Context()
	for _, n := range []string{"a", "b"} {
		s.Internal().SetSecret(ctx, "v", n, vault.SecretParams{Value: n})
		if _, err := s.Internal().Secrets().Delete(ctx, "v", n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Internal().Secrets().Recover(ctx, "v", "a"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(8 * 24 * time.Hour)
	// Several sweepers at once purge each overdue object exactly once.
	var wg sync.WaitGroup
	total := make(chan int, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.Sweep(ctx)
			if err != nil {
				t.Error(err)
			}
			total <- n
		}()
	}
	wg.Wait()
	close(total)
	sum := 0
	for n := range total {
		sum += n
	}
	if sum != 1 {
		t.Fatalf("purged %d times, want 1", sum)
	}
	if got, err := s.Internal().GetSecret(ctx, "v", "a", ""); err != nil || got.Value != "a" {
		t.Fatalf("recovered secret: %v", err)
	}
	if _, err := s.Internal().Secrets().GetDeleted(ctx, "v", "b"); !errors.Is(err, vault.ErrDeletedNotFound) {
		t.Fatalf("b: %v", err)
	}
}

// TestSweeperLoop runs the real loop in a synctest bubble: a week of retention passes
// instantly, and the loop — not a read that treats the overdue secret as purged — must
// have reclaimed it.
func TestSweeperLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, clk, st := newService(t, false)
		ctx, cancel := context.WithCancel(t.Context())
		if _, err := s.Internal().SetSecret(ctx, "v", "s", vault.SecretParams{Value: "x"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Internal().Secrets().Delete(ctx, "v", "s"); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.RunSweeper(ctx, time.Minute, discardLogger())
		}()
		synctest.Wait() // the first sweep, at once: nothing is due yet
		if keys := storedKeys(t, st, "v/v/secret/"); len(keys) == 0 {
			t.Fatal("purged before its date")
		}
		clk.Advance(7*24*time.Hour + time.Second)
		time.Sleep(2 * time.Minute) // bubble time: the loop's ticker fires
		synctest.Wait()
		cancel()
		<-done
		// The record and its versions are gone from storage, not just hidden, and the
		// purge was the sweeper's.
		if keys := storedKeys(t, st, "v/v/secret/"); len(keys) != 0 {
			t.Fatalf("the loop left %v", keys)
		}
		if c := s.SchedulerCounts(); c["purge"] != 1 {
			t.Fatalf("scheduler counts %v", c)
		}
		es := ledgerEntries(t, s, ledger.Filter{Name: "s"})
		if got := summary(es); got != "delete secret s by sweeper\nauto-purge secret s by sweeper" {
			t.Fatalf("ledger:\n%s", got)
		}
		if es = es[1:]; es[0].Principal != ledger.Sweeper || es[0].Note != "" || es[0].LateBySeconds != 1 {
			t.Fatalf("auto-purge entries %+v", es)
		}
	})
}

// storedKeys lists the storage keys under prefix.
func storedKeys(t *testing.T, st storage.Backend, prefix string) []string {
	t.Helper()
	var out []string
	if err := st.View(t.Context(), func(tx storage.Tx) error {
		es, err := tx.Scan(prefix, "", 0)
		for _, e := range es {
			out = append(out, e.Key)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func FuzzRestoreBlob(f *testing.F) {
	s, _, _ := newService(f, false)
	ctx := context.Background()
	s.Internal().SetSecret(ctx, "v", "seed", vault.SecretParams{Value: "x", Tags: map[string]string{"a": "b"}})
	blob, err := s.Internal().Secrets().Backup(ctx, "v", "seed")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(blob)
	f.Add(blob[:len(blob)-1])
	f.Add([]byte("CFBK\x01"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := s.Internal().Secrets().Restore(ctx, "v", b)
		if err == nil {
			// Only an intact blob restores (the seed, whose name is live: never).
			t.Fatalf("restored %q from a fuzzed blob", got.Object.Name)
		}
		if !errors.Is(err, vault.ErrBadParameter) && !errors.Is(err, vault.ErrAlreadyExists) {
			t.Fatalf("want a 400 or 409 kind, got %v", err)
		}
	})
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
