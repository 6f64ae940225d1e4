package rbac_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

// clock is a settable clock for views.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

const (
	a1 = "aaaaaaaa-0000-4000-8000-000000000001"
	a2 = "aaaaaaaa-0000-4000-8000-000000000002"
	a3 = "aaaaaaaa-0000-4000-8000-000000000003"
)

func mustCreate(t *testing.T, s *rbac.Service, a rbac.Assignment) rbac.Assignment {
	t.Helper()
	out, created, err := s.CreateAssignment(t.Context(), a, "tester")
	if err != nil || !created {
		t.Fatalf("create %+v: %v (created %v)", a, err, created)
	}
	return out
}

func allowed(t *testing.T, s *rbac.Service, principal, scope, action string, data bool) bool {
	t.Helper()
	v, err := s.View(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return v.Decide(rbac.Request{Principal: principal, Scope: scope, Action: action, Data: data}).Allowed
}

func TestAssignments(t *testing.T) {
	st := storagetest.NewMemory()
	clk := newClock()
	s := rbac.New(st, clk.now)
	ctx := t.Context()

	a := mustCreate(t, s, rbac.Assignment{Name: "AAAAAAAA-0000-4000-8000-000000000001", Scope: vault1, RoleDefinitionID: rbac.KeyVaultSecretsUser, PrincipalID: alice})
	if a.Name != a1 || a.Created.IsZero() || a.CreatedBy != "tester" {
		t.Fatalf("created %+v", a)
	}
	if !allowed(t, s, alice, sec1, getSecret, true) {
		t.Fatal("the new assignment does not take effect at once")
	}
	// The same again: the stored one, not a new one.
	again, created, err := s.CreateAssignment(ctx, rbac.Assignment{Name: a1, Scope: vault1, RoleDefinitionID: rbac.KeyVaultSecretsUser, PrincipalID: alice}, "x")
	if err != nil || created || again.CreatedBy != "tester" {
		t.Fatalf("repeated create: %+v %v %v", again, created, err)
	}
	for _, c := range []struct {
		a    rbac.Assignment
		kind error
	}{
		{rbac.Assignment{Name: a1, Scope: vault2, RoleDefinitionID: rbac.KeyVaultSecretsUser, PrincipalID: alice}, rbac.ErrUpdateNotAllowed},
		{rbac.Assignment{Name: a2, Scope: vault1, RoleDefinitionID: rbac.KeyVaultSecretsUser, PrincipalID: alice}, rbac.ErrExists},
		{rbac.Assignment{Name: "not-a-guid", Scope: vault1, RoleDefinitionID: rbac.KeyVaultSecretsUser, PrincipalID: alice}, rbac.ErrInvalid},
		{rbac.Assignment{Name: a2, Scope: "/", RoleDefinitionID: rbac.KeyVaultSecretsUser, PrincipalID: alice}, rbac.ErrInvalid},
		{rbac.Assignment{Name: a2, Scope: vault1, RoleDefinitionID: custom, PrincipalID: alice}, rbac.ErrRoleNotFound},
	} {
		if _, _, err := s.CreateAssignment(ctx, c.a, "x"); !errors.Is(err, c.kind) {
			t.Errorf("create %+v: %v, want %v", c.a, err, c.kind)
		}
	}

	// Deleting takes effect at once.
	got, found, err := s.DeleteAssignment(ctx, a1, nil)
	if err != nil || !found || got.Name != a1 {
		t.Fatalf("delete: %+v %v %v", got, found, err)
	}
	if allowed(t, s, alice, sec1, getSecret, true) {
		t.Fatal("the deleted assignment still applies")
	}
	if _, found, err := s.DeleteAssignment(ctx, a1, nil); err != nil || found {
		t.Fatalf("delete again: %v %v", found, err)
	}
	if _, err := s.Assignment(ctx, a1); !errors.Is(err, rbac.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
}

func TestCustomRoles(t *testing.T) {
	st := storagetest.NewMemory()
	s := rbac.New(st, newClock().now)
	ctx := t.Context()

	d, created, err := s.PutRole(ctx, customRole, "tester")
	if err != nil || !created || d.RoleType != rbac.CustomRole {
		t.Fatalf("put: %+v %v %v", d, created, err)
	}
	d.Description = "changed"
	if d2, created, err := s.PutRole(ctx, d, "other"); err != nil || created || d2.CreatedBy != "tester" || d2.UpdatedBy != "other" {
		t.Fatalf("update: %+v %v %v", d2, created, err)
	}
	bad := []struct {
		d    rbac.Definition
		kind error
	}{
		{rbac.Definition{ID: a2, RoleName: customRole.RoleName, AssignableScopes: []string{sub}, Permissions: customRole.Permissions}, rbac.ErrRoleNameTaken},
		{rbac.Definition{ID: a2, RoleName: "owner", AssignableScopes: []string{sub}, Permissions: customRole.Permissions}, rbac.ErrRoleNameTaken},
		{rbac.Definition{ID: rbac.Owner, RoleName: "x", AssignableScopes: []string{sub}, Permissions: customRole.Permissions}, rbac.ErrBuiltIn},
		{rbac.Definition{ID: a2, RoleName: "x", AssignableScopes: []string{vault1}, Permissions: customRole.Permissions}, rbac.ErrInvalid},
		{rbac.Definition{ID: a2, RoleName: "x", AssignableScopes: []string{"/"}, Permissions: customRole.Permissions}, rbac.ErrInvalid},
		{rbac.Definition{ID: a2, RoleName: "x", Permissions: customRole.Permissions}, rbac.ErrInvalid},
		{rbac.Definition{ID: "nope", RoleName: "x", AssignableScopes: []string{sub}, Permissions: customRole.Permissions}, rbac.ErrInvalid},
	}
	for _, c := range bad {
		if _, _, err := s.PutRole(ctx, c.d, "x"); !errors.Is(err, c.kind) {
			t.Errorf("put %+v: %v, want %v", c.d, err, c.kind)
		}
	}

	// Assignable only below its scopes.
	rgRole := rbac.Definition{ID: a3, RoleName: "rg only", AssignableScopes: []string{rg1}, Permissions: customRole.Permissions}
	if _, _, err := s.PutRole(ctx, rgRole, "x"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateAssignment(ctx, rbac.Assignment{Name: a1, Scope: rg2, RoleDefinitionID: a3, PrincipalID: alice}, "x"); !errors.Is(err, rbac.ErrRoleNotAssignable) {
		t.Fatalf("assign outside its scopes: %v", err)
	}
	mustCreate(t, s, rbac.Assignment{Name: a1, Scope: vault1, RoleDefinitionID: custom, PrincipalID: alice})
	if !allowed(t, s, alice, sec1, deleteSec, true) || allowed(t, s, alice, sec1, purgeSec, true) {
		t.Fatal("the custom role does not decide as defined")
	}
	// An assigned role is not deleted; once unassigned it is.
	if _, _, err := s.DeleteRole(ctx, custom); !errors.Is(err, rbac.ErrRoleInUse) {
		t.Fatalf("delete an assigned role: %v", err)
	}
	if _, _, err := s.DeleteRole(ctx, rbac.Owner); !errors.Is(err, rbac.ErrBuiltIn) {
		t.Fatalf("delete a built-in role: %v", err)
	}
	s.DeleteAssignment(ctx, a1, nil)
	if _, found, err := s.DeleteRole(ctx, custom); err != nil || !found {
		t.Fatalf("delete: %v %v", found, err)
	}
	if _, err := s.Role(ctx, custom); !errors.Is(err, rbac.ErrRoleNotFound) {
		t.Fatalf("get deleted role: %v", err)
	}
	roles, err := s.Roles(ctx)
	if err != nil || len(roles) != len(rbac.BuiltIns())+1 || roles[len(roles)-1].ID != a3 {
		t.Fatalf("roles: %d %v", len(roles), err)
	}
}

// TestVaultLifecycle: a vault's assignments are set aside with it when it is deleted,
// come back when it is recovered, and go when it is purged; others stay.
func TestVaultLifecycle(t *testing.T) {
	st := storagetest.NewMemory()
	s := rbac.New(st, newClock().now)
	ctx := t.Context()
	mustCreate(t, s, rbac.Assignment{Name: a1, Scope: vault1, RoleDefinitionID: rbac.KeyVaultSecretsUser, PrincipalID: alice})
	mustCreate(t, s, rbac.Assignment{Name: a2, Scope: sec1, RoleDefinitionID: rbac.KeyVaultSecretsOfficer, PrincipalID: bob})
	mustCreate(t, s, rbac.Assignment{Name: a3, Scope: vault2, RoleDefinitionID: rbac.KeyVaultSecretsUser, PrincipalID: alice})
	names := func() []string {
		as, err := s.Assignments(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range as {
			out = append(out, a.Name)
		}
		return out
	}
	step := func(fn func(storage.Tx, string) error) {
		t.Helper()
		if err := st.Update(ctx, func(tx storage.Tx) error { return fn(tx, "V1") }); err != nil {
			t.Fatal(err)
		}
		s.Invalidate()
	}
	step(rbac.HoldVault)
	if got := names(); len(got) != 1 || got[0] != a3 || allowed(t, s, alice, sec1, getSecret, true) {
		t.Fatalf("after the vault's delete: %v", got)
	}
	step(rbac.ReleaseVault)
	if got := names(); len(got) != 3 || !allowed(t, s, alice, sec1, getSecret, true) || !allowed(t, s, bob, sec1, setSecret, true) {
		t.Fatalf("after the vault's recovery: %v", got)
	}
	step(rbac.HoldVault)
	step(rbac.PurgeVault)
	step(rbac.ReleaseVault) // nothing left to bring back
	if got := names(); len(got) != 1 || got[0] != a3 {
		t.Fatalf("after the vault's purge: %v", got)
	}
	for _, k := range st.Keys() {
		if len(k) > len("rbac/held/") && k[:len("rbac/held/")] == "rbac/held/" {
			t.Errorf("held assignment left after the purge: %s", k)
		}
	}
}

// TestViewFollowsOtherServers: a change made through another Service on the same storage
// (another server) holds here once the view is a second old; one made here, at once.
func TestViewFollowsOtherServers(t *testing.T) {
	st := storagetest.NewMemory()
	clk := newClock()
	here, there := rbac.New(st, clk.now), rbac.New(st, clk.now)
	mustCreate(t, there, rbac.Assignment{Name: a1, Scope: vault1, RoleDefinitionID: rbac.KeyVaultSecretsUser, PrincipalID: alice})
	if !allowed(t, here, alice, sec1, getSecret, true) {
		t.Fatal("a fresh view does not see the other server's assignment")
	}
	if _, _, err := there.DeleteAssignment(t.Context(), a1, nil); err != nil {
		t.Fatal(err)
	}
	if !allowed(t, here, alice, sec1, getSecret, true) {
		t.Fatal("the view was not cached") // it may be trusted for a second
	}
	clk.advance(999 * time.Millisecond)
	if !allowed(t, here, alice, sec1, getSecret, true) {
		t.Fatal("the view was re-read before its second was over")
	}
	clk.advance(time.Millisecond)
	if allowed(t, here, alice, sec1, getSecret, true) {
		t.Fatal("the other server's delete does not hold after a second")
	}
	// A view whose second is over but whose storage has not changed is kept (only the
	// counter is read).
	v1, _ := here.View(t.Context())
	clk.advance(2 * time.Second)
	v2, _ := here.View(t.Context())
	if v1 == v2 {
		t.Fatal("the view was not re-checked")
	}
}

func TestEnsureOwner(t *testing.T) {
	st := storagetest.NewMemory()
	s := rbac.New(st, newClock().now)
	ctx := t.Context()
	const subID = "c0ffe000-0000-4000-8000-000000000000"
	for range 2 {
		if err := s.EnsureOwner(ctx, alice, subID); err != nil {
			t.Fatal(err)
		}
	}
	as, _ := s.Assignments(ctx)
	if len(as) != 1 || as[0].RoleDefinitionID != rbac.Owner || as[0].PrincipalID != alice || as[0].Scope != "/subscriptions/"+subID {
		t.Fatalf("assignments %+v", as)
	}
	if !allowed(t, s, alice, vault1, vaultWrite, false) {
		t.Fatal("Owner does not manage vaults")
	}
	// Deleted, it stays deleted.
	s.DeleteAssignment(ctx, as[0].Name, nil)
	if err := s.EnsureOwner(ctx, alice, subID); err != nil {
		t.Fatal(err)
	}
	if as, _ := s.Assignments(ctx); len(as) != 0 {
		t.Fatalf("the deleted Owner assignment came back: %+v", as)
	}
}
