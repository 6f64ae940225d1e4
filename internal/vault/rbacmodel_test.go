package vault_test

import (
	"testing"

	"github.com/coffer/coffer/internal/authz"
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
