package server_test

import (
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/coffer/coffer/internal/testenv"
)

// TestAccessPolicies: a principal may do exactly what the vault's access policy grants;
// everything else is 403 Forbidden naming the missing permission.
func TestAccessPolicies(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := t.Context()
	admin := st.Secrets(t, "default")
	setEach(t, admin, "v", "readable", "doomed")
	deleteSecret(t, admin, "doomed")

	creds := newPrincipal(t, st, "reader", "get", "list", "delete", "recover")
	sc := secretsAs(t, st, creds)
	kc, _ := azkeys.NewClient(st.Server.VaultURL("default"), testenv.Credential(t, creds, st.HTTP), &azkeys.ClientOptions{ClientOptions: testenv.ClientOptions(creds, st.HTTP)})

	if got, err := sc.GetSecret(ctx, "readable", "", nil); err != nil || *got.Value != "v" {
		t.Fatalf("granted get: %v", err)
	}
	if names := listNames(t, sc); len(names) != 1 {
		t.Fatalf("granted list: %v", names)
	}
	lifecycle(t, sc, "doomed", "recover", "delete") // granted
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
