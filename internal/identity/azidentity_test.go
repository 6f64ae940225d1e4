package identity_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

// TestAzidentityClientSecretCredential drives the real azidentity (MSAL Go) against the
// issuer: v2 discovery, then the token endpoint; the token it gets verifies as data plane.
func TestAzidentityClientSecretCredential(t *testing.T) {
	st := storagetest.NewMemory()
	var svc *identity.Service
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !identity.IsIdentityPath(r.URL.Path) {
			t.Errorf("client requested non-identity path %s", r.URL.Path)
		}
		svc.ServeHTTP(w, r)
	}))
	srv.StartTLS()
	defer srv.Close()
	// The service must know its public URL, which exists only once the server listens.
	var err error
	svc, err = identity.Open(t.Context(), st, identity.Options{
		PublicURL: mustURL(t, srv.URL), VaultDomain: "localhost", Clock: clock.Real{},
	})
	if err != nil {
		t.Fatal(err)
	}
	admin := svc.AdminCredentials()
	if admin.AuthorityHost != srv.URL+"/" {
		t.Fatalf("AuthorityHost = %q", admin.AuthorityHost)
	}

	newCred := func(secret string) *azidentity.ClientSecretCredential {
		cred, err := azidentity.NewClientSecretCredential(admin.TenantID, admin.ClientID, secret,
			&azidentity.ClientSecretCredentialOptions{
				ClientOptions: policy.ClientOptions{
					Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: admin.AuthorityHost},
					Transport: srv.Client(),
				},
				DisableInstanceDiscovery: true,
			})
		if err != nil {
			t.Fatal(err)
		}
		return cred
	}

	tok, err := newCred(admin.ClientSecret).GetToken(t.Context(), policy.TokenRequestOptions{
		Scopes: []string{"https://localhost:8443/.default"},
	})
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	if d := time.Until(tok.ExpiresOn); d < 55*time.Minute || d > time.Hour {
		t.Errorf("ExpiresOn in %v", d)
	}
	p, err := svc.Verify(t.Context(), tok.Token, identity.DataPlane)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !p.Admin || p.ClientID != admin.ClientID {
		t.Errorf("principal = %+v", p)
	}

	// ARM with the classic audience's double slash.
	armTok, err := newCred(admin.ClientSecret).GetToken(t.Context(), policy.TokenRequestOptions{
		Scopes: []string{"https://management.core.windows.net//.default"},
	})
	if err != nil {
		t.Fatalf("GetToken ARM: %v", err)
	}
	if _, err := svc.Verify(t.Context(), armTok.Token, identity.ARM); err != nil {
		t.Errorf("Verify ARM: %v", err)
	}

	_, err = newCred("wrong-secret").GetToken(t.Context(), policy.TokenRequestOptions{
		Scopes: []string{"https://localhost:8443/.default"},
	})
	var afe *azidentity.AuthenticationFailedError
	if !errors.As(err, &afe) || afe.RawResponse == nil || afe.RawResponse.StatusCode != http.StatusUnauthorized {
		t.Errorf("GetToken with a wrong secret = %v, want AuthenticationFailedError with 401", err)
	}
}
