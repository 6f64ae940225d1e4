package vault_test

import (
	"errors"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/vault"
)

// TestLifecycleTable is the whole lifecycle as a table: state × operation × purge
// protection → state and error.
func TestLifecycleTable(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	retention := 7 * 24 * time.Hour
	active := func() *vault.Object { return &vault.Object{Kind: vault.KindSecret, Name: "s"} }
	deleted := func() *vault.Object {
		return &vault.Object{Kind: vault.KindSecret, Name: "s", DeletedDate: t0, ScheduledPurgeDate: t0.Add(retention)}
	}
	during := t0.Add(time.Hour)
	after := t0.Add(retention) // the scheduledPurgeDate itself counts as purged

	type op func(o *vault.Object, now time.Time, protected bool) error
	softDelete := func(o *vault.Object, now time.Time, _ bool) error { return o.SoftDelete(now, retention) }
	recoverOp := func(o *vault.Object, now time.Time, _ bool) error { return o.Recover(now) }
	purge := func(o *vault.Object, now time.Time, p bool) error { return o.CheckPurge(now, p) }
	reuse := func(o *vault.Object, now time.Time, _ bool) error { return o.CheckNameFree(now) }

	cases := []struct {
		name      string
		obj       func() *vault.Object
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
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.obj()
			err := tc.op(o, tc.now, tc.protected)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if got := o.State(tc.now); got != tc.wantState {
				t.Fatalf("state = %v, want %v", got, tc.wantState)
			}
		})
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
