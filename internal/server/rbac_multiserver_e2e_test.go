package server_test

import (
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/storage/postgres/pgtest"
	"github.com/coffer/coffer/internal/testenv"
)

// TestMultiServerRoleAssignments: two servers on one PostgreSQL database. A role
// assignment made through A holds on B within about a second; removed through A, it stops
// holding on A at once and on B within about a second (each server re-checks the stored
// assignments every second, as it re-checks principals).
func TestMultiServerRoleAssignments(t *testing.T) {
	pgtest.DSN(t)
	c := newCluster(t, freshPostgres(t))
	a := c.start(t, t.TempDir())
	b := c.start(t, t.TempDir())
	ctx := t.Context()

	rbacVault(t, a, "team", "shared-rbac")
	setEach(t, a.Secrets(t, "shared-rbac"), "v", "s")
	p := newPrincipal(t, a, "reader")
	onA, onB := secretsFor(t, a, p, "shared-rbac"), secretsFor(t, b, p, "shared-rbac")
	get := func(which string) int {
		sc := onA
		if which == "b" {
			sc = onB
		}
		_, err := sc.GetSecret(ctx, "s", "", nil)
		return statusOf(err)
	}
	if s := get("b"); s != 403 { // B has read its view now: without the role
		t.Fatalf("B before the assignment: %d", s)
	}

	name := uuid.NewString()
	scope := vaultScopeOf("team", "shared-rbac")
	if _, err := a.RoleAssignments(t, testenv.DefaultSubscription).Create(ctx, scope, name, armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{RoleDefinitionID: to.Ptr(roleRef(rbac.KeyVaultSecretsUser)), PrincipalID: to.Ptr(p.ObjectID)},
	}, nil); err != nil {
		t.Fatal(err)
	}
	if s := get("a"); s != 0 {
		t.Fatalf("A right after the assignment: %d", s)
	}
	took := pollUntil(t, 10*time.Second, "B follows A's assignment", func() bool { return get("b") == 0 })
	if took > 3*time.Second {
		t.Errorf("B followed A's assignment only after %s, want about a second", took)
	}

	if _, err := a.RoleAssignments(t, testenv.DefaultSubscription).Delete(ctx, scope, name, nil); err != nil {
		t.Fatal(err)
	}
	if s := get("a"); s != 403 {
		t.Fatalf("A right after the removal: %d, want 403", s)
	}
	took = pollUntil(t, 10*time.Second, "B follows A's removal", func() bool { return get("b") == 403 })
	t.Logf("B refused the removed assignment after %s", took.Round(time.Millisecond))
	if took > 3*time.Second {
		t.Errorf("B refused only after %s, want about a second", took)
	}
}
