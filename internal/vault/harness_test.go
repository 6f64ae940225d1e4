package vault_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/barrier"
	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/bbolt"
	"github.com/coffer/coffer/internal/vault"
)

// t0 is when every harness's fake clock starts.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// harness is a vault.Service on a real store — bbolt in a temporary directory behind the
// real barrier with a test key — and a fake clock. When the test ends the whole store is
// checked (vault.CheckStore): a test that leaves it inconsistent fails, whatever it
// asserted itself.
type harness struct {
	t   testing.TB
	s   *vault.Service
	clk *clock.Fake
	st  storage.Backend // the barrier: what the service uses
	raw storage.Backend // bbolt under it
	// unchecked turns the final check off (for tests that damage the store on purpose).
	unchecked bool
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "coffer.db"), bbolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := barrier.Open(context.Background(), db, make([]byte, 32), barrier.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	h := &harness{t: t, clk: clock.NewFake(t0), st: b, raw: db}
	if h.s, err = vault.Open(context.Background(), vault.Options{Storage: b, Clock: h.clk, Log: discardLogger()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if h.unchecked {
			return
		}
		for _, p := range h.check() {
			t.Errorf("store check: %s", p)
		}
	})
	return h
}

// check runs the store check now.
func (h *harness) check() []string {
	h.t.Helper()
	problems, err := vault.CheckStore(context.Background(), h.st, h.raw, vault.CheckOptions{Now: h.s.Now()})
	if err != nil {
		h.t.Fatalf("store check: %v", err)
	}
	out := make([]string, len(problems))
	for i, p := range problems {
		out[i] = p.String() + " (affects " + p.Affects() + ")"
	}
	return out
}

// vault creates a vault with the given retention and purge protection.
func (h *harness) vault(name string, days int, protected bool) vault.Vault {
	h.t.Helper()
	v, _, err := h.s.EnsureVault(context.Background(), vault.Vault{Name: name, RetentionDays: days, PurgeProtection: protected})
	if err != nil {
		h.t.Fatal(err)
	}
	return v
}

// advance moves the clock; sweep runs the scheduler once and returns how many acted.
func (h *harness) advance(d time.Duration) { h.clk.Advance(d) }

func (h *harness) sweep() int {
	h.t.Helper()
	n, err := h.s.Sweep(context.Background())
	if err != nil {
		h.t.Fatalf("sweep: %v", err)
	}
	return n
}

// keys lists the storage keys under prefix.
func (h *harness) keys(prefix string) []string {
	h.t.Helper()
	var out []string
	if err := h.st.View(context.Background(), func(tx storage.Tx) error {
		es, err := tx.Scan(prefix, "", 0)
		for _, e := range es {
			out = append(out, e.Key)
		}
		return err
	}); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// must fails the test on err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr fails the test unless err wraps kind.
func wantErr(t testing.TB, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want %v", err, kind)
	}
}

// TestStoreCheckFindsDamage: the store check is only worth its name if it fails. Each
// case builds a healthy store, finds it clean, damages it one way, and wants the damage
// reported.
func TestStoreCheckFindsDamage(t *testing.T) {
	// put writes through the barrier; putRaw below it.
	put := func(key string, val []byte) func(*harness) {
		return func(h *harness) {
			must(h.t, h.st.Update(context.Background(), func(tx storage.Tx) error { return tx.Put(key, val) }))
		}
	}
	putRaw := func(h *harness, key string, val []byte) {
		must(h.t, h.raw.Update(context.Background(), func(tx storage.Tx) error { return tx.Put(key, val) }))
	}
	del := func(key string) func(*harness) {
		return func(h *harness) {
			must(h.t, h.st.Update(context.Background(), func(tx storage.Tx) error { return tx.Delete(key) }))
		}
	}
	rewrite := func(key string, edit func(map[string]any)) func(*harness) {
		return func(h *harness) {
			must(h.t, h.st.Update(context.Background(), func(tx storage.Tx) error {
				b, err := tx.Get(key)
				if err != nil {
					return err
				}
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil {
					return err
				}
				edit(m)
				b, _ = json.Marshal(m)
				return tx.Put(key, b)
			}))
		}
	}
	onlyKey := func(h *harness, prefix string) string {
		if strings.HasPrefix(prefix, "ledger/") {
			// Changes record pending entries; reading the ledger links them into the chain.
			if _, err := h.s.LedgerHead(context.Background()); err != nil {
				h.t.Fatal(err)
			}
		}
		ks := h.keys(prefix)
		if len(ks) != 1 {
			h.t.Fatalf("keys under %s: %v", prefix, ks)
		}
		return ks[0]
	}
	for _, tc := range []struct {
		name   string
		damage func(h *harness)
		want   string
	}{
		{"orphaned-versions", del("v/v/secret/live/live"), "orphaned versions"},
		{"sealed-under-no-key", func(h *harness) {
			putRaw(h, onlyKey(h, "v/v/secret/ver/live/"), []byte("\x00\x00\x00\x01\x01not sealed by the barrier at all"))
		}, "does not open"},
		{"moved-value", func(h *harness) {
			var b []byte
			must(h.t, h.raw.View(context.Background(), func(tx storage.Tx) (err error) { b, err = tx.Get("v/v/secret/live/live"); return err }))
			putRaw(h, "v/v/secret/live/gone", b) // sealed for another key
		}, "does not open"},
		{"undecodable", put("v/v/secret/live/live", []byte("{not json")), "does not decode"},
		{"unknown-key", put("v/v/secret/attic/x", []byte("{}")), "layout does not know"},
		{"purge-entry-lost", func(h *harness) { del(onlyKey(h, "due/"))(h) }, "no scheduler entry"},
		{"purge-entry-for-nothing", put("due/000000000001/purge/v/secret/nothing", nil), "purges no deleted secret"},
		{"live-with-dates", rewrite("v/v/secret/live/live", func(m map[string]any) { m["deletedDate"] = t0 }), "live with deletion dates"},
		{"wrong-purge-date", rewrite("v/v/secret/deleted/gone", func(m map[string]any) { m["scheduledPurgeDate"] = t0 }), "is not deletedDate"},
		{"version-count", rewrite("v/v/secret/live/live", func(m map[string]any) { m["versions"] = 3 }), "counts 3 versions"},
		{"managed-without-certificate", rewrite("v/v/secret/live/live", func(m map[string]any) { m["managed"] = true }), "backs no certificate"},
		{"vault-gone", del("vaults/v"), "in no stored vault"},
		{"ledger-edited", func(h *harness) {
			rewrite(onlyKey(h, "ledger/entry/"), func(m map[string]any) { m["principal"] = "mallory" })(h)
		}, "ledger"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.unchecked = true
			ctx := context.Background()
			h.vault("v", 7, false)
			_, err := h.s.Internal().SetSecret(ctx, "v", "live", vault.SecretParams{Value: "x"})
			must(t, err)
			_, err = h.s.Internal().SetSecret(ctx, "v", "gone", vault.SecretParams{Value: "y"})
			must(t, err)
			_, err = h.s.Internal().Secrets().Delete(ctx, "v", "gone")
			must(t, err)
			if p := h.check(); len(p) != 0 {
				t.Fatalf("healthy store reported: %q", p)
			}
			tc.damage(h)
			p := h.check()
			if !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, tc.want) }) {
				t.Fatalf("damage not reported (want %q): %q", tc.want, p)
			}
		})
	}
}

// asError is errors.As for *vault.Error.
func asError(err error, target **vault.Error) bool { return errors.As(err, target) }
