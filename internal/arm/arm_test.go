package arm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer/coffer/internal/arm"
	"github.com/coffer/coffer/internal/audit"
	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/storage"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// TestARMAdminOnly: every management route but the two that az login needs answers
// another principal 403 AuthorizationFailed, before the api-version or the body is
// looked at, and changes nothing.
func TestARMAdminOnly(t *testing.T) {
	e := newEnv(t)
	if w := e.do(t, admin, "PUT", vaultPath("rg", "kept"), createBody(nil)); w.Code != 201 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	for _, tc := range []struct{ name, method, path string }{
		{"fail/get-vault", "GET", vaultPath("rg", "kept")},
		{"fail/create-vault", "PUT", vaultPath("rg", "new")},
		{"fail/patch-vault", "PATCH", vaultPath("rg", "kept")},
		{"fail/delete-vault", "DELETE", vaultPath("rg", "kept")},
		{"fail/access-policies", "PUT", strings.Replace(vaultPath("rg", "kept"), "?", "/accessPolicies/add?", 1)},
		{"fail/list-by-group", "GET", "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults?" + kvAPI},
		{"fail/list-by-subscription", "GET", "/subscriptions/" + sub + "/providers/Microsoft.KeyVault/vaults?" + kvAPI},
		{"fail/resources", "GET", "/subscriptions/" + sub + "/resources?api-version=2015-11-01"},
		{"fail/deleted-vaults", "GET", "/subscriptions/" + sub + "/providers/Microsoft.KeyVault/deletedVaults?" + kvAPI},
		{"fail/purge", "POST", "/subscriptions/" + sub + "/providers/Microsoft.KeyVault/locations/westus/deletedVaults/kept/purge?" + kvAPI},
		{"fail/check-name", "POST", "/subscriptions/" + sub + "/providers/Microsoft.KeyVault/checkNameAvailability?" + kvAPI},
		{"fail/subscription", "GET", "/subscriptions/" + sub + "?api-version=2019-11-01"},
		{"fail/resource-group", "GET", "/subscriptions/" + sub + "/resourcegroups/rg?api-version=2021-04-01"},
		{"fail/no-api-version-still-403", "DELETE", strings.TrimSuffix(vaultPath("rg", "kept"), "?"+kvAPI)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(t, other, tc.method, tc.path, createBody(nil))
			if w.Code != 403 {
				t.Fatalf("%d %s, want 403", w.Code, w.Body)
			}
			code, msg := errorCode(t, w)
			if code != "AuthorizationFailed" || !strings.Contains(msg, "'other-client'") || !strings.Contains(msg, "only the administrator") {
				t.Fatalf("%s: %s", code, msg)
			}
		})
	}
	if w := e.do(t, admin, "GET", vaultPath("rg", "kept"), nil); w.Code != 200 {
		t.Fatalf("the vault changed: %d %s", w.Code, w.Body)
	}

	// az login works for any principal: it sees the default subscription only.
	w := e.do(t, other, "GET", "/subscriptions?api-version=2019-11-01", nil)
	var subs struct {
		Value []struct{ SubscriptionID string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &subs); w.Code != 200 || err != nil || len(subs.Value) != 1 || subs.Value[0].SubscriptionID != arm.DefaultSubscription {
		t.Fatalf("subscriptions for another principal: %d %s", w.Code, w.Body)
	}
	if w := e.do(t, other, "GET", "/tenants?api-version=2020-01-01", nil); w.Code != 200 {
		t.Fatalf("tenants: %d", w.Code)
	}
}

func TestARMGraph(t *testing.T) {
	e := newEnv(t)
	const spPath = "/v1.0/servicePrincipals?$filter="
	for _, tc := range []struct {
		name        string
		caller      plane.Principal
		method, url string
		status      int
		want        string // a fragment of the body
	}{
		{"fail/me", admin, "GET", "/v1.0/me", 400, "Request_BadRequest"},
		{"ok/self-by-spn", other, "GET", spPath + url.QueryEscape("servicePrincipalNames/any(c:c eq 'other-client')"), 200, `"id":"other-object"`},
		{"ok/self-by-app-id", other, "GET", spPath + url.QueryEscape("appId eq 'other-client'"), 200, `"id":"other-object"`},
		{"ok/admin-finds-another", admin, "GET", spPath + url.QueryEscape("servicePrincipalNames/any(x:x eq 'known-client')"), 200, `"id":"known-object"`},
		{"ok/admin-unknown", admin, "GET", spPath + url.QueryEscape("servicePrincipalNames/any(c:c eq 'nobody')"), 200, `"value":[]`},
		{"ok/others-not-visible", other, "GET", spPath + url.QueryEscape("servicePrincipalNames/any(c:c eq 'known-client')"), 200, `"value":[]`},
		{"fail/mismatched-lambda", admin, "GET", spPath + url.QueryEscape("servicePrincipalNames/any(c:d eq 'x')"), 400, "Request_UnsupportedQuery"},
		{"fail/no-filter", admin, "GET", "/v1.0/servicePrincipals", 400, "Request_UnsupportedQuery"},
		{"fail/method", admin, "POST", "/v1.0/servicePrincipals", 405, "Request_BadRequest"},
		{"fail/unknown", admin, "GET", "/v1.0/users", 404, "Request_ResourceNotFound"},
		{"fail/deep", admin, "GET", "/v1.0/servicePrincipals/x/y", 404, "Request_ResourceNotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(t, tc.caller, tc.method, tc.url, nil)
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.want) {
				t.Fatalf("%d %s, want %d with %s", w.Code, w.Body, tc.status, tc.want)
			}
		})
	}
	if !arm.IsGraphPath("/v1.0/me") || arm.IsGraphPath("/subscriptions") || arm.IsGraphPath("/v1.01/me") {
		t.Fatal("IsGraphPath")
	}
}

// TestARMGolden pins the wire shapes: vault, list, deleted vault, access policies, name
// check, subscriptions and the error bodies. -update rewrites testdata.
func TestARMGolden(t *testing.T) {
	e := newEnv(t)
	protected := createBody(func(p map[string]any) {
		p["softDeleteRetentionInDays"] = 7
		p["enablePurgeProtection"] = true
		p["enabledForDeployment"] = true
		p["networkAcls"] = map[string]any{"bypass": "AzureServices", "defaultAction": "Allow"}
		p["accessPolicies"] = []any{map[string]any{"tenantId": tenant, "objectId": "obj-1",
			"permissions": map[string]any{"secrets": []string{"get", "list"}}}}
	})
	step := func(name, method, target string, body any, status int) {
		t.Helper()
		w := e.do(t, admin, method, target, body)
		if w.Code != status {
			t.Fatalf("%s: %d %s, want %d", name, w.Code, w.Body, status)
		}
		golden(t, name, w.Body.Bytes())
	}
	step("vault-created", "PUT", vaultPath("rg", "Golden-Vault"), protected, 201)
	e.clock.Advance(time.Hour)
	step("vault-updated", "PUT", vaultPath("rg", "golden-vault"), map[string]any{"location": "westus", "tags": map[string]string{"env": "prod"},
		"properties": map[string]any{"publicNetworkAccess": "disabled"}}, 200)
	step("vault-list", "GET", "/subscriptions/"+sub+"/providers/Microsoft.KeyVault/vaults?"+kvAPI+"&$top=1", nil, 200)
	step("resources", "GET", "/subscriptions/"+sub+"/resources?api-version=2015-11-01&$filter="+url.QueryEscape("resourceType eq 'Microsoft.KeyVault/vaults'"), nil, 200)
	step("access-policies-add", "PUT", strings.Replace(vaultPath("rg", "golden-vault"), "?", "/accessPolicies/add?", 1),
		map[string]any{"properties": map[string]any{"accessPolicies": []any{map[string]any{"tenantId": tenant, "objectId": "obj-2",
			"permissions": map[string]any{"keys": []string{"get"}}}}}}, 200)
	step("default-vault", "GET", "/subscriptions/"+arm.DefaultSubscription+"/resourceGroups/coffer/providers/Microsoft.KeyVault/vaults/default?"+kvAPI, nil, 200)
	step("subscriptions", "GET", "/subscriptions?api-version=2019-11-01", nil, 200)
	step("resource-group", "GET", "/subscriptions/"+sub+"/resourcegroups/rg?api-version=2021-04-01", nil, 200)
	e.do(t, admin, "DELETE", vaultPath("rg", "golden-vault"), nil)
	step("deleted-vault", "GET", "/subscriptions/"+sub+"/providers/Microsoft.KeyVault/locations/westus/deletedVaults/GOLDEN-vault?"+kvAPI, nil, 200)
	step("deleted-vaults", "GET", "/subscriptions/"+sub+"/providers/Microsoft.KeyVault/deletedVaults?"+kvAPI, nil, 200)
	step("check-name-deleted", "POST", "/subscriptions/"+sub+"/providers/Microsoft.KeyVault/checkNameAvailability?"+kvAPI,
		map[string]string{"name": "golden-vault", "type": "Microsoft.KeyVault/vaults"}, 200)
	step("check-name-invalid", "POST", "/subscriptions/"+sub+"/providers/Microsoft.KeyVault/checkNameAvailability?"+kvAPI,
		map[string]string{"name": "-x"}, 200)
	step("error-deleted-name", "PUT", vaultPath("rg", "golden-vault"), createBody(nil), 409)
	step("error-purge-protected", "POST", "/subscriptions/"+sub+"/providers/Microsoft.KeyVault/locations/westus/deletedVaults/golden-vault/purge?"+kvAPI, nil, 409)
	step("error-name-taken", "PUT", vaultPath("rg2", "default"), createBody(nil), 409)
	step("error-name-invalid", "PUT", vaultPath("rg", "1abc"), createBody(nil), 400)
	step("error-retention", "PUT", vaultPath("rg", "default-x"), createBody(func(p map[string]any) { p["softDeleteRetentionInDays"] = 91 }), 400)
	step("error-not-found", "GET", vaultPath("rg", "absent"), nil, 404)
	step("error-api-version", "GET", strings.Replace(vaultPath("rg", "absent"), kvAPI, "api-version=2016-10-01", 1), nil, 400)
	step("error-missing-api-version", "GET", strings.TrimSuffix(vaultPath("rg", "absent"), "?"+kvAPI), nil, 400)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("%s: not JSON: %s", name, got)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if d := cmp.Diff(string(want), buf.String()); d != "" {
		t.Errorf("%s (-want +got):\n%s", name, d)
	}
}

// TestARMPurgeOperation: the purge answers 202 with an operation URL that is done at once;
// made-up ids of another form are 404.
func TestARMPurgeOperation(t *testing.T) {
	e := newEnv(t)
	e.do(t, admin, "PUT", vaultPath("rg", "to-purge"), createBody(nil))
	e.do(t, admin, "DELETE", vaultPath("rg", "to-purge"), nil)
	w := e.do(t, admin, "POST", "/subscriptions/"+sub+"/providers/Microsoft.KeyVault/locations/WestUS/deletedVaults/to-purge/purge?api-version=2022-07-01", nil)
	loc := w.Header().Get("Location")
	if w.Code != 202 || w.Header().Get("Retry-After") != "1" || !strings.HasPrefix(loc, "https://127.0.0.1:8443/subscriptions/"+sub+"/providers/Microsoft.KeyVault/locations/WestUS/operationResults/purge.") ||
		!strings.HasSuffix(loc, "?api-version=2022-07-01") {
		t.Fatalf("purge: %d %v", w.Code, w.Header())
	}
	op := strings.TrimPrefix(loc, "https://127.0.0.1:8443")
	if w := e.do(t, admin, "GET", op, nil); w.Code != 200 || !strings.Contains(w.Body.String(), `"status":"Succeeded"`) {
		t.Fatalf("operation: %d %s", w.Code, w.Body)
	}
	base := "/subscriptions/" + sub + "/providers/Microsoft.KeyVault/locations/westus/operationResults/"
	for _, id := range []string{"x", "purge.", "purge.12.abc", "purge.-1.0123456789abcdef", "purge.1.0123456789abcdeg", "delete.1.0123456789abcdef"} {
		if w := e.do(t, admin, "GET", base+url.PathEscape(id)+"?"+kvAPI, nil); w.Code != 404 {
			t.Errorf("operation %q: %d, want 404", id, w.Code)
		}
	}
	if w := e.do(t, admin, "GET", "/subscriptions/"+sub+"/providers/Microsoft.KeyVault/locations/westus/deletedVaults/to-purge?"+kvAPI, nil); w.Code != 404 {
		t.Fatalf("after purge: %d", w.Code)
	}
}

// failingSink refuses every record.
type failingSink struct{}

func (failingSink) Record(context.Context, audit.Event) error { return errors.New("disk full") }

// TestARMAudit: a change writes a request record before it and an outcome record after;
// a read only the outcome; a change whose request record cannot be written is refused
// with 503 and changes nothing.
func TestARMAudit(t *testing.T) {
	rec := &audit.Recorder{}
	e := newEnvAudited(t, rec)
	w := e.do(t, admin, "PUT", vaultPath("rg", "audited"), createBody(nil))
	if w.Code != 201 || w.Header().Get("x-ms-request-id") == "" {
		t.Fatalf("create: %d %v", w.Code, w.Header())
	}
	e.do(t, other, "GET", vaultPath("rg", "audited"), nil)
	evs := rec.Events()
	type rec1 struct {
		Phase, Vault, Operation, Decision, ClientID string
		Status                                      int
	}
	var got []rec1
	for _, ev := range evs {
		got = append(got, rec1{ev.Phase, ev.Vault, ev.Operation, ev.Decision, ev.Principal.ClientID, ev.Status})
	}
	want := []rec1{
		{"request", "audited", "Microsoft.KeyVault/vaults/write", "allowed: administrator", "admin-client", 0},
		{"outcome", "audited", "Microsoft.KeyVault/vaults/write", "allowed: administrator", "admin-client", 201},
		{"outcome", "audited", "Microsoft.KeyVault/vaults/read", "denied: only the administrator may use the management plane", "other-client", 403},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("records (-want +got):\n%s", d)
	}
	if evs[0].RequestID != evs[1].RequestID || evs[0].RequestID == evs[2].RequestID {
		t.Fatalf("request ids %s %s %s", evs[0].RequestID, evs[1].RequestID, evs[2].RequestID)
	}

	f := newEnvAudited(t, failingSink{})
	w = f.do(t, admin, "PUT", vaultPath("rg", "refused"), createBody(nil))
	if code, _ := errorCode(t, w); w.Code != 503 || code != "ServiceUnavailable" {
		t.Fatalf("unaudited change: %d %s", w.Code, w.Body)
	}
	if _, err := f.vaults.Internal().GetVault(t.Context(), "refused"); err == nil {
		t.Fatal("the vault was created without its audit record")
	}
	if w := f.do(t, admin, "GET", vaultPath("coffer", "default"), nil); w.Code != 404 {
		t.Fatalf("reads go on without the audit log: %d", w.Code) // default is not in sub: 404, not 503
	}
}

// FuzzServe: whatever the method, path, query and body, the management plane answers
// without panicking and never with a 5xx (a client's mistake is a 4xx).
func FuzzServe(f *testing.F) {
	for _, s := range [][3]string{
		{"PUT", vaultPath("rg", "v1"), `{"location":"westus","properties":{"tenantId":"` + tenant + `","sku":{"family":"A","name":"standard"}}}`},
		{"PUT", vaultPath("rg", "v1"), `{"properties":{"createMode":"recover"}}`},
		{"PATCH", vaultPath("rg", "default"), `{"properties":{"networkAcls":{"bypass":1}}}`},
		{"PUT", strings.Replace(vaultPath("rg", "v1"), "?", "/accessPolicies/add?", 1), `{"properties":{"accessPolicies":[{}]}}`},
		{"POST", "/subscriptions/s/providers/Microsoft.KeyVault/checkNameAvailability?" + kvAPI, `{"name":7}`},
		{"GET", "/subscriptions/s/resources?api-version=2015-11-01&$filter=name%20eq%20'", ""},
		{"GET", "/subscriptions/s/providers/Microsoft.KeyVault/vaults?" + kvAPI + "&$top=99999999999999999999", ""},
		{"GET", "/subscriptions/%zz", ""},
		{"DELETE", vaultPath("coffer", "default"), ""},
		{"POST", "/subscriptions/" + arm.DefaultSubscription + "/providers/Microsoft.KeyVault/locations/local/deletedVaults/default/purge?" + kvAPI, ""},
		{"GET", "/v1.0/servicePrincipals?$filter=appId%20eq%20'x'", ""},
		{"GET", "/subscriptions/s/providers/microsoft.KEYVAULT?api-version=2021-04-01", ""},
		{"GET", "/providers?api-version=2021-04-01&$top=1", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \t\r\n#") {
			return
		}
		switch method {
		case "GET", "PUT", "PATCH", "POST", "DELETE":
		default:
			return
		}
		u, err := url.ParseRequestURI(target)
		if err != nil || u.Host != "" {
			return
		}
		for _, c := range []plane.Principal{admin, other} {
			w := e.do(t, c, method, target, body)
			if w.Code >= 500 {
				t.Fatalf("%s %s %q as %s: %d %s", method, target, body, c.ClientID, w.Code, w.Body)
			}
			if w.Code >= 400 && w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
				t.Fatalf("error without JSON: %d %v", w.Code, w.Header())
			}
		}
	})
}

// TestRenderStorageRefusals: a storage that refused the work for now and wrote nothing is
// a 503 with Retry-After, which azcore retries — conflicting writers soon, a full disk
// later — never a 500.
func TestRenderStorageRefusals(t *testing.T) {
	api := newEnv(t).api
	r := httptest.NewRequest("PUT", "https://127.0.0.1:8443/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v", nil)
	for _, tc := range []struct {
		name       string
		err        error
		retryAfter string
	}{
		{"busy", fmt.Errorf("postgres: update: %w", storage.ErrBusy), "1"},
		{"disk-full", fmt.Errorf("bbolt: commit: %w: %w", storage.ErrUnavailable, syscall.ENOSPC), "5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := api.Render(r, "rid", tc.err)
			if e.Status != 503 || e.Code != "ServiceUnavailable" || e.RetryAfter != tc.retryAfter || !strings.Contains(e.Message, "nothing was changed") {
				t.Errorf("got %d %s Retry-After %q %q, want 503 ServiceUnavailable Retry-After %q, nothing changed", e.Status, e.Code, e.RetryAfter, e.Message, tc.retryAfter)
			}
		})
	}
}
