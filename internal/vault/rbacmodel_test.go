package vault_test

import (
	"fmt"
	"testing"

	"github.com/coffer/coffer/internal/authz"
	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/vault"
)

// TestVaultRBACModel: a vault switches between access policies and role-based access
// control as Azure's does: both ways, as often as asked, its access policies kept (and
// ignored while RBAC is on); newer api-versions create RBAC vaults by default, and
// never turn an existing vault over.
func TestVaultRBACModel(t *testing.T) {
	h := armHarness(t)
	r := h.s.Internal()
	p := sub1
	p.AccessPolicies = &[]authz.Policy{{ObjectID: "alice", Permissions: authz.Permissions{Secrets: []string{"get"}}}}
	v, _, err := r.CreateOrUpdateVault(bg, "model-1", p)
	must(t, err)
	if v.RBAC {
		t.Fatal("a vault created without enableRbacAuthorization is an RBAC vault")
	}
	for _, on := range []bool{true, true, false, true} {
		q := sub1
		q.RBAC = &on
		v, _, err = r.CreateOrUpdateVault(bg, "model-1", q)
		must(t, err)
		if v.RBAC != on || len(v.AccessPolicies) != 1 {
			t.Fatalf("switched to RBAC %v: %+v", on, v)
		}
	}
	// An update that does not name the model keeps it.
	v, _, err = r.CreateOrUpdateVault(bg, "model-1", sub1)
	must(t, err)
	if !v.RBAC {
		t.Fatal("an update without enableRbacAuthorization turned RBAC off")
	}

	byDefault := sub1
	byDefault.RBACByDefault = true
	v, _, err = r.CreateOrUpdateVault(bg, "model-2", byDefault)
	must(t, err)
	if !v.RBAC {
		t.Fatal("RBACByDefault did not make an RBAC vault")
	}
	off := false
	byDefault.RBAC = &off
	v, _, err = r.CreateOrUpdateVault(bg, "model-3", byDefault)
	must(t, err)
	if v.RBAC {
		t.Fatal("RBACByDefault overrode an explicit false")
	}
	v, _, err = r.CreateOrUpdateVault(bg, "model-3", vault.VaultParams{Subscription: "sub1", ResourceGroup: "rg", RBACByDefault: true})
	must(t, err)
	if v.RBAC {
		t.Fatal("RBACByDefault turned an existing vault over")
	}
}

// TestVaultRoleAssignmentsFollowTheVault: a vault's role assignments are set aside by its
// delete, back with its recover, and gone with its purge, in the transition's own
// transaction; those elsewhere stay.
func TestVaultRoleAssignmentsFollowTheVault(t *testing.T) {
	h := armHarness(t)
	r := h.s.Internal()
	h.armVault("roles-1", 7, false)
	roles := rbac.New(h.st, h.clk.Now)
	scope := rbac.VaultScope("sub1", "rg", "roles-1")
	for i, s := range []string{scope, scope + "/secrets/x", "/subscriptions/sub1/resourceGroups/rg"} {
		_, _, err := roles.CreateAssignment(bg, rbac.Assignment{Name: fmt.Sprintf("00000000-0000-4000-8000-00000000000%d", i),
			Scope: s, RoleDefinitionID: rbac.KeyVaultSecretsUser, PrincipalID: "alice"}, "test")
		must(t, err)
	}
	count := func() int {
		t.Helper()
		as, err := roles.Assignments(bg)
		must(t, err)
		return len(as)
	}
	_, _, err := r.DeleteVault(bg, "roles-1")
	must(t, err)
	if n := count(); n != 1 {
		t.Fatalf("after the delete: %d assignments in force, want 1", n)
	}
	_, err = r.RecoverVault(bg, "roles-1")
	must(t, err)
	if n := count(); n != 3 {
		t.Fatalf("after the recover: %d, want 3", n)
	}
	_, _, err = r.DeleteVault(bg, "roles-1")
	must(t, err)
	must(t, r.PurgeVault(bg, "roles-1"))
	_, err = r.RecoverVault(bg, "roles-1")
	if n := count(); n != 1 || err == nil {
		t.Fatalf("after the purge: %d, want 1 (recover: %v)", n, err)
	}
}
