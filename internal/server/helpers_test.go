package server_test

// What the end-to-end tests share: raw requests and tokens, principals, the steps of a
// secret's lifecycle, pagers, polling, sweeps and the ARM paths of a vault. Helpers of
// one test file stay in that file.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/testenv"
)

func port(st *testenv.Stack) string {
	u, _ := url.Parse(st.Server.URL())
	return u.Port()
}

// dataPlane is the resource of the data plane's tokens, as the SDK asks for it.
func dataPlane(st *testenv.Stack) string { return "https://localhost:" + port(st) }

func tokenScope(resource string) policy.TokenRequestOptions {
	return policy.TokenRequestOptions{Scopes: []string{resource + "/.default"}}
}

// token gets an access token of cred for resource, or fails t.
func token(t *testing.T, cred azcore.TokenCredential, resource string) string {
	t.Helper()
	tok, err := cred.GetToken(t.Context(), tokenScope(resource))
	if err != nil {
		t.Fatalf("token for %s: %v", resource, err)
	}
	return tok.Token
}

// send sends a request through hc with a bearer token ("" for none) and a JSON body (""
// for none), and returns status and body.
func send(t *testing.T, hc *http.Client, method, url, token, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// call sends a request to st with a bearer token ("" for none) and returns status and body.
func call(t *testing.T, st *testenv.Stack, method, url, token, body string) (int, string) {
	t.Helper()
	return send(t, st.HTTP, method, url, token, body)
}

// raw sends a request with the administrator's data-plane token.
func raw(t *testing.T, st *testenv.Stack, method, url, body string) (int, string) {
	t.Helper()
	return call(t, st, method, url, token(t, st.Cred, dataPlane(st)), body)
}

func readBody(re *azcore.ResponseError) (string, error) {
	b, err := io.ReadAll(re.RawResponse.Body)
	return string(b), err
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// wantCode asserts that err is an Azure error with this status and error.code.
func wantCode(t *testing.T, err error, status int, code string) *azcore.ResponseError {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("want %d %s, got %v", status, code, err)
	}
	if re.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("want %d %s, got %d %s: %v", status, code, re.StatusCode, re.ErrorCode, err)
	}
	return re
}

// statusOf returns the HTTP status of an Azure error (0 for nil, -1 for another error).
func statusOf(err error) int {
	var re *azcore.ResponseError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &re):
		return re.StatusCode
	}
	return -1
}

// newPrincipal creates a principal through the admin routes and, when secretPerms are
// given, grants it these secret permissions on the default vault.
func newPrincipal(t *testing.T, st *testenv.Stack, name string, secretPerms ...string) identity.Credentials {
	t.Helper()
	status, _, body := st.ARM(t, "POST", "/admin/principals", map[string]string{"name": name})
	if status != 201 {
		t.Fatalf("create principal: %d %s", status, body)
	}
	var creds identity.Credentials
	if err := json.Unmarshal(body, &creds); err != nil {
		t.Fatalf("create principal: %v %s", err, body)
	}
	if len(secretPerms) > 0 {
		policy := map[string]any{"properties": map[string]any{"accessPolicies": []any{map[string]any{
			"tenantId": creds.TenantID, "objectId": creds.ObjectID, "permissions": map[string]any{"secrets": secretPerms},
		}}}}
		path := "/subscriptions/" + testenv.DefaultSubscription + "/resourceGroups/coffer/providers/Microsoft.KeyVault/vaults/default/accessPolicies/add?api-version=2024-11-01"
		if status, _, body := st.ARM(t, "PUT", path, policy); status != 200 {
			t.Fatalf("add access policy: %d %s", status, body)
		}
	}
	return creds
}

// secretsAs is an azsecrets client of the default vault of st that signs in as creds.
func secretsAs(t *testing.T, st *testenv.Stack, creds identity.Credentials) *azsecrets.Client {
	t.Helper()
	c, err := azsecrets.NewClient(st.Server.VaultURL("default"), testenv.Credential(t, creds, st.HTTP),
		&azsecrets.ClientOptions{ClientOptions: testenv.ClientOptions(creds, st.HTTP)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// setValue sets a secret and returns its version.
func setValue(t *testing.T, c *azsecrets.Client, name, value string) azsecrets.SetSecretResponse {
	t.Helper()
	r, err := c.SetSecret(t.Context(), name, azsecrets.SetSecretParameters{Value: to.Ptr(value)}, nil)
	if err != nil {
		t.Fatalf("set %s: %v", name, err)
	}
	return r
}

// deleteSecret deletes a secret, or fails t.
func deleteSecret(t *testing.T, c *azsecrets.Client, name string) azsecrets.DeleteSecretResponse {
	t.Helper()
	r, err := c.DeleteSecret(t.Context(), name, nil)
	if err != nil {
		t.Fatalf("delete %s: %v", name, err)
	}
	return r
}

// setEach sets each of names to value.
func setEach(t *testing.T, c *azsecrets.Client, value string, names ...string) {
	t.Helper()
	for _, n := range names {
		setValue(t, c, n, value)
	}
}

// lifecycle takes secret name through steps, in order: "delete", "recover" or "purge";
// it fails t at the first one refused.
func lifecycle(t *testing.T, c *azsecrets.Client, name string, steps ...string) {
	t.Helper()
	for _, step := range steps {
		var err error
		switch step {
		case "delete":
			_, err = c.DeleteSecret(t.Context(), name, nil)
		case "recover":
			_, err = c.RecoverDeletedSecret(t.Context(), name, nil)
		case "purge":
			_, err = c.PurgeDeletedSecret(t.Context(), name, nil)
		default:
			t.Fatalf("no lifecycle step %q", step)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", step, name, err)
		}
	}
}

// pages reads every page of p, or fails t.
func pages[T any](t *testing.T, p *runtime.Pager[T]) []T {
	t.Helper()
	var out []T
	for p.More() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page)
	}
	return out
}

// listNames lists the secrets' names (the ids of a list carry no version).
func listNames(t *testing.T, c *azsecrets.Client) []string {
	t.Helper()
	var out []string
	for _, page := range pages(t, c.NewListSecretPropertiesPager(nil)) {
		for _, s := range page.Value {
			out = append(out, s.ID.Name())
			if s.ID.Version() != "" {
				t.Fatalf("list item id has a version: %s", *s.ID)
			}
		}
	}
	return out
}

func listVersions(t *testing.T, c *azsecrets.Client, name string) []string {
	t.Helper()
	var out []string
	for _, page := range pages(t, c.NewListSecretPropertiesVersionsPager(name, nil)) {
		for _, s := range page.Value {
			out = append(out, s.ID.Version())
		}
	}
	return out
}

func listDeleted(t *testing.T, c *azsecrets.Client) []string {
	t.Helper()
	var out []string
	for _, page := range pages(t, c.NewListDeletedSecretPropertiesPager(nil)) {
		for _, s := range page.Value {
			out = append(out, s.ID.Name())
		}
	}
	return out
}

// sweep runs the server's sweeper once, or fails t, and returns how many due actions it
// carried out.
func sweep(t *testing.T, st *testenv.Stack) int {
	t.Helper()
	n, err := st.Server.Sweep(t.Context())
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	return n
}

// someActions is what wantSweep wants of a sweep that must do something.
const someActions = -1

// wantSweep runs the server's sweeper once and fails t unless it carried out want due
// actions ([someActions]: at least one); what names the sweep in the failure.
func wantSweep(t *testing.T, st *testenv.Stack, want int, what string) {
	t.Helper()
	if n := sweep(t, st); (want == someActions && n == 0) || (want != someActions && n != want) {
		t.Fatalf("%s: Sweep = %d", what, n)
	}
}

// pollUntil calls cond every 20 ms until it returns true or limit has passed, and
// returns how long that took; else it fails t, saying what detail returns.
func pollUntil(t *testing.T, limit time.Duration, what string, cond func() bool, detail ...func() string) time.Duration {
	t.Helper()
	start := time.Now()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			msg := fmt.Sprintf("%s: not after %s", what, limit)
			for _, d := range detail {
				msg += "; " + d()
			}
			t.Fatal(msg)
		}
		select {
		case <-tick.C:
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		}
	}
}

// armVaultPath is the ARM path of vault name in resource group rg of armSub.
func armVaultPath(name string) string {
	return "/subscriptions/" + armSub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/" + name + "?" + kvAPI
}

// armPurgePath is the ARM path that purges deleted vault name of armSub in westus.
func armPurgePath(name string) string {
	return "/subscriptions/" + armSub + "/providers/Microsoft.KeyVault/locations/westus/deletedVaults/" + name + "/purge?" + kvAPI
}

// armVaultBody is the smallest body of a PUT that creates a vault in westus.
func armVaultBody(st *testenv.Stack) map[string]any {
	return map[string]any{"location": "westus", "properties": map[string]any{
		"tenantId": st.Creds.TenantID, "sku": map[string]string{"family": "A", "name": "standard"}, "accessPolicies": []any{}}}
}

// logFile is a file for a server's log (an *os.File may be written from many goroutines
// at once) and a function that returns what it holds so far.
func logFile(t *testing.T) (io.Writer, func() string) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, func() string {
		b, _ := os.ReadFile(f.Name())
		return string(b)
	}
}
