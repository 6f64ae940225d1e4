package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/testenv"
)

// Vaults with enableRbacAuthorization, end to end with armkeyvault, armauthorization and
// the Key Vault SDKs: the data plane decided by role assignments (access policies
// ignored), the management plane decided the same way for principals other than the
// administrator.

func vaultScopeOf(rg, name string) string {
	return subScope + "/resourceGroups/" + rg + "/providers/Microsoft.KeyVault/vaults/" + name
}

// rbacVault creates an RBAC vault as the administrator.
func rbacVault(t *testing.T, st *testenv.Stack, rg, name string) armkeyvault.Vault {
	t.Helper()
	p := vaultParams(st, "local", 7, false)
	p.Properties.EnableRbacAuthorization = to.Ptr(true)
	v := createVault(t, st.Vaults(t, testenv.DefaultSubscription), rg, name, p)
	if v.Properties.EnableRbacAuthorization == nil || !*v.Properties.EnableRbacAuthorization {
		t.Fatalf("created %s: enableRbacAuthorization %v", name, v.Properties.EnableRbacAuthorization)
	}
	return v
}

// secretsFor is an azsecrets client of vault signing in as creds.
func secretsFor(t *testing.T, st *testenv.Stack, creds identity.Credentials, vault string) *azsecrets.Client {
	t.Helper()
	c, err := azsecrets.NewClient(st.Server.VaultURL(vault), testenv.Credential(t, creds, st.HTTP),
		&azsecrets.ClientOptions{ClientOptions: testenv.ClientOptions(creds, st.HTTP)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantRbac403 checks a refusal on an RBAC vault: 403 Forbidden, innererror
// ForbiddenByRbac, the message naming the data action.
func wantRbac403(t *testing.T, err error, action string) {
	t.Helper()
	re := wantCode(t, err, 403, "Forbidden")
	b, _ := readBody(re)
	if !contains(b, "ForbiddenByRbac") || !contains(b, "Action: '"+action+"'") {
		t.Fatalf("refusal does not say ForbiddenByRbac and name %s: %s", action, b)
	}
}

// wantARM403 checks ARM's refusal, naming the action.
func wantARM403(t *testing.T, err error, action string) {
	t.Helper()
	re := wantCode(t, err, 403, "AuthorizationFailed")
	if b, _ := readBody(re); !contains(b, "'"+action+"'") {
		t.Fatalf("refusal does not name %s: %s", action, b)
	}
}

func TestRBACVaultDataPlane(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := t.Context()
	rbacVault(t, st, "team", "rbac-kv")
	scope := vaultScopeOf("team", "rbac-kv")
	admin := st.Secrets(t, "rbac-kv") // the administrator may do everything, on RBAC vaults too
	setEach(t, admin, "v", "app-secret", "other", "doomed")
	deleteSecret(t, admin, "doomed")

	// Key Vault Secrets User at the vault: reads secrets, nothing else.
	app := newPrincipal(t, st, "app")
	userAssignment := assign(t, st, scope, rbac.KeyVaultSecretsUser, app.ObjectID)
	sc := secretsFor(t, st, app, "rbac-kv")
	if got, err := sc.GetSecret(ctx, "app-secret", "", nil); err != nil || *got.Value != "v" {
		t.Fatalf("Secrets User reads: %v", err)
	}
	if names := listNames(t, sc); len(names) != 2 {
		t.Fatalf("Secrets User lists: %v", names)
	}
	_, err := sc.SetSecret(ctx, "app-secret", azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil)
	wantRbac403(t, err, "Microsoft.KeyVault/vaults/secrets/setSecret/action")
	_, err = sc.DeleteSecret(ctx, "app-secret", nil)
	wantRbac403(t, err, "Microsoft.KeyVault/vaults/secrets/delete")
	_, err = sc.PurgeDeletedSecret(ctx, "doomed", nil)
	wantRbac403(t, err, "Microsoft.KeyVault/vaults/secrets/purge/action")
	if _, err := admin.GetDeletedSecret(ctx, "doomed", nil); err != nil {
		t.Fatalf("the refused purge purged: %v", err)
	}

	// Access policies are ignored on an RBAC vault.
	pol := newPrincipal(t, st, "policy-holder")
	addPolicy(t, st, "team", "rbac-kv", pol.ObjectID, "all")
	pc := secretsFor(t, st, pol, "rbac-kv")
	_, err = pc.GetSecret(ctx, "app-secret", "", nil)
	wantCode(t, err, 403, "Forbidden")

	// Switching models: access policies decide, role assignments do not; and back.
	vc := st.Vaults(t, testenv.DefaultSubscription)
	setRBAC := func(on bool) {
		t.Helper()
		got, err := vc.Update(ctx, "team", "rbac-kv", armkeyvault.VaultPatchParameters{Properties: &armkeyvault.VaultPatchProperties{EnableRbacAuthorization: to.Ptr(on)}}, nil)
		if err != nil || *got.Properties.EnableRbacAuthorization != on {
			t.Fatalf("set enableRbacAuthorization %v: %v", on, err)
		}
	}
	setRBAC(false)
	if _, err := pc.GetSecret(ctx, "app-secret", "", nil); err != nil {
		t.Fatalf("the access policy does not decide once RBAC is off: %v", err)
	}
	_, err = sc.GetSecret(ctx, "app-secret", "", nil)
	re := wantCode(t, err, 403, "Forbidden")
	if b, _ := readBody(re); !contains(b, "ForbiddenByPolicy") {
		t.Fatalf("a role decided on an access-policy vault: %s", b)
	}
	setRBAC(true)
	if _, err := sc.GetSecret(ctx, "app-secret", "", nil); err != nil {
		t.Fatalf("the role does not decide once RBAC is back on: %v", err)
	}

	// Removing an assignment takes effect at once.
	if _, err := st.RoleAssignments(t, testenv.DefaultSubscription).Delete(ctx, scope, userAssignment, nil); err != nil {
		t.Fatal(err)
	}
	_, err = sc.GetSecret(ctx, "app-secret", "", nil)
	wantCode(t, err, 403, "Forbidden")
}

// addPolicy gives objectID every listed secret permission on a vault, through ARM.
func addPolicy(t *testing.T, st *testenv.Stack, rg, vault, objectID string, perms ...string) {
	t.Helper()
	body := map[string]any{"properties": map[string]any{"accessPolicies": []any{map[string]any{
		"tenantId": st.Creds.TenantID, "objectId": objectID, "permissions": map[string]any{"secrets": perms},
	}}}}
	path := vaultScopeOf(rg, vault) + "/accessPolicies/add?api-version=2024-11-01"
	if status, _, b := st.ARM(t, "PUT", path, body); status != 200 {
		t.Fatalf("add access policy: %d %s", status, b)
	}
}

// TestRBACSingleSecretScope: Key Vault Secrets Officer on one secret manages that secret
// (set, read, delete, recover, purge) and nothing else in the vault.
func TestRBACSingleSecretScope(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := t.Context()
	rbacVault(t, st, "team", "rbac-one")
	admin := st.Secrets(t, "rbac-one")
	setEach(t, admin, "v", "mine", "theirs")
	officer := newPrincipal(t, st, "officer")
	assign(t, st, vaultScopeOf("team", "rbac-one")+"/secrets/mine", rbac.KeyVaultSecretsOfficer, officer.ObjectID)
	sc := secretsFor(t, st, officer, "rbac-one")

	setValue(t, sc, "mine", "changed")
	if got, err := sc.GetSecret(ctx, "mine", "", nil); err != nil || *got.Value != "changed" {
		t.Fatalf("read its secret: %v", err)
	}
	lifecycle(t, sc, "mine", "delete", "recover", "delete", "purge")

	_, err := sc.GetSecret(ctx, "theirs", "", nil)
	wantRbac403(t, err, "Microsoft.KeyVault/vaults/secrets/getSecret/action")
	_, err = sc.SetSecret(ctx, "theirs", azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil)
	wantRbac403(t, err, "Microsoft.KeyVault/vaults/secrets/setSecret/action")
	_, err = sc.NewListSecretPropertiesPager(nil).NextPage(ctx)
	wantRbac403(t, err, "Microsoft.KeyVault/vaults/secrets/readMetadata/action")
	if got, err := admin.GetSecret(ctx, "theirs", "", nil); err != nil || *got.Value != "v" {
		t.Fatalf("the other secret changed: %v", err)
	}
}

// TestRBACCustomRoleWithoutPurge: a custom role whose notDataActions take purge away
// deletes and recovers secrets, and is refused their purge.
func TestRBACCustomRoleWithoutPurge(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := t.Context()
	rbacVault(t, st, "team", "rbac-nopurge")
	roleID := uuid.NewString()
	if _, err := st.RoleDefinitions(t).CreateOrUpdate(ctx, subScope, roleID, armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
		RoleName: to.Ptr("Secrets manager without purge"), AssignableScopes: []*string{to.Ptr(subScope)},
		Permissions: []*armauthorization.Permission{{
			DataActions:    []*string{to.Ptr("Microsoft.KeyVault/vaults/secrets/*")},
			NotDataActions: []*string{to.Ptr("Microsoft.KeyVault/vaults/secrets/purge/action")},
		}},
	}}, nil); err != nil {
		t.Fatal(err)
	}
	p := newPrincipal(t, st, "no-purge")
	assign(t, st, vaultScopeOf("team", "rbac-nopurge"), roleID, p.ObjectID)
	sc := secretsFor(t, st, p, "rbac-nopurge")
	setValue(t, sc, "s", "v")
	lifecycle(t, sc, "s", "delete", "recover", "delete")
	_, err := sc.PurgeDeletedSecret(ctx, "s", nil)
	wantRbac403(t, err, "Microsoft.KeyVault/vaults/secrets/purge/action")
	if _, err := sc.GetDeletedSecret(ctx, "s", nil); err != nil {
		t.Fatalf("the refused purge purged: %v", err)
	}
}

// TestRBACKeysAndCertificates: the key and certificate roles on an RBAC vault.
func TestRBACKeysAndCertificates(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := t.Context()
	rbacVault(t, st, "team", "rbac-crypto")
	scope := vaultScopeOf("team", "rbac-crypto")
	officer, user, certs, reader := newPrincipal(t, st, "crypto-officer"), newPrincipal(t, st, "crypto-user"),
		newPrincipal(t, st, "certs-officer"), newPrincipal(t, st, "reader")
	assign(t, st, scope, rbac.KeyVaultCryptoOfficer, officer.ObjectID)
	assign(t, st, scope, rbac.KeyVaultCryptoUser, user.ObjectID)
	assign(t, st, scope, rbac.KeyVaultCertificatesOfficer, certs.ObjectID)
	assign(t, st, scope, rbac.KeyVaultReader, reader.ObjectID)
	keys := func(c identity.Credentials) *azkeys.Client {
		k, err := azkeys.NewClient(st.Server.VaultURL("rbac-crypto"), testenv.Credential(t, c, st.HTTP), &azkeys.ClientOptions{ClientOptions: testenv.ClientOptions(c, st.HTTP)})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	if _, err := keys(officer).CreateKey(ctx, "k", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC), Curve: to.Ptr(azkeys.CurveNameP256)}, nil); err != nil {
		t.Fatalf("Crypto Officer creates a key: %v", err)
	}
	digest := make([]byte, 32)
	if _, err := keys(user).Sign(ctx, "k", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmES256), Value: digest}, nil); err != nil {
		t.Fatalf("Crypto User signs: %v", err)
	}
	_, err := keys(user).CreateKey(ctx, "k2", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC)}, nil)
	wantRbac403(t, err, "Microsoft.KeyVault/vaults/keys/create/action")
	if _, err := keys(reader).GetKey(ctx, "k", "", nil); err != nil {
		t.Fatalf("Key Vault Reader reads a key's public part: %v", err)
	}
	_, err = keys(reader).Sign(ctx, "k", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmES256), Value: digest}, nil)
	wantRbac403(t, err, "Microsoft.KeyVault/vaults/keys/sign/action")

	cc, err := azcertificates.NewClient(st.Server.VaultURL("rbac-crypto"), testenv.Credential(t, certs, st.HTTP), &azcertificates.ClientOptions{ClientOptions: testenv.ClientOptions(certs, st.HTTP)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.CreateCertificate(ctx, "c", azcertificates.CreateCertificateParameters{CertificatePolicy: &azcertificates.CertificatePolicy{
		IssuerParameters:          &azcertificates.IssuerParameters{Name: to.Ptr("Self")},
		X509CertificateProperties: &azcertificates.X509CertificateProperties{Subject: to.Ptr("CN=rbac")},
	}}, nil); err != nil {
		t.Fatalf("Certificates Officer creates a certificate: %v", err)
	}
	_, err = secretsFor(t, st, reader, "rbac-crypto").GetSecret(ctx, "c", "", nil)
	wantRbac403(t, err, "Microsoft.KeyVault/vaults/secrets/getSecret/action")
}

// TestRBACManagementPlane: the management plane decided by role assignments for
// principals other than the administrator. Key Vault Contributor creates, lists, deletes
// and recovers vaults but reads no secret and purges nothing; Key Vault Purge Operator
// purges the deleted vault Contributor could not; a principal with nothing gets 403.
func TestRBACManagementPlane(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := t.Context()
	kvc := newPrincipal(t, st, "kv-contributor")
	assign(t, st, subScope+"/resourceGroups/team", rbac.KeyVaultContributor, kvc.ObjectID)
	vc := st.VaultsAs(t, testenv.DefaultSubscription, kvc)

	p := vaultParams(st, "local", 7, false)
	p.Properties.EnableRbacAuthorization = to.Ptr(true)
	createVault(t, vc, "team", "kvc-vault", p)
	if _, err := vc.Get(ctx, "team", "kvc-vault", nil); err != nil {
		t.Fatalf("Contributor reads its vault: %v", err)
	}
	// Creating outside its group is refused.
	_, err := vc.BeginCreateOrUpdate(ctx, "elsewhere", "kvc-vault-2", p, nil)
	wantARM403(t, err, "Microsoft.KeyVault/vaults/write")
	// The subscription's list shows the vaults it may read (its group's), not the others.
	createVault(t, st.Vaults(t, testenv.DefaultSubscription), "elsewhere", "not-theirs", vaultParams(st, "local", 7, false))
	var listed []string
	for _, pg := range pages(t, vc.NewListBySubscriptionPager(nil)) {
		for _, v := range pg.Value {
			listed = append(listed, *v.Name)
		}
	}
	if len(listed) != 1 || listed[0] != "kvc-vault" {
		t.Fatalf("Contributor's list of the subscription's vaults: %v", listed)
	}

	// No secret: the role grants no data action.
	_, err = secretsFor(t, st, kvc, "kvc-vault").SetSecret(ctx, "s", azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil)
	wantRbac403(t, err, "Microsoft.KeyVault/vaults/secrets/setSecret/action")

	// Delete and recover, but no purge.
	if _, err := vc.Delete(ctx, "team", "kvc-vault", nil); err != nil {
		t.Fatalf("Contributor deletes: %v", err)
	}
	recovered := vaultParams(st, "local", 7, false)
	recovered.Properties.CreateMode = to.Ptr(armkeyvault.CreateModeRecover)
	createVault(t, vc, "team", "kvc-vault", recovered)
	if _, err := vc.Delete(ctx, "team", "kvc-vault", nil); err != nil {
		t.Fatal(err)
	}
	err = purge(t, vc, "kvc-vault", "local")
	wantARM403(t, err, "Microsoft.KeyVault/locations/deletedVaults/purge/action")

	// Key Vault Purge Operator purges it.
	purger := newPrincipal(t, st, "purger")
	assign(t, st, subScope, rbac.KeyVaultPurgeOperator, purger.ObjectID)
	if err := purge(t, st.VaultsAs(t, testenv.DefaultSubscription, purger), "kvc-vault", "local"); err != nil {
		t.Fatalf("Purge Operator purges: %v", err)
	}
	if _, err := st.Vaults(t, testenv.DefaultSubscription).GetDeleted(ctx, "kvc-vault", "local", nil); statusOf(err) != http.StatusNotFound {
		t.Fatalf("the purged vault: %v", err)
	}

	// A principal with nothing gets 403 everywhere on the management plane.
	nobody := newPrincipal(t, st, "nobody")
	_, err = st.VaultsAs(t, testenv.DefaultSubscription, nobody).BeginCreateOrUpdate(ctx, "team", "nobodys", p, nil)
	wantARM403(t, err, "Microsoft.KeyVault/vaults/write")
	var re *azcore.ResponseError
	_, err = st.VaultsAs(t, testenv.DefaultSubscription, nobody).Get(ctx, "elsewhere", "not-theirs", nil)
	if wantARM403(t, err, "Microsoft.KeyVault/vaults/read"); !strings.Contains(err.Error(), nobody.ObjectID) {
		t.Fatalf("403 does not name the caller: %v %v", err, re)
	}
}

// TestRBACByAPIVersion: from api-version 2026-02-01 on, a vault created without
// enableRbacAuthorization is an RBAC vault, as in Azure; earlier versions create
// access-policy vaults; an update under a newer version does not turn a vault over.
func TestRBACByAPIVersion(t *testing.T) {
	st := testenv.NewStack(t)
	path := func(name, version string) string {
		return "/subscriptions/" + armSub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/" + name + "?api-version=" + version
	}
	rbacOf := func(status int, body []byte) bool {
		t.Helper()
		var v struct {
			Properties struct {
				EnableRbacAuthorization bool `json:"enableRbacAuthorization"`
			} `json:"properties"`
		}
		if status/100 != 2 || json.Unmarshal(body, &v) != nil {
			t.Fatalf("%d %s", status, body)
		}
		return v.Properties.EnableRbacAuthorization
	}
	if s, _, b := st.ARM(t, "PUT", path("by-default", "2026-02-01"), armVaultBody(st)); !rbacOf(s, b) {
		t.Fatal("2026-02-01 created an access-policy vault")
	}
	if s, _, b := st.ARM(t, "PUT", path("old-default", "2025-05-01"), armVaultBody(st)); rbacOf(s, b) {
		t.Fatal("2025-05-01 created an RBAC vault")
	}
	if s, _, b := st.ARM(t, "PUT", path("old-default", "2026-04-01-preview"), armVaultBody(st)); rbacOf(s, b) {
		t.Fatal("an update under 2026-04-01-preview turned the vault over")
	}
}

// TestRBACVaultLifecycleKeepsAssignments: deleting a vault takes its role assignments
// (at the vault and in it) with it; recovering brings them back, in force at once;
// purging removes them, by hand or at the end of the retention, so a new vault of the
// same name starts with none. Assignments elsewhere stay.
func TestRBACVaultLifecycleKeepsAssignments(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := t.Context()
	vc := st.Vaults(t, testenv.DefaultSubscription)
	ra := st.RoleAssignments(t, testenv.DefaultSubscription)
	rbacVault(t, st, "team", "rbac-life")
	setEach(t, st.Secrets(t, "rbac-life"), "v", "s")
	scope := vaultScopeOf("team", "rbac-life")
	p := newPrincipal(t, st, "life")
	assign(t, st, scope, rbac.KeyVaultSecretsUser, p.ObjectID)
	assign(t, st, scope+"/secrets/s", rbac.KeyVaultSecretsOfficer, p.ObjectID)
	assign(t, st, subScope+"/resourceGroups/team", rbac.Reader, p.ObjectID)
	scopes := func() map[string]bool {
		t.Helper()
		out := map[string]bool{}
		for _, pg := range pages(t, ra.NewListForScopePager(subScope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr("principalId eq '" + p.ObjectID + "'")})) {
			for _, a := range pg.Value {
				out[*a.Properties.Scope] = true
			}
		}
		return out
	}
	sc := secretsFor(t, st, p, "rbac-life")
	if got := scopes(); len(got) != 3 {
		t.Fatalf("before: %v", got)
	}

	if _, err := vc.Delete(ctx, "team", "rbac-life", nil); err != nil {
		t.Fatal(err)
	}
	if got := scopes(); len(got) != 1 || !got[subScope+"/resourceGroups/team"] {
		t.Fatalf("after the vault's delete: %v", got)
	}
	recovered := vaultParams(st, "local", 7, false)
	recovered.Properties.CreateMode = to.Ptr(armkeyvault.CreateModeRecover)
	createVault(t, vc, "team", "rbac-life", recovered)
	if got := scopes(); len(got) != 3 {
		t.Fatalf("after the vault's recovery: %v", got)
	}
	if got, err := sc.GetSecret(ctx, "s", "", nil); err != nil || *got.Value != "v" {
		t.Fatalf("the recovered assignment is not in force at once: %v", err)
	}

	// Purged by hand: gone, also for a new vault of the same name.
	if _, err := vc.Delete(ctx, "team", "rbac-life", nil); err != nil {
		t.Fatal(err)
	}
	if err := purge(t, vc, "rbac-life", "local"); err != nil {
		t.Fatal(err)
	}
	rbacVault(t, st, "team", "rbac-life")
	if got := scopes(); len(got) != 1 {
		t.Fatalf("after the purge: %v", got)
	}
	setEach(t, st.Secrets(t, "rbac-life"), "v", "s")
	_, err := sc.GetSecret(ctx, "s", "", nil)
	wantCode(t, err, 403, "Forbidden")

	// Purged when the retention ends (the sweeper).
	assign(t, st, scope, rbac.KeyVaultSecretsUser, p.ObjectID)
	if _, err := vc.Delete(ctx, "team", "rbac-life", nil); err != nil {
		t.Fatal(err)
	}
	st.ShiftTime(t, 8*24*time.Hour)
	wantSweep(t, st, 1, "the deleted vault")
	rbacVault(t, st, "team", "rbac-life")
	if got := scopes(); len(got) != 1 {
		t.Fatalf("after the automatic purge: %v", got)
	}
}
