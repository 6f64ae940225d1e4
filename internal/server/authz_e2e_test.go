package server_test

import (
	"encoding/json"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/testenv"
)

// TestAccessPolicies: a principal may do exactly what the vault's access policy grants;
// everything else is 403 Forbidden naming the missing permission.
func TestAccessPolicies(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := t.Context()
	admin := st.Secrets(t, "default")
	for _, n := range []string{"readable", "doomed"} {
		if _, err := admin.SetSecret(ctx, n, azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.DeleteSecret(ctx, "doomed", nil); err != nil {
		t.Fatal(err)
	}

	status, _, body := st.ARM(t, "POST", "/admin/principals", map[string]string{"name": "reader"})
	if status != 201 {
		t.Fatalf("create principal: %d %s", status, body)
	}
	var creds identity.Credentials
	json.Unmarshal(body, &creds)
	policy := map[string]any{"properties": map[string]any{"accessPolicies": []any{map[string]any{
		"tenantId": creds.TenantID, "objectId": creds.ObjectID,
		"permissions": map[string]any{"secrets": []string{"get", "list", "delete", "recover"}},
	}}}}
	path := "/subscriptions/" + testenv.DefaultSubscription + "/resourceGroups/coffer/providers/Microsoft.KeyVault/vaults/default/accessPolicies/add?api-version=2024-11-01"
	if status, _, body := st.ARM(t, "PUT", path, policy); status != 200 {
		t.Fatalf("add access policy: %d %s", status, body)
	}

	cred := testenv.Credential(t, creds, st.HTTP)
	sc, _ := azsecrets.NewClient(st.Server.VaultURL("default"), cred, &azsecrets.ClientOptions{ClientOptions: testenv.ClientOptions(creds, st.HTTP)})
	kc, _ := azkeys.NewClient(st.Server.VaultURL("default"), cred, &azkeys.ClientOptions{ClientOptions: testenv.ClientOptions(creds, st.HTTP)})

	if got, err := sc.GetSecret(ctx, "readable", "", nil); err != nil || *got.Value != "v" {
		t.Fatalf("granted get: %v", err)
	}
	if names := listNames(t, sc); len(names) != 1 {
		t.Fatalf("granted list: %v", names)
	}
	if _, err := sc.RecoverDeletedSecret(ctx, "doomed", nil); err != nil {
		t.Fatalf("granted recover: %v", err)
	}
	if _, err := sc.DeleteSecret(ctx, "doomed", nil); err != nil {
		t.Fatalf("granted delete: %v", err)
	}
	_, err := sc.PurgeDeletedSecret(ctx, "doomed", nil)
	re := wantCode(t, err, 403, "Forbidden")
	if b, _ := readBody(re); !contains(b, "secrets purge") {
		t.Errorf("403 does not name the permission: %s", b)
	}
	_, err = sc.SetSecret(ctx, "new", azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil)
	wantCode(t, err, 403, "Forbidden")
	_, err = kc.GetRandomBytes(ctx, azkeys.GetRandomBytesParameters{Count: to.Ptr[int32](8)}, nil)
	wantCode(t, err, 403, "Forbidden")
	_, err = kc.CreateKey(ctx, "k", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC)}, nil)
	wantCode(t, err, 403, "Forbidden")
	// Nothing the principal was refused happened.
	if _, err := admin.GetDeletedSecret(ctx, "doomed", nil); err != nil {
		t.Fatalf("refused purge purged: %v", err)
	}
}
