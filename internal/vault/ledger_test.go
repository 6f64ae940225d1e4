package vault_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/audit"
	"github.com/coffer/coffer/internal/certs"
	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/vault"
)

var alice = audit.Principal{TenantID: "t", ClientID: "client-alice", ObjectID: "oid-alice"}

func ledgerEntries(t *testing.T, s *vault.Service, f ledger.Filter) []ledger.Entry {
	t.Helper()
	es, _, err := s.LedgerEntries(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func verifyLedger(t *testing.T, s *vault.Service) ledger.Result {
	t.Helper()
	res, verr, err := s.VerifyLedger(t.Context())
	if err := errors.Join(err, verr); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

// summary is "action kind name by principal" per entry.
func summary(es []ledger.Entry) string {
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("%s %s %s by %s", e.Action, e.Kind, e.Name, e.Principal))
	}
	return strings.Join(out, "\n")
}

// TestLedgerRecordsEveryTransition: delete, recover, purge by hand and automatic purges
// of secrets, keys, certificates (one entry, not its key and secret) and vaults, with
// who, when and the deletion's dates.
func TestLedgerRecordsEveryTransition(t *testing.T) {
	s, clk, _ := newService(t, false)
	ctx := t.Context()
	as := s.As(vault.Actor{Principal: alice.ObjectID, ClientID: alice.ClientID, RequestID: "req-1"}, nil)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := as.SetSecret(ctx, "v", "Pwd", vault.SecretParams{Value: "x"})
	must(err)
	deleted, err := as.Secrets().Delete(ctx, "v", "pwd")
	must(err)
	_, err = as.Secrets().Recover(ctx, "v", "pwd")
	must(err)
	_, err = as.Secrets().Delete(ctx, "v", "pwd")
	must(err)
	must(as.Secrets().Purge(ctx, "v", "pwd"))

	_, err = as.CreateKey(ctx, "v", "k", vault.KeyParams{Kty: "EC", Curve: "P-256"})
	must(err)
	_, err = as.Keys().Delete(ctx, "v", "k")
	must(err)

	_, err = as.CreateCertificate(ctx, "v", "web", certs.Policy{KeyType: "EC", Curve: "P-256", Subject: "CN=web", IssuerName: "Self"}, vault.CertParams{})
	must(err)
	_, err = as.Certificates().Delete(ctx, "v", "web")
	must(err)
	_, err = as.Certificates().Recover(ctx, "v", "web")
	must(err)
	_, err = as.Certificates().Delete(ctx, "v", "web")
	must(err)
	must(as.Certificates().Purge(ctx, "v", "web"))

	// The key's retention (7 days) ends; the sweeper comes a day late.
	clk.Advance(8 * 24 * time.Hour)
	if n, err := s.Sweep(t.Context()); err != nil || n == 0 {
		t.Fatalf("Sweep = %d, %v", n, err)
	}

	// A deleted secret whose retention ended is purged when its name is taken again,
	// before the sweeper comes.
	_, err = as.SetSecret(ctx, "v", "reused", vault.SecretParams{Value: "x"})
	must(err)
	_, err = as.Secrets().Delete(ctx, "v", "reused")
	must(err)
	clk.Advance(8 * 24 * time.Hour)
	_, err = as.SetSecret(ctx, "v", "reused", vault.SecretParams{Value: "y"})
	must(err)

	// A vault: delete, recover, delete, purge by hand.
	_, _, err = as.DeleteVault(ctx, "v")
	must(err)
	_, err = as.RecoverVault(ctx, "v")
	must(err)
	_, _, err = as.DeleteVault(ctx, "v")
	must(err)
	must(as.PurgeVault(ctx, "v"))

	es := ledgerEntries(t, s, ledger.Filter{})
	want := strings.Join([]string{
		"delete secret Pwd by oid-alice",
		"recover secret Pwd by oid-alice",
		"delete secret Pwd by oid-alice",
		"purge secret Pwd by oid-alice",
		"delete key k by oid-alice",
		"delete certificate web by oid-alice",
		"recover certificate web by oid-alice",
		"delete certificate web by oid-alice",
		"purge certificate web by oid-alice",
		"auto-purge key k by sweeper",
		"delete secret reused by oid-alice",
		"auto-purge secret reused by sweeper",
		"delete vault v by oid-alice",
		"recover vault v by oid-alice",
		"delete vault v by oid-alice",
		"purge vault v by oid-alice",
	}, "\n")
	if got := summary(es); got != want {
		t.Fatalf("ledger:\n%s\nwant:\n%s", got, want)
	}
	first := es[0]
	if first.ClientID != "client-alice" || first.RequestID != "req-1" || !first.DeletedDate.Equal(deleted.Object.DeletedDate) ||
		!first.ScheduledPurgeDate.Equal(deleted.Object.DeletedDate.Add(7*24*time.Hour)) || !first.Time.Equal(deleted.Object.DeletedDate) {
		t.Errorf("delete entry %+v", first)
	}
	if rec := es[1]; !rec.DeletedDate.Equal(deleted.Object.DeletedDate) || rec.ScheduledPurgeDate.IsZero() {
		t.Errorf("recover entry does not carry the dates it undid: %+v", rec)
	}
	auto := es[9]
	if auto.LateBySeconds != 24*3600 || auto.RequestID != "" {
		t.Errorf("sweeper entry: lateBy %d, %+v", auto.LateBySeconds, auto)
	}
	if es[11].Note == "" || es[11].LateBySeconds != 24*3600 {
		t.Errorf("name-reuse purge entry %+v", es[11])
	}
	if got := ledgerEntries(t, s, ledger.Filter{Vault: "V", Name: "PWD"}); len(got) != 4 {
		t.Errorf("filter by vault and name: %d entries", len(got))
	}
	// The vault and everything in it are gone; the ledger is not.
	if res := verifyLedger(t, s); res.Count != int64(len(es)) {
		t.Fatalf("verify counted %d, want %d", res.Count, len(es))
	}
}

// TestLedgerVaultAutoPurge: the sweeper's purge of a deleted vault is recorded with
// how late it came.
func TestLedgerVaultAutoPurge(t *testing.T) {
	s, clk, _ := newService(t, true)
	ctx := t.Context()
	if _, _, err := s.Internal().DeleteVault(ctx, "v"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(7*24*time.Hour + time.Hour)
	if _, err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	es := ledgerEntries(t, s, ledger.Filter{Kind: "vault"})
	if got := summary(es); got != "delete vault v by sweeper\nauto-purge vault v by sweeper" {
		t.Fatalf("ledger:\n%s", got)
	}
	if es[1].LateBySeconds != 3600 {
		t.Errorf("lateBy %d, want 3600", es[1].LateBySeconds)
	}
	if c := s.SchedulerCounts(); c["purge-vault"] != 1 {
		t.Errorf("scheduler counts %v", c)
	}
}

// failingStore fails every Put of a key with the given prefix.
type failingStore struct {
	storage.Backend
	prefix string
}

var errInjected = errors.New("injected failure")

func (f failingStore) Update(ctx context.Context, fn func(storage.Tx) error) error {
	return f.Backend.Update(ctx, func(tx storage.Tx) error { return fn(failingTx{tx, f.prefix}) })
}

type failingTx struct {
	storage.Tx
	prefix string
}

func (t failingTx) Put(key string, value []byte) error {
	if strings.HasPrefix(key, t.prefix) {
		return errInjected
	}
	return t.Tx.Put(key, value)
}

// TestLedgerSameTransaction: a change and its ledger entry commit together: when the
// ledger write fails the secret is not deleted, and when the change fails no entry is
// left.
func TestLedgerSameTransaction(t *testing.T) {
	for _, tc := range []struct{ name, prefix string }{
		{"fail/ledger-write", "ledger/"},
		{"fail/change-write", "due/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, clk, st := newService(t, false)
			ctx := t.Context()
			if _, err := s.Internal().SetSecret(ctx, "v", "s", vault.SecretParams{Value: "x"}); err != nil {
				t.Fatal(err)
			}
			bad, err := vault.Open(ctx, vault.Options{Storage: failingStore{st, tc.prefix}, Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := bad.Internal().Secrets().Delete(ctx, "v", "s"); !errors.Is(err, errInjected) {
				t.Fatalf("DeleteSecret = %v, want the injected failure", err)
			}
			if _, err := s.Internal().GetSecret(ctx, "v", "s", ""); err != nil {
				t.Fatalf("the secret is not live after the failed delete: %v", err)
			}
			if es := ledgerEntries(t, s, ledger.Filter{}); len(es) != 0 {
				t.Fatalf("ledger holds %s", summary(es))
			}
		})
	}
}

// TestLedgerRetention: the sweeper prunes entries past --ledger-retention and the chain
// still verifies.
func TestLedgerRetention(t *testing.T) {
	_, clk, st := newService(t, false)
	s, err := vault.Open(t.Context(), vault.Options{Storage: st, Clock: clk, LedgerRetention: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for i := range 3 {
		name := fmt.Sprintf("s%d", i)
		if _, err := s.Internal().SetSecret(ctx, "v", name, vault.SecretParams{Value: "x"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Internal().Secrets().Delete(ctx, "v", name); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(31 * 24 * time.Hour) // the three deletes and the sweeper's purges are 7 days apart
	if _, err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	got := summary(ledgerEntries(t, s, ledger.Filter{}))
	if strings.Contains(got, "delete secret") || !strings.Contains(got, "prune") {
		t.Fatalf("after the retention:\n%s", got)
	}
	res := verifyLedger(t, s)
	if res.Checkpoint == nil || res.Checkpoint.Seq != 3 {
		t.Fatalf("verify after prune: %+v", res)
	}
}

// TestLedgerPendingLinkedBeforeAck: on storage with concurrent writers a change records
// its entry pending, and the change returns only once the entry is in the chain: after
// each one nothing is pending, and the chain holds the changes in order and verifies.
func TestLedgerPendingLinkedBeforeAck(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	s, err := vault.Open(t.Context(), vault.Options{Storage: h.st, Clock: h.clk, Log: discardLogger(), ConcurrentWriters: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	as := s.As(vault.Actor{Principal: alice.ObjectID, ClientID: alice.ClientID, RequestID: "req-1"}, nil)
	pending := func(after string) {
		t.Helper()
		if err := h.st.View(ctx, func(tx storage.Tx) error {
			n, err := ledger.PendingCount(tx)
			if err == nil && n != 0 {
				t.Errorf("after %s: %d entries pending; want every entry linked before the change returns", after, n)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"set", func() error { _, err := as.SetSecret(ctx, "v", "s", vault.SecretParams{Value: "x"}); return err }},
		{"delete", func() error { _, err := as.Secrets().Delete(ctx, "v", "s"); return err }},
		{"recover", func() error { _, err := as.Secrets().Recover(ctx, "v", "s"); return err }},
		{"delete again", func() error { _, err := as.Secrets().Delete(ctx, "v", "s"); return err }},
		{"purge", func() error { return as.Secrets().Purge(ctx, "v", "s") }},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		pending(st.name)
	}
	if tails := h.keys("ledger/tail/"); len(tails) != 1 {
		t.Errorf("tail keys %v: want the secret's (the changes went through the pending path)", tails)
	}
	got := summary(ledgerEntries(t, s, ledger.Filter{}))
	want := "delete secret s by oid-alice\nrecover secret s by oid-alice\ndelete secret s by oid-alice\npurge secret s by oid-alice"
	if got != want {
		t.Errorf("ledger:\n%s\nwant:\n%s", got, want)
	}
	if res := verifyLedger(t, s); res.Count != 4 || res.Pending != 0 {
		t.Errorf("verify: %+v", res)
	}
}
