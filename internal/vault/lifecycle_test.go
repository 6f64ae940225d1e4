package vault_test

import (
	"errors"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/vault"
)

// TestLifecycleTable is the whole lifecycle as a table: state × operation × purge
// protection → state and error, for objects and for vaults (one Lifecycle, each with its
// own error kinds).
func TestLifecycleTable(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	retention := 7 * 24 * time.Hour
	deletion := vault.Lifecycle{DeletedDate: t0, ScheduledPurgeDate: t0.Add(retention)}
	during := t0.Add(time.Hour)
	after := t0.Add(retention) // the scheduledPurgeDate itself counts as purged

	// subject is one thing with a lifecycle, reduced to the four rules.
	type subject struct {
		state      func(now time.Time) vault.State
		softDelete func(now time.Time) error
		recover    func(now time.Time) error
		purge      func(now time.Time) error
		reuse      func(now time.Time) error
	}
	object := func(deleted, protected bool) subject {
		o := &vault.Object{Kind: vault.KindSecret, Name: "s"}
		if deleted {
			o.Lifecycle = deletion
		}
		// (a method value of State would copy the Lifecycle as it is now)
		return subject{func(now time.Time) vault.State { return o.State(now) }, func(now time.Time) error { return o.SoftDelete(now, retention) }, o.Recover,
			func(now time.Time) error { return o.CheckPurge(now, protected) }, o.CheckNameFree}
	}
	vaultOf := func(deleted, protected bool) subject {
		v := &vault.Vault{Name: "v", RetentionDays: 7, PurgeProtection: protected}
		if deleted {
			v.Lifecycle = deletion
		}
		return subject{func(now time.Time) vault.State { return v.State(now) }, v.SoftDelete, v.Recover, v.CheckPurge, v.CheckNameFree}
	}
	// A vault breaks the same rules with its own error kinds.
	vaultErr := map[error]error{
		vault.ErrNotFound:              vault.ErrVaultNotFound,
		vault.ErrDeletedNotFound:       vault.ErrVaultNotFound,
		vault.ErrDeletedButRecoverable: vault.ErrVaultDeletedName,
		vault.ErrPurgeProtected:        vault.ErrVaultPurgeProtected,
	}

	type op func(s subject, now time.Time) error
	softDelete := func(s subject, now time.Time) error { return s.softDelete(now) }
	recoverOp := func(s subject, now time.Time) error { return s.recover(now) }
	purge := func(s subject, now time.Time) error { return s.purge(now) }
	reuse := func(s subject, now time.Time) error { return s.reuse(now) }
	const active, deleted = false, true

	cases := []struct {
		name      string
		deleted   bool
		now       time.Time
		op        op
		protected bool
		wantErr   error
		wantState vault.State
	}{
		{"ok/delete-active", active, during, softDelete, false, nil, vault.Deleted},
		{"ok/delete-active-protected", active, during, softDelete, true, nil, vault.Deleted},
		{"fail/delete-deleted", deleted, during, softDelete, false, vault.ErrNotFound, vault.Deleted},
		{"fail/delete-purged", deleted, after, softDelete, false, vault.ErrNotFound, vault.Purged},
		{"ok/recover-deleted", deleted, during, recoverOp, false, nil, vault.Active},
		{"ok/recover-deleted-protected", deleted, during, recoverOp, true, nil, vault.Active},
		{"fail/recover-active", active, during, recoverOp, false, vault.ErrDeletedNotFound, vault.Active},
		{"fail/recover-purged", deleted, after, recoverOp, false, vault.ErrDeletedNotFound, vault.Purged},
		{"ok/purge-deleted", deleted, during, purge, false, nil, vault.Deleted},
		{"fail/purge-protected", deleted, during, purge, true, vault.ErrPurgeProtected, vault.Deleted},
		{"fail/purge-active", active, during, purge, false, vault.ErrDeletedNotFound, vault.Active},
		{"fail/purge-purged", deleted, after, purge, true, vault.ErrDeletedNotFound, vault.Purged},
		{"ok/reuse-active-name", active, during, reuse, false, nil, vault.Active},
		{"fail/reuse-deleted-name", deleted, during, reuse, false, vault.ErrDeletedButRecoverable, vault.Deleted},
		{"fail/reuse-deleted-name-protected", deleted, during, reuse, true, vault.ErrDeletedButRecoverable, vault.Deleted},
		{"ok/reuse-after-retention", deleted, after, reuse, false, nil, vault.Purged},
	}
	for _, kind := range []string{"object", "vault"} {
		for _, tc := range cases {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				s, want := object(tc.deleted, tc.protected), tc.wantErr
				if kind == "vault" {
					s, want = vaultOf(tc.deleted, tc.protected), vaultErr[tc.wantErr]
				}
				err := tc.op(s, tc.now)
				if !errors.Is(err, want) || (want == nil) != (err == nil) {
					t.Fatalf("err = %v, want %v", err, want)
				}
				var ve *vault.Error
				if want == vault.ErrDeletedButRecoverable || want == vault.ErrPurgeProtected || want == vault.ErrVaultDeletedName || want == vault.ErrVaultPurgeProtected {
					if !errors.As(err, &ve) || !ve.ScheduledPurgeDate.Equal(deletion.ScheduledPurgeDate) {
						t.Fatalf("err %v does not carry the scheduledPurgeDate", err)
					}
				}
				if got := s.state(tc.now); got != tc.wantState {
					t.Fatalf("state = %v, want %v", got, tc.wantState)
				}
			})
		}
	}
}

// TestVaultSoftDeleteDates: a vault's retention is its own.
func TestVaultSoftDeleteDates(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	v := &vault.Vault{Name: "v", RetentionDays: 30}
	if err := v.SoftDelete(now); err != nil {
		t.Fatal(err)
	}
	if !v.DeletedDate.Equal(now) || !v.ScheduledPurgeDate.Equal(now.AddDate(0, 0, 30)) || v.State(now) != vault.Deleted {
		t.Fatalf("dates %v %v", v.DeletedDate, v.ScheduledPurgeDate)
	}
	if err := v.Recover(now); err != nil || v.Lifecycle != (vault.Lifecycle{}) {
		t.Fatalf("recover %v %+v", err, v.Lifecycle)
	}
}

func TestSoftDeleteDates(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	o := &vault.Object{Kind: vault.KindSecret, Name: "s"}
	if err := o.SoftDelete(now, 90*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if !o.DeletedDate.Equal(now) || !o.ScheduledPurgeDate.Equal(now.AddDate(0, 0, 90)) {
		t.Fatalf("dates %v %v", o.DeletedDate, o.ScheduledPurgeDate)
	}
}

func TestRecoveryLevel(t *testing.T) {
	for _, tc := range []struct {
		days      int
		protected bool
		want      string
	}{
		{90, false, "Recoverable+Purgeable"},
		{90, true, "Recoverable"},
		{7, false, "CustomizedRecoverable+Purgeable"},
		{89, true, "CustomizedRecoverable"},
	} {
		v := vault.Vault{RetentionDays: tc.days, PurgeProtection: tc.protected}
		if got := v.RecoveryLevel(); got != tc.want {
			t.Errorf("%d/%v: %s, want %s", tc.days, tc.protected, got, tc.want)
		}
	}
}

func FuzzValidName(f *testing.F) {
	for _, s := range []string{"", "a", "db-password", "bad_name", "a/b", "ü", string(make([]byte, 128))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ok := vault.ValidName(s)
		if ok && (len(s) == 0 || len(s) > 127) {
			t.Fatalf("accepted %q", s)
		}
		for _, c := range []byte(s) {
			if ok && !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}
