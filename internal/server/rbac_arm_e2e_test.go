package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/testenv"
)

// Microsoft.Authorization through armauthorization (pinned, v2.2.0) against a real
// server: role definitions and role assignments at every scope Coffer takes.

const subScope = "/subscriptions/" + testenv.DefaultSubscription

func roleRef(id string) string {
	return subScope + "/providers/Microsoft.Authorization/roleDefinitions/" + id
}

// assign makes a role assignment as the administrator and returns its name.
func assign(t *testing.T, st *testenv.Stack, scope, role, principal string) string {
	t.Helper()
	name := uuid.NewString()
	_, err := st.RoleAssignments(t, testenv.DefaultSubscription).Create(t.Context(), scope, name, armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{RoleDefinitionID: to.Ptr(roleRef(role)), PrincipalID: to.Ptr(principal)},
	}, nil)
	if err != nil {
		t.Fatalf("assign %s at %s: %v", role, scope, err)
	}
	return name
}

func TestRBACRoleDefinitions(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := t.Context()
	rd := st.RoleDefinitions(t)

	// Every built-in role at the subscription, with Azure's ids and shapes.
	all := pages(t, rd.NewListPager(subScope, nil))
	byName := map[string]*armauthorization.RoleDefinition{}
	for _, p := range all {
		for _, d := range p.Value {
			byName[*d.Properties.RoleName] = d
		}
	}
	for _, b := range rbac.BuiltIns() {
		d := byName[b.RoleName]
		if d == nil || *d.Name != b.ID || *d.ID != roleRef(b.ID) || *d.Type != "Microsoft.Authorization/roleDefinitions" ||
			*d.Properties.RoleType != "BuiltInRole" || len(d.Properties.Permissions) != 1 || *d.Properties.AssignableScopes[0] != "/" {
			t.Fatalf("built-in %s: %+v", b.RoleName, d)
		}
	}
	su := byName["Key Vault Secrets User"].Properties.Permissions[0]
	if len(su.DataActions) != 2 || *su.DataActions[0] != "Microsoft.KeyVault/vaults/secrets/getSecret/action" || su.Actions == nil || su.NotDataActions == nil {
		t.Fatalf("Key Vault Secrets User permissions: %+v", su)
	}

	// $filter=roleName eq '…', as az resolves --role.
	got := pages(t, rd.NewListPager(subScope+"/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/v1/secrets/s1",
		&armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("roleName eq 'Key Vault Purge Operator'")}))
	if len(got) != 1 || len(got[0].Value) != 1 || *got[0].Value[0].Name != rbac.KeyVaultPurgeOperator || *got[0].Value[0].ID != roleRef(rbac.KeyVaultPurgeOperator) {
		t.Fatalf("filter by name: %+v", got)
	}

	// By id: at a scope, and by the id itself (tenant-level and subscription-level).
	if r, err := rd.Get(ctx, subScope, rbac.KeyVaultContributor, nil); err != nil || *r.Properties.RoleName != "Key Vault Contributor" {
		t.Fatalf("get: %v", err)
	}
	for _, id := range []string{roleRef(rbac.Owner), "/providers/Microsoft.Authorization/roleDefinitions/" + rbac.Owner} {
		if r, err := rd.GetByID(ctx, id, nil); err != nil || *r.Properties.RoleName != "Owner" || *r.ID != id {
			t.Fatalf("get by id %s: %+v %v", id, r.ID, err)
		}
	}
	_, err := rd.Get(ctx, subScope, uuid.NewString(), nil)
	wantCode(t, err, 404, "RoleDefinitionDoesNotExist")

	// Custom roles at a subscription and at a resource group.
	customID := uuid.NewString()
	def := armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
		RoleName: to.Ptr("Secrets without purge"), Description: to.Ptr("delete and recover, never purge"), RoleType: to.Ptr("CustomRole"),
		AssignableScopes: []*string{to.Ptr(subScope)},
		Permissions: []*armauthorization.Permission{{
			Actions:        []*string{to.Ptr("Microsoft.KeyVault/vaults/read")},
			DataActions:    []*string{to.Ptr("Microsoft.KeyVault/vaults/secrets/*")},
			NotDataActions: []*string{to.Ptr("Microsoft.KeyVault/vaults/secrets/purge/action")},
		}},
	}}
	created, err := rd.CreateOrUpdate(ctx, subScope, customID, def, nil)
	if err != nil || *created.Name != customID || *created.Properties.RoleType != "CustomRole" || *created.ID != roleRef(customID) {
		t.Fatalf("create custom role: %+v %v", created, err)
	}
	def.Properties.Description = to.Ptr("changed")
	if upd, err := rd.CreateOrUpdate(ctx, subScope, customID, def, nil); err != nil || *upd.Properties.Description != "changed" {
		t.Fatalf("update custom role: %v", err)
	}
	rgRole := uuid.NewString()
	rgScope := subScope + "/resourceGroups/team-a"
	if _, err := rd.CreateOrUpdate(ctx, rgScope, rgRole, armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
		RoleName: to.Ptr("Team A reader"), AssignableScopes: []*string{to.Ptr(rgScope)},
		Permissions: []*armauthorization.Permission{{DataActions: []*string{to.Ptr("Microsoft.KeyVault/vaults/secrets/readMetadata/action")}}},
	}}, nil); err != nil {
		t.Fatalf("create a group's custom role: %v", err)
	}
	byType := pages(t, rd.NewListPager(rgScope, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("type eq 'CustomRole'")}))
	if len(byType[0].Value) != 2 {
		t.Fatalf("custom roles at the group: %d", len(byType[0].Value))
	}
	// The same name twice, and a custom role on a built-in id, are refused.
	_, err = rd.CreateOrUpdate(ctx, subScope, uuid.NewString(), def, nil)
	wantCode(t, err, 409, "RoleDefinitionWithSameNameExists")
	_, err = rd.CreateOrUpdate(ctx, subScope, rbac.Owner, def, nil)
	wantCode(t, err, 400, "BuiltInRoleDefinitionNotModifiable")

	// An assigned custom role is not deleted; unassigned it is.
	p := newPrincipal(t, st, "custom-holder")
	name := assign(t, st, subScope+"/resourceGroups/rg1", customID, p.ObjectID)
	_, err = rd.Delete(ctx, subScope, customID, nil)
	wantCode(t, err, 409, "RoleDefinitionHasAssignments")
	if _, err := st.RoleAssignments(t, testenv.DefaultSubscription).Delete(ctx, subScope+"/resourceGroups/rg1", name, nil); err != nil {
		t.Fatal(err)
	}
	if d, err := rd.Delete(ctx, subScope, customID, nil); err != nil || d.Name == nil || *d.Name != customID {
		t.Fatalf("delete custom role: %v", err)
	}
	if _, err := rd.Get(ctx, subScope, customID, nil); statusOf(err) != 404 {
		t.Fatalf("deleted role: %v", err)
	}
}

func TestRBACRoleAssignments(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := t.Context()
	ra := st.RoleAssignments(t, testenv.DefaultSubscription)
	admin := adminObjectID(t, st)

	// The administrator holds Owner at the subscription, as a real assignment.
	var owner *armauthorization.RoleAssignment
	for _, p := range pages(t, ra.NewListForSubscriptionPager(nil)) {
		for _, a := range p.Value {
			if *a.Properties.PrincipalID == admin {
				owner = a
			}
		}
	}
	if owner == nil || *owner.Properties.RoleDefinitionID != roleRef(rbac.Owner) || *owner.Properties.Scope != subScope ||
		*owner.Type != "Microsoft.Authorization/roleAssignments" || *owner.ID != subScope+"/providers/Microsoft.Authorization/roleAssignments/"+*owner.Name {
		t.Fatalf("the administrator's Owner assignment: %+v", owner)
	}

	createVault(t, st.Vaults(t, testenv.DefaultSubscription), "rg1", "rbac-v1", vaultParams(st, "local", 7, false))
	vaultScope := subScope + "/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/rbac-v1"
	secretScope := vaultScope + "/secrets/db-password"
	p := newPrincipal(t, st, "assignee")

	// One assignment at each kind of scope, with names the client chose.
	scopes := []string{subScope, subScope + "/resourceGroups/rg1", vaultScope, secretScope}
	names := map[string]string{}
	for _, s := range scopes {
		name := uuid.NewString()
		got, err := ra.Create(ctx, s, name, armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
			RoleDefinitionID: to.Ptr(roleRef(rbac.KeyVaultSecretsUser)), PrincipalID: to.Ptr(p.ObjectID),
			PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal), Description: to.Ptr("at " + s),
		}}, nil)
		if err != nil || *got.Name != name || *got.Properties.Scope != s || *got.Properties.PrincipalID != p.ObjectID ||
			*got.Properties.RoleDefinitionID != roleRef(rbac.KeyVaultSecretsUser) || got.Properties.CreatedOn == nil ||
			*got.Properties.PrincipalType != armauthorization.PrincipalTypeServicePrincipal {
			t.Fatalf("create at %s: %+v %v", s, got, err)
		}
		names[s] = name
		// The same again answers the same assignment.
		if again, err := ra.Create(ctx, s, name, armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
			RoleDefinitionID: to.Ptr(roleRef(rbac.KeyVaultSecretsUser)), PrincipalID: to.Ptr(p.ObjectID)}}, nil); err != nil || *again.Name != name {
			t.Fatalf("create again at %s: %v", s, err)
		}
		if g, err := ra.Get(ctx, s, name, nil); err != nil || *g.Properties.Scope != s {
			t.Fatalf("get at %s: %v", s, err)
		}
		if g, err := ra.GetByID(ctx, s+"/providers/Microsoft.Authorization/roleAssignments/"+name, nil); err != nil || *g.Name != name {
			t.Fatalf("get by id at %s: %v", s, err)
		}
	}

	list := func(scope, filter string) map[string]bool {
		t.Helper()
		var o *armauthorization.RoleAssignmentsClientListForScopeOptions
		if filter != "" {
			o = &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr(filter)}
		}
		out := map[string]bool{}
		for _, pg := range pages(t, ra.NewListForScopePager(scope, o)) {
			for _, a := range pg.Value {
				if *a.Properties.PrincipalID == p.ObjectID {
					out[*a.Properties.Scope] = true
				}
			}
		}
		return out
	}
	// atScope(): at the scope or above it. No filter: also below. principalId: one principal's.
	if got := list(vaultScope, "atScope()"); len(got) != 3 || got[secretScope] {
		t.Fatalf("atScope() at the vault: %v", got)
	}
	if got := list(vaultScope, ""); len(got) != 4 {
		t.Fatalf("at the vault: %v", got)
	}
	if got := list(subScope, "atScope()"); len(got) != 1 || !got[subScope] {
		t.Fatalf("atScope() at the subscription: %v", got)
	}
	if got := list(subScope, "principalId eq '"+p.ObjectID+"'"); len(got) != 4 {
		t.Fatalf("principalId at the subscription: %v", got)
	}
	if got := list(subScope, "principalId eq '"+admin+"'"); len(got) != 0 {
		t.Fatalf("principalId of another principal: %v", got)
	}
	n := 0
	for _, pg := range pages(t, ra.NewListForResourcePager("rg1", "Microsoft.KeyVault", "vaults", "rbac-v1", &armauthorization.RoleAssignmentsClientListForResourceOptions{Filter: to.Ptr("atScope()")})) {
		n += len(pg.Value)
	}
	if n != 4 { // the three of p, and the administrator's Owner
		t.Fatalf("list for the vault resource: %d", n)
	}
	n = 0
	for _, pg := range pages(t, ra.NewListForResourceGroupPager("rg1", &armauthorization.RoleAssignmentsClientListForResourceGroupOptions{Filter: to.Ptr("principalId eq '" + p.ObjectID + "'")})) {
		n += len(pg.Value)
	}
	if n != 4 {
		t.Fatalf("list for the group: %d", n)
	}

	// Refusals, with Azure's codes.
	create := func(scope, name, role, principal string) error {
		_, err := ra.Create(ctx, scope, name, armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
			RoleDefinitionID: to.Ptr(roleRef(role)), PrincipalID: to.Ptr(principal)}}, nil)
		return err
	}
	wantCode(t, create(vaultScope, uuid.NewString(), rbac.KeyVaultSecretsUser, p.ObjectID), 409, "RoleAssignmentExists")
	wantCode(t, create(vaultScope, names[subScope], rbac.KeyVaultSecretsUser, p.ObjectID), 409, "RoleAssignmentUpdateNotPermitted")
	wantCode(t, create(vaultScope, "not-a-guid", rbac.KeyVaultSecretsUser, p.ObjectID), 400, "InvalidRoleAssignmentId")
	wantCode(t, create(vaultScope, uuid.NewString(), rbac.KeyVaultSecretsUser, uuid.NewString()), 400, "PrincipalNotFound")
	wantCode(t, create(vaultScope, uuid.NewString(), uuid.NewString(), p.ObjectID), 400, "RoleDefinitionDoesNotExist")
	wantCode(t, create(subScope+"/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/no-such-vault", uuid.NewString(), rbac.KeyVaultSecretsUser, p.ObjectID), 404, "ResourceNotFound")
	wantCode(t, create(subScope+"/resourceGroups/rg2/providers/Microsoft.KeyVault/vaults/rbac-v1", uuid.NewString(), rbac.KeyVaultSecretsUser, p.ObjectID), 404, "ResourceNotFound")

	// Delete: the assignment, then nothing (204).
	del, err := ra.Delete(ctx, secretScope, names[secretScope], nil)
	if err != nil || del.Name == nil || *del.Name != names[secretScope] {
		t.Fatalf("delete: %+v %v", del, err)
	}
	if _, err := ra.Get(ctx, secretScope, names[secretScope], nil); statusOf(err) != 404 {
		t.Fatalf("get deleted: %v", err)
	}
	if _, err := ra.DeleteByID(ctx, secretScope+"/providers/Microsoft.Authorization/roleAssignments/"+names[secretScope], nil); err != nil {
		t.Fatalf("delete again: %v", err)
	}
	if status, _, _ := st.ARM(t, "DELETE", secretScope+"/providers/Microsoft.Authorization/roleAssignments/"+names[secretScope]+"?api-version=2022-04-01", nil); status != http.StatusNoContent {
		t.Fatalf("delete of nothing: %d", status)
	}
}

// TestRBACManagingAssignments: who may read and write role assignments is itself decided
// by role assignments: nothing without one; Reader reads; User Access Administrator
// writes; Key Vault Data Access Administrator writes the Key Vault data roles only.
func TestRBACManagingAssignments(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := t.Context()
	createVault(t, st.Vaults(t, testenv.DefaultSubscription), "rg1", "rbac-v2", vaultParams(st, "local", 7, false))
	vaultScope := subScope + "/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/rbac-v2"
	target := newPrincipal(t, st, "target")

	as := func(creds identity.Credentials) (*armauthorization.RoleAssignmentsClient, *armauthorization.RoleDefinitionsClient) {
		cred := testenv.Credential(t, creds, st.HTTP)
		return st.RoleAssignmentsAs(t, testenv.DefaultSubscription, cred), st.RoleDefinitionsAs(t, cred)
	}
	create := func(c *armauthorization.RoleAssignmentsClient, scope, role string) error {
		_, err := c.Create(ctx, scope, uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
			RoleDefinitionID: to.Ptr(roleRef(role)), PrincipalID: to.Ptr(target.ObjectID)}}, nil)
		return err
	}

	nobody := newPrincipal(t, st, "nobody")
	ra, rd := as(nobody)
	_, err := ra.NewListForScopePager(subScope, nil).NextPage(ctx)
	re := wantCode(t, err, 403, "AuthorizationFailed")
	if b, _ := readBody(re); !contains(b, "Microsoft.Authorization/roleAssignments/read") || !contains(b, nobody.ObjectID) {
		t.Fatalf("403 does not name the action and the caller: %s", b)
	}
	_, err = rd.NewListPager(subScope, nil).NextPage(ctx)
	wantCode(t, err, 403, "AuthorizationFailed")
	wantCode(t, create(ra, vaultScope, rbac.KeyVaultSecretsUser), 403, "AuthorizationFailed")

	reader := newPrincipal(t, st, "reader")
	assign(t, st, subScope, rbac.Reader, reader.ObjectID)
	ra, rd = as(reader)
	if _, err := ra.NewListForScopePager(vaultScope, nil).NextPage(ctx); err != nil {
		t.Fatalf("Reader lists assignments: %v", err)
	}
	if _, err := rd.NewListPager(subScope, nil).NextPage(ctx); err != nil {
		t.Fatalf("Reader lists roles: %v", err)
	}
	wantCode(t, create(ra, vaultScope, rbac.KeyVaultSecretsUser), 403, "AuthorizationFailed")

	uaa := newPrincipal(t, st, "uaa")
	assign(t, st, subScope+"/resourceGroups/rg1", rbac.UserAccessAdministrator, uaa.ObjectID)
	ra, _ = as(uaa)
	if err := create(ra, vaultScope, rbac.Owner); err != nil {
		t.Fatalf("User Access Administrator assigns Owner below its scope: %v", err)
	}
	wantCode(t, create(ra, subScope, rbac.Reader), 403, "AuthorizationFailed") // above its scope

	dataAdmin := newPrincipal(t, st, "data-admin")
	assign(t, st, vaultScope, rbac.KeyVaultDataAccessAdministrator, dataAdmin.ObjectID)
	ra, _ = as(dataAdmin)
	if err := create(ra, vaultScope+"/secrets/s1", rbac.KeyVaultSecretsUser); err != nil {
		t.Fatalf("Key Vault Data Access Administrator assigns Key Vault Secrets User: %v", err)
	}
	err = create(ra, vaultScope, rbac.KeyVaultContributor)
	re = wantCode(t, err, 403, "AuthorizationFailed")
	if b, _ := readBody(re); !strings.Contains(b, "roleAssignments/write") {
		t.Fatalf("403: %s", b)
	}
	// It deletes the assignments of the roles its condition names, not others.
	var ownerName, userName string
	for _, pg := range pages(t, ra.NewListForScopePager(vaultScope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr("principalId eq '" + target.ObjectID + "'")})) {
		for _, a := range pg.Value {
			switch *a.Properties.RoleDefinitionID {
			case roleRef(rbac.Owner):
				ownerName = *a.Name
			case roleRef(rbac.KeyVaultSecretsUser):
				userName = *a.Name
			}
		}
	}
	_, err = ra.Delete(ctx, vaultScope, ownerName, nil)
	wantCode(t, err, 403, "AuthorizationFailed")
	if _, err := ra.Delete(ctx, vaultScope+"/secrets/s1", userName, nil); err != nil {
		t.Fatalf("delete a Key Vault Secrets User assignment: %v", err)
	}
}

// TestRBACGraphGetByIDs: the Graph stand-in's directoryObjects/getByIds, as az's role
// commands call it: the administrator finds any principal, another principal itself
// only; unknown ids are left out; only service principals exist.
func TestRBACGraphGetByIDs(t *testing.T) {
	st := testenv.NewStack(t)
	p, q := newPrincipal(t, st, "p"), newPrincipal(t, st, "q")
	get := func(creds identity.Credentials, ids []string, types ...string) []map[string]any {
		t.Helper()
		tok := token(t, testenv.Credential(t, creds, st.HTTP), st.Server.URL()+"/")
		body := map[string]any{"ids": ids}
		if types != nil {
			body["types"] = types
		}
		status, _, b := st.Request(t, "POST", "/v1.0/directoryObjects/getByIds", "Bearer "+tok, body)
		var out struct{ Value []map[string]any }
		if status != 200 || json.Unmarshal(b, &out) != nil {
			t.Fatalf("getByIds: %d %s", status, b)
		}
		return out.Value
	}
	ids := []string{p.ObjectID, q.ObjectID, uuid.NewString()}
	got := get(st.Creds, ids, "user", "group", "servicePrincipal")
	if len(got) != 2 || got[0]["id"] != p.ObjectID || got[0]["appId"] != p.ClientID || got[0]["displayName"] != "p" ||
		got[0]["@odata.type"] != "#microsoft.graph.servicePrincipal" || got[1]["id"] != q.ObjectID {
		t.Fatalf("the administrator's getByIds: %v", got)
	}
	if got := get(p, ids); len(got) != 1 || got[0]["id"] != p.ObjectID {
		t.Fatalf("a principal's getByIds: %v", got)
	}
	if got := get(st.Creds, ids, "user"); len(got) != 0 {
		t.Fatalf("users: %v", got)
	}
	tok := token(t, st.Cred, st.Server.URL()+"/")
	if status, _, _ := st.Request(t, "GET", "/v1.0/directoryObjects/getByIds", "Bearer "+tok, nil); status != 405 {
		t.Fatalf("GET getByIds: %d", status)
	}
	if status, _, _ := st.Request(t, "POST", "/v1.0/directoryObjects/getByIds", "Bearer "+tok, map[string]any{"ids": []string{}}); status != 400 {
		t.Fatalf("no ids: %d", status)
	}
}

// TestRBACSubscriptionsListed: GET /subscriptions (az login) shows a principal the
// default subscription and every other one it holds a role in.
func TestRBACSubscriptionsListed(t *testing.T) {
	st := testenv.NewStack(t)
	p := newPrincipal(t, st, "elsewhere")
	const other = "5ca1ab1e-0000-4000-8000-000000000000"
	assign(t, st, "/subscriptions/"+other+"/resourceGroups/rg", rbac.Reader, p.ObjectID)
	tok := token(t, testenv.Credential(t, p, st.HTTP), "https://management.azure.com")
	status, _, b := st.Request(t, "GET", "/subscriptions?api-version=2019-11-01", "Bearer "+tok, nil)
	var out struct {
		Value []struct{ SubscriptionID string }
	}
	if status != 200 || json.Unmarshal(b, &out) != nil || len(out.Value) != 2 ||
		out.Value[0].SubscriptionID != testenv.DefaultSubscription || out.Value[1].SubscriptionID != other {
		t.Fatalf("subscriptions: %d %s", status, b)
	}
}
