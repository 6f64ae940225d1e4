package server_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/postgres/pgtest"
	"github.com/coffer/coffer/internal/testenv"
	"github.com/coffer/coffer/internal/vault"
	"github.com/coffer/coffer/internal/webhook"
)

// TestKillMidBulkSweep: the sweeper purges many overdue objects per transaction. A coffer
// process SIGKILLed in the middle of a backlog (some batches committed, not all) and
// started again purges the rest: in the end every overdue secret has exactly one
// automatic-purge ledger entry and one Purged notice in the webhook outbox, the ledger
// verifies, the counts the metrics show are right, and (embedded) `coffer check` finds
// nothing wrong. On bbolt and, with COFFER_TEST_POSTGRES_DSN, on PostgreSQL.
func TestKillMidBulkSweep(t *testing.T) {
	t.Run("bbolt", func(t *testing.T) { killMidBulkSweep(t, "", 20000, 64) })
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		if !pgtest.IsURL(dsn) {
			t.Skipf("%s must be a postgres:// URL here (it is passed to --storage)", pgtest.DSNEnv)
		}
		// Fewer, and fewer writers: every delete appends to the one ledger chain, so
		// concurrent ones conflict on PostgreSQL and are retried.
		killMidBulkSweep(t, pgtest.FreshSchema(t, "coffer_sweepkill_"), 5000, 8)
	})
}

func killMidBulkSweep(t *testing.T, dsn string, n, writers int) {
	dir := dataDir(t)
	st := testenv.NewStack(t, testenv.Options{DataDir: dir, Config: func(c *server.Config) { c.Storage = dsn }})
	st.Stop()
	// Populate offline, fast: n deleted secrets and a webhook subscription whose
	// receiver never answers (its notices stay in the outbox, to be counted).
	offline := func(f func(vs *vault.Service, store storage.Backend)) {
		store, err := server.OpenStoreForTestOn(t.Context(), dir, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		vs, err := vault.Open(t.Context(), vault.Options{Storage: store, Clock: clock.Real{}, Log: discardLog()})
		if err != nil {
			t.Fatal(err)
		}
		f(vs, store)
	}
	offline(func(vs *vault.Service, _ storage.Backend) {
		if _, err := vs.CreateWebhook(t.Context(), "default", "https://127.0.0.1:1/never", time.Hour, ""); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := vs.Internal()
				for i := w; i < n; i += writers {
					name := fmt.Sprintf("s%05d", i)
					if _, err := r.SetSecret(t.Context(), "default", name, vault.SecretParams{Value: "x"}); err != nil {
						t.Error(err)
						return
					}
					if _, err := r.Secrets().Delete(t.Context(), "default", name); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	})
	if t.Failed() {
		return
	}

	bin := testenv.BuildCoffer(t)
	args := []string{"--allow-time-shift"}
	if dsn != "" {
		args = append(args, "--storage", dsn)
	}
	p := connect(t, testenv.StartProcess(t, bin, dir, args...))
	if status, body := send(t, p.http, "POST", p.p.URL()+"/admin/time-shift", token(t, p.cred, armScope), `{"seconds":7862400}`); status != 200 {
		t.Fatalf("time shift: %d %s", status, body)
	}
	// The sweeper ticks every 5 s; kill once some of its batches are committed.
	var purged float64
	deadline := time.Now().Add(30 * time.Second)
	for purged == 0 && time.Now().Before(deadline) {
		_, body := send(t, p.http, "GET", p.p.URL()+"/metrics", "", "")
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, `coffer_scheduler_actions_total{action="purge"}`) {
				fmt.Sscan(strings.Fields(line)[1], &purged)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.p.Kill()
	if purged == 0 || purged >= float64(n) {
		t.Logf("killed after %v purges of %d: not in the middle of the backlog this time", purged, n)
	} else {
		t.Logf("killed after %v purges of %d", purged, n)
	}

	p = connect(t, testenv.StartProcess(t, bin, dir, append(args, "--addr", p.p.Addr)...)) // sweeps at once
	for deadline := time.Now().Add(60 * time.Second); ; {
		_, body := send(t, p.http, "GET", p.p.URL()+"/metrics", "", "")
		if strings.Contains(body, `coffer_deleted_objects{kind="secret",vault="default"} 0`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted sweeper did not finish the backlog:\n%s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.p.Term()

	offline(func(vs *vault.Service, store storage.Backend) {
		per := map[string]int{}
		after := int64(0)
		for {
			es, next, err := vs.LedgerEntries(t.Context(), ledger.Filter{After: after, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				if e.Action == ledger.ActionAutoPurge {
					per[e.Name]++
				}
			}
			if next == 0 {
				break
			}
			after = next
		}
		if len(per) != n {
			t.Errorf("%d secrets have an automatic-purge entry, want %d", len(per), n)
		}
		for name, c := range per {
			if c != 1 {
				t.Errorf("%s has %d automatic-purge entries", name, c)
			}
		}
		if _, verr, err := vs.VerifyLedger(t.Context()); err != nil || verr != nil {
			t.Errorf("ledger verify: %v %v", err, verr)
		}
		notices := map[string]int{}
		if err := store.View(t.Context(), func(tx storage.Tx) error {
			ds, err := webhook.Pending(tx, 0, 0)
			for _, d := range ds {
				if strings.HasSuffix(d.Event.Type, "SecretPurged") {
					notices[d.Event.Name]++
				}
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(notices) != n {
			t.Errorf("%d secrets have a Purged notice waiting, want %d", len(notices), n)
		}
		for name, c := range notices {
			if c != 1 {
				t.Errorf("%s has %d Purged notices", name, c)
			}
		}
	})
	if dsn == "" {
		r, err := server.Check(t.Context(), dir, server.CheckOptions{})
		if err != nil || len(r.Problems) != 0 {
			t.Fatalf("check: %v\n%s", err, problems(r))
		}
	}
}
