package vault_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/certs"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/vault"
	"github.com/coffer/coffer/internal/webhook"
)

// outbox lists the deliveries waiting, as "type(subject)→webhook-url", sorted (the
// subscriptions of one event are in id order, which is random).
func outbox(t *testing.T, st storage.Backend, subs ...webhook.Subscription) string {
	t.Helper()
	var ds []webhook.Delivery
	if err := st.View(t.Context(), func(tx storage.Tx) error {
		var err error
		ds, err = webhook.Pending(tx, 0, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, s := range subs {
		names[s.ID] = strings.TrimPrefix(s.URL, "https://")
	}
	var out []string
	for _, d := range ds {
		out = append(out, strings.TrimPrefix(d.Event.Type, "Coffer.KeyVault.")+"("+d.Event.Name+")→"+names[d.Webhook])
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func sweep(t *testing.T, s *vault.Service) int {
	t.Helper()
	n, err := s.Sweep(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func subscribeTo(t *testing.T, s *vault.Service, vaultName, name string, before time.Duration) webhook.Subscription {
	t.Helper()
	sub, err := s.CreateWebhook(t.Context(), vaultName, "https://"+name, before, "")
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// TestWebhookWarningTimes: two subscriptions with different windows each get one
// warning at their own time, then one notice at the purge; sweeping again adds nothing.
func TestWebhookWarningTimes(t *testing.T) {
	s, clk, st := newService(t, false) // vault v, 7 days
	ctx := t.Context()
	a := subscribeTo(t, s, "v", "a", 72*time.Hour)
	b := subscribeTo(t, s, "v", "b", 48*time.Hour)
	if _, err := s.Internal().SetSecret(ctx, "v", "S", vault.SecretParams{Value: "x"}); err != nil {
		t.Fatal(err)
	}
	d, err := s.Internal().Secrets().Delete(ctx, "v", "s")
	if err != nil {
		t.Fatal(err)
	}
	spd := d.Object.ScheduledPurgeDate
	step := func(to time.Time, want string) {
		t.Helper()
		clk.Advance(to.Sub(s.Now()))
		sweep(t, s)
		sweep(t, s)
		if got := outbox(t, st, a, b); got != want {
			t.Fatalf("at purge%+v: outbox %q, want %q", to.Sub(spd), got, want)
		}
	}
	step(spd.Add(-72*time.Hour-time.Second), "")
	step(spd.Add(-72*time.Hour), "SecretPurgeImminent(S)→a")
	step(spd.Add(-48*time.Hour-time.Second), "SecretPurgeImminent(S)→a")
	step(spd.Add(-48*time.Hour), "SecretPurgeImminent(S)→a SecretPurgeImminent(S)→b")
	step(spd, "SecretPurgeImminent(S)→a SecretPurgeImminent(S)→b SecretPurged(S)→a SecretPurged(S)→b")

	var ds []webhook.Delivery
	st.View(ctx, func(tx storage.Tx) error { ds, err = webhook.Pending(tx, 0, 0); return err })
	e := ds[0].Event
	if e.Kind != "secret" || e.Vault != "v" || !e.DeletedDate.Equal(d.Object.DeletedDate) || !e.ScheduledPurgeDate.Equal(spd) ||
		!e.Time.Equal(spd.Add(-72*time.Hour)) || e.ID == "" || e.ID == ds[1].Event.ID {
		t.Errorf("warning event %+v", e)
	}
}

// TestWebhookStaleWarnings: a recovered secret gets no warning; deleted again, it is
// warned once, at its new date; a deleted subscription's warning is dropped; a
// subscription made after the delete warns about what is already deleted.
func TestWebhookStaleWarnings(t *testing.T) {
	s, clk, st := newService(t, false)
	ctx := t.Context()
	a := subscribeTo(t, s, "v", "a", 72*time.Hour)
	gone := subscribeTo(t, s, "v", "gone", 96*time.Hour)
	for _, n := range []string{"back", "late"} {
		if _, err := s.Internal().SetSecret(ctx, "v", n, vault.SecretParams{Value: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Internal().Secrets().Delete(ctx, "v", "back"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Internal().Secrets().Recover(ctx, "v", "back"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteWebhook(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteWebhook(ctx, gone.ID); !errors.Is(err, webhook.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	clk.Advance(24 * time.Hour)
	if _, err := s.Internal().Secrets().Delete(ctx, "v", "back"); err != nil { // purges a day later than the first time
		t.Fatal(err)
	}
	clk.Advance(3*24*time.Hour + time.Hour) // the first deletion's window (and the deleted subscription's) passed
	sweep(t, s)
	if got := outbox(t, st, a); got != "" {
		t.Fatalf("stale warnings raised: %q", got)
	}
	clk.Advance(24 * time.Hour) // 5 days after the second delete: its window
	sweep(t, s)
	if got := outbox(t, st, a); got != "SecretPurgeImminent(back)→a" {
		t.Fatalf("outbox %q", got)
	}

	// Deleted first, subscribed after, with the window already open: warned at once.
	if _, err := s.Internal().Secrets().Delete(ctx, "v", "late"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(6 * 24 * time.Hour)
	late := subscribeTo(t, s, "v", "late", 72*time.Hour)
	sweep(t, s)
	// (back's retention ended meanwhile: its notice goes to both.)
	if got := outbox(t, st, a, late); got != "SecretPurgeImminent(back)→a SecretPurgeImminent(late)→a SecretPurgeImminent(late)→late SecretPurged(back)→a SecretPurged(back)→late" {
		t.Fatalf("outbox %q", got)
	}
	// Listing never shows a secret.
	subs, err := s.ListWebhooks(ctx)
	if err != nil || len(subs) != 2 {
		t.Fatalf("ListWebhooks = %v, %v", subs, err)
	}
	for _, sub := range subs {
		if sub.Secret != "" {
			t.Fatalf("listed with its secret: %+v", sub)
		}
	}
}

// TestWebhookCertificateAndVault: a certificate raises its own events, not its key's
// and secret's; purging a deleted vault by hand reports the vault and the deleted
// objects in it; warnings for a vault come at its own dates.
func TestWebhookCertificateAndVault(t *testing.T) {
	s, clk, st := newService(t, false)
	ctx := t.Context()
	if _, _, err := s.EnsureVault(ctx, vault.Vault{Name: "w", RetentionDays: 7}); err != nil {
		t.Fatal(err)
	}
	a := subscribeTo(t, s, "w", "a", 72*time.Hour)
	if _, err := s.Internal().CreateCertificate(ctx, "w", "c", certs.Policy{KeyType: "EC", Curve: "P-256", Subject: "CN=c", IssuerName: "Self"}, vault.CertParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Internal().SetSecret(ctx, "w", "live", vault.SecretParams{Value: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Internal().Certificates().Delete(ctx, "w", "c"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * 24 * time.Hour)
	sweep(t, s)
	if got := outbox(t, st, a); got != "CertificatePurgeImminent(c)→a" {
		t.Fatalf("outbox %q", got)
	}
	if _, _, err := s.Internal().DeleteVault(ctx, "w"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(4 * 24 * time.Hour) // the vault's window; the certificate is past its date
	sweep(t, s)
	want := "CertificatePurgeImminent(c)→a CertificatePurged(c)→a VaultPurgeImminent(w)→a"
	if got := outbox(t, st, a); got != want {
		t.Fatalf("outbox %q, want %q", got, want)
	}
	if err := s.Internal().PurgeVault(ctx, "w"); err != nil {
		t.Fatal(err)
	}
	if got := outbox(t, st, a); got != want+" VaultPurged(w)→a" {
		t.Fatalf("outbox %q", got)
	}
	clk.Advance(7 * 24 * time.Hour)
	sweep(t, s) // stale entries of the purged vault go without events
	if got := outbox(t, st, a); got != want+" VaultPurged(w)→a" {
		t.Fatalf("after the purge: %q", got)
	}

	// A vault purged by hand with a deleted secret inside: both are reported.
	if _, _, err := s.EnsureVault(ctx, vault.Vault{Name: "x", RetentionDays: 30}); err != nil {
		t.Fatal(err)
	}
	b := subscribeTo(t, s, "x", "b", time.Hour)
	if _, err := s.Internal().SetSecret(ctx, "x", "in", vault.SecretParams{Value: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Internal().Secrets().Delete(ctx, "x", "in"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Internal().DeleteVault(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if err := s.Internal().PurgeVault(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if got := outbox(t, st, b); !strings.Contains(got, "SecretPurged(in)→b") || !strings.Contains(got, "VaultPurged(x)→b") {
		t.Fatalf("outbox %q", got)
	}
	// Unknown and purged vaults take no subscription.
	for _, name := range []string{"nope", "x"} {
		if _, err := s.CreateWebhook(ctx, name, "https://a", time.Hour, ""); !errors.Is(err, vault.ErrVaultNotFound) {
			t.Errorf("subscribe to %s: %v", name, err)
		}
	}
	var inv *webhook.InvalidError
	if _, err := s.CreateWebhook(ctx, "v", "http://a", time.Hour, ""); !errors.As(err, &inv) {
		t.Errorf("http URL: %v", err)
	}
}

// TestWebhookSameTransaction: an event that cannot be written to the outbox fails the
// change with it: the purge does not happen, and the warning stays scheduled.
func TestWebhookSameTransaction(t *testing.T) {
	s, clk, st := newService(t, false)
	ctx := t.Context()
	a := subscribeTo(t, s, "v", "a", 72*time.Hour)
	if _, err := s.Internal().SetSecret(ctx, "v", "s", vault.SecretParams{Value: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Internal().Secrets().Delete(ctx, "v", "s"); err != nil {
		t.Fatal(err)
	}
	bad, err := vault.Open(ctx, vault.Options{Storage: failingStore{st, "sys/outbox/"}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Internal().Secrets().Purge(ctx, "v", "s"); !errors.Is(err, errInjected) {
		t.Fatalf("purge = %v, want the injected failure", err)
	}
	if _, err := s.Internal().Secrets().GetDeleted(ctx, "v", "s"); err != nil {
		t.Fatalf("the secret is gone after the failed purge: %v", err)
	}
	clk.Advance(5 * 24 * time.Hour)
	if _, err := bad.Sweep(ctx); !errors.Is(err, errInjected) {
		t.Fatalf("sweep = %v, want the injected failure", err)
	}
	sweep(t, s) // the warning is still due
	if got := outbox(t, st, a); got != "SecretPurgeImminent(s)→a" {
		t.Fatalf("outbox %q", got)
	}
}

// TestWebhookWarnOnceAcrossServers: two services on one storage sweep at once; the
// warning is raised once.
func TestWebhookWarnOnceAcrossServers(t *testing.T) {
	s, clk, st := newService(t, false)
	ctx := t.Context()
	a := subscribeTo(t, s, "v", "a", 72*time.Hour)
	other, err := vault.Open(ctx, vault.Options{Storage: st, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"s1", "s2", "s3", "s4"} {
		if _, err := s.Internal().SetSecret(ctx, "v", n, vault.SecretParams{Value: "x"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Internal().Secrets().Delete(ctx, "v", n); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(5 * 24 * time.Hour)
	var wg sync.WaitGroup
	for _, svc := range []*vault.Service{s, other, s, other} {
		wg.Go(func() {
			if _, err := svc.Sweep(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	want := "SecretPurgeImminent(s1)→a SecretPurgeImminent(s2)→a SecretPurgeImminent(s3)→a SecretPurgeImminent(s4)→a"
	if got := outbox(t, st, a); got != want {
		t.Fatalf("outbox %q", got)
	}
}
