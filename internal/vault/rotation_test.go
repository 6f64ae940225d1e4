package vault_test

import (
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/vault"
)

func TestRotationPolicyRules(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	_, err := r.CreateKey(bg, "v", "k", vault.KeyParams{Kty: "EC"})
	must(t, err)

	// A key that never had a policy has Azure's default.
	p, err := r.GetRotationPolicy(bg, "v", "k")
	must(t, err)
	if len(p.LifetimeActions) != 1 || p.LifetimeActions[0] != (vault.LifetimeAction{Type: "Notify", TimeBeforeExpiry: "P30D"}) || !p.Created.IsZero() {
		t.Fatalf("default policy %+v", p)
	}

	for _, tc := range []struct {
		name string
		p    vault.RotationPolicy
		want string // in the detail
	}{
		{"unknown-type", vault.RotationPolicy{LifetimeActions: []vault.LifetimeAction{{Type: "Explode", TimeAfterCreate: "P1D"}}}, "not Rotate or Notify"},
		{"two-rotates", vault.RotationPolicy{LifetimeActions: []vault.LifetimeAction{{Type: "Rotate", TimeAfterCreate: "P1D"}, {Type: "rotate", TimeAfterCreate: "P2D"}}}, "at most one Rotate"},
		{"no-trigger", vault.RotationPolicy{LifetimeActions: []vault.LifetimeAction{{Type: "Rotate"}}}, "exactly one trigger"},
		{"two-triggers", vault.RotationPolicy{ExpiryTime: "P90D", LifetimeActions: []vault.LifetimeAction{{Type: "Rotate", TimeAfterCreate: "P1D", TimeBeforeExpiry: "P1D"}}}, "exactly one trigger"},
		{"notify-after-create", vault.RotationPolicy{LifetimeActions: []vault.LifetimeAction{{Type: "Notify", TimeAfterCreate: "P1D"}}}, "timeBeforeExpiry only"},
		{"bad-duration", vault.RotationPolicy{LifetimeActions: []vault.LifetimeAction{{Type: "Rotate", TimeAfterCreate: "90 days"}}}, "ISO 8601"},
		{"fraction", vault.RotationPolicy{LifetimeActions: []vault.LifetimeAction{{Type: "Rotate", TimeAfterCreate: "P1.5D"}}}, "whole numbers"},
		{"negative", vault.RotationPolicy{LifetimeActions: []vault.LifetimeAction{{Type: "Rotate", TimeAfterCreate: "-P1D"}}}, "ISO 8601"},
		{"short-expiry", vault.RotationPolicy{ExpiryTime: "P27D"}, "at least 28 days"},
		{"bad-expiry", vault.RotationPolicy{ExpiryTime: "soon"}, "expiryTime"},
		{"rotate-before-no-expiry", vault.RotationPolicy{LifetimeActions: []vault.LifetimeAction{{Type: "Rotate", TimeBeforeExpiry: "P7D"}}}, "needs the policy's expiryTime"},
	} {
		_, err := r.SetRotationPolicy(bg, "v", "k", tc.p)
		var ve *vault.Error
		if !asError(err, &ve) || ve.Kind != vault.ErrBadParameter || !strings.Contains(ve.Detail, tc.want) {
			t.Errorf("%s: %v, want a bad parameter saying %q", tc.name, err, tc.want)
		}
	}

	// Names are normalised, a Notify is added, and the dates are kept across updates.
	p, err = r.SetRotationPolicy(bg, "v", "k", vault.RotationPolicy{ExpiryTime: "P1Y", LifetimeActions: []vault.LifetimeAction{{Type: "rOtAtE", TimeBeforeExpiry: "P1M"}}})
	must(t, err)
	if len(p.LifetimeActions) != 2 || p.LifetimeActions[0].Type != "Rotate" || p.LifetimeActions[1].Type != "Notify" || !p.Created.Equal(t0) || !p.Updated.Equal(t0) {
		t.Fatalf("stored policy %+v", p)
	}
	h.advance(time.Hour)
	p, err = r.SetRotationPolicy(bg, "v", "k", vault.RotationPolicy{LifetimeActions: []vault.LifetimeAction{{Type: "Notify", TimeBeforeExpiry: "PT12H"}}})
	must(t, err)
	if len(p.LifetimeActions) != 1 || !p.Created.Equal(t0) || !p.Updated.Equal(t0.Add(time.Hour)) {
		t.Fatalf("updated policy %+v", p)
	}
	if got, err := r.GetRotationPolicy(bg, "v", "k"); err != nil || got.LifetimeActions[0].TimeBeforeExpiry != "PT12H" {
		t.Fatalf("read back %+v %v", got, err)
	}
	_, err = r.GetRotationPolicy(bg, "v", "missing")
	wantErr(t, err, vault.ErrNotFound)
	_, err = r.GetRotationPolicy(bg, "v", "bad_name")
	wantErr(t, err, vault.ErrBadParameter)
	_, err = r.SetRotationPolicy(bg, "v", "bad_name", vault.RotationPolicy{})
	wantErr(t, err, vault.ErrBadParameter)
	_, err = r.SetRotationPolicy(bg, "v", "missing", vault.RotationPolicy{})
	wantErr(t, err, vault.ErrNotFound)
}

// TestRotationDue: the policy's Rotate falls due on the vault clock and the sweeper makes
// the new version, with the policy's expiry, and schedules the next rotation from it.
func TestRotationDue(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	k, err := r.CreateKey(bg, "v", "k", vault.KeyParams{Kty: "EC"})
	must(t, err)
	_, err = r.SetRotationPolicy(bg, "v", "k", vault.RotationPolicy{ExpiryTime: "P60D",
		LifetimeActions: []vault.LifetimeAction{{Type: "Rotate", TimeAfterCreate: "P30D"}}})
	must(t, err)
	h.advance(30*24*time.Hour - time.Second)
	if n := h.sweep(); n != 0 {
		t.Fatalf("rotated early (%d)", n)
	}
	h.advance(time.Second)
	if n := h.sweep(); n != 1 {
		t.Fatalf("sweep acted %d times, want 1", n)
	}
	got, err := r.GetKey(bg, "v", "k", "")
	must(t, err)
	at := t0.Add(30 * 24 * time.Hour)
	if got.ID == k.ID || got.Object.Versions != 2 || !got.Created.Equal(at) || !got.Expires.Equal(at.AddDate(0, 0, 60)) {
		t.Fatalf("rotated to %+v", got.KeyVersion)
	}
	if n := h.sweep(); n != 0 {
		t.Fatalf("a second sweep acted %d times", n)
	}
	// The next one, 30 days after the new version — with the default Notify, 30 days
	// before that version's expiry, at the same second.
	h.advance(30 * 24 * time.Hour)
	if n := h.sweep(); n != 2 {
		t.Fatalf("second rotation and notice: %d", n)
	}
	if got, _ := r.GetKey(bg, "v", "k", ""); got.Object.Versions != 3 {
		t.Fatalf("after the second rotation %+v", got.Object)
	}
	if c := h.s.SchedulerCounts(); c["other"] != 3 {
		t.Fatalf("scheduler counts %v", c)
	}
}

// TestRotationNotifyAndStale: a Notify before expiry acts (it is logged) without a new
// version; entries made for an older policy or an older exp are dropped without acting.
func TestRotationNotifyAndStale(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	exp := t0.Add(40 * 24 * time.Hour)
	_, err := r.CreateKey(bg, "v", "k", vault.KeyParams{Kty: "EC", Expires: &exp})
	must(t, err)
	_, err = r.SetRotationPolicy(bg, "v", "k", vault.RotationPolicy{LifetimeActions: []vault.LifetimeAction{{Type: "Notify", TimeBeforeExpiry: "P10D"}}})
	must(t, err)
	// Moving exp moves the notice: the entry for 30 days becomes stale.
	later := exp.Add(5 * 24 * time.Hour)
	_, err = r.UpdateKey(bg, "v", "k", "", vault.KeyUpdate{Expires: &later})
	must(t, err)
	h.advance(30 * 24 * time.Hour)
	if n := h.sweep(); n != 0 {
		t.Fatalf("a stale notice acted (%d)", n)
	}
	h.advance(5 * 24 * time.Hour)
	if n := h.sweep(); n != 1 {
		t.Fatalf("notice: %d", n)
	}
	if got, _ := r.GetKey(bg, "v", "k", ""); got.Object.Versions != 1 {
		t.Fatalf("a notice made a version: %+v", got.Object)
	}
	// A notice whose time has passed is not scheduled at all.
	_, err = r.SetRotationPolicy(bg, "v", "k", vault.RotationPolicy{LifetimeActions: []vault.LifetimeAction{{Type: "Notify", TimeBeforeExpiry: "P20D"}}})
	must(t, err)
	if due := h.keys("due/"); len(due) != 0 {
		t.Fatalf("scheduled in the past: %v", due)
	}
}

// TestRotationInDeletedVault: a rotation that falls due while its vault is deleted must
// not stop the scheduler: the vault is still purged when its retention ends.
func TestRotationInDeletedVault(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	h.vault("w", 30, false)
	r := h.s.Internal()
	_, err := r.CreateKey(bg, "v", "k", vault.KeyParams{Kty: "EC"})
	must(t, err)
	_, err = r.SetRotationPolicy(bg, "v", "k", vault.RotationPolicy{LifetimeActions: []vault.LifetimeAction{{Type: "Rotate", TimeAfterCreate: "P1D"}}})
	must(t, err)
	_, err = r.SetSecret(bg, "w", "s", vault.SecretParams{Value: "x"})
	must(t, err)
	_, err = r.Secrets().Delete(bg, "w", "s") // purged in 30 days, after the rotation's time
	must(t, err)
	_, _, err = r.DeleteVault(bg, "v")
	must(t, err)
	h.advance(2 * 24 * time.Hour)
	if n, err := h.s.Sweep(bg); err != nil || n != 0 {
		t.Fatalf("sweep with a rotation due in a deleted vault: %d %v", n, err)
	}
	h.advance(30 * 24 * time.Hour)
	if n, err := h.s.Sweep(bg); err != nil || n != 2 {
		t.Fatalf("sweep at the end of the retentions: %d %v", n, err)
	}
	if _, err := h.s.GetDeletedVault(bg, "v"); err == nil {
		t.Fatal("the deleted vault was not purged")
	}
}
