package arm_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer/coffer/internal/arm"
)

// provider is what a client reads from a provider document.
type provider struct {
	ID, Namespace, RegistrationState, RegistrationPolicy string
	ResourceTypes                                        []struct {
		ResourceType string
		Locations    []string
		APIVersions  []string
		Capabilities string
	}
}

// TestARMProviderGolden pins the provider documents and the unknown-namespace error.
// -update rewrites testdata.
func TestARMProviderGolden(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, target string
		status       int
	}{
		{"provider", "/subscriptions/" + sub + "/providers/Microsoft.KeyVault?api-version=2021-04-01", 200},
		{"providers", "/subscriptions/" + sub + "/providers?api-version=2021-04-01", 200},
		{"provider-tenant", "/providers/Microsoft.KeyVault?api-version=2021-04-01", 200},
		{"error-provider-namespace", "/subscriptions/" + sub + "/providers/Microsoft.Compute?api-version=2021-04-01", 404},
	} {
		w := e.do(t, admin, "GET", tc.target, nil)
		if w.Code != tc.status {
			t.Fatalf("%s: %d %s, want %d", tc.name, w.Code, w.Body, tc.status)
		}
		golden(t, tc.name, w.Body.Bytes())
	}
}

func TestARMProviders(t *testing.T) {
	e := newEnv(t)
	get := func(t *testing.T, target string) provider {
		t.Helper()
		w := e.do(t, admin, "GET", target, nil)
		var p provider
		if err := json.Unmarshal(w.Body.Bytes(), &p); w.Code != 200 || err != nil {
			t.Fatalf("GET %s: %d %s", target, w.Code, w.Body)
		}
		return p
	}

	t.Run("ok/namespace-case-insensitive", func(t *testing.T) {
		for _, ns := range []string{"Microsoft.KeyVault", "microsoft.keyvault", "MICROSOFT.KEYVAULT"} {
			p := get(t, "/SUBSCRIPTIONS/"+sub+"/Providers/"+ns+"/?api-version=2021-04-01")
			if p.Namespace != "Microsoft.KeyVault" || p.ID != "/subscriptions/"+sub+"/providers/Microsoft.KeyVault" || p.RegistrationState != "Registered" {
				t.Fatalf("%s: %+v", ns, p)
			}
		}
	})

	// What az resource does with the document: the first stable version of the type
	// addressed (vaults, or locations for a deleted vault's id) is one Coffer accepts.
	t.Run("ok/az-resolves-versions", func(t *testing.T) {
		p := get(t, "/subscriptions/"+sub+"/providers/Microsoft.KeyVault?api-version=2021-04-01")
		types := map[string][]string{}
		for _, rt := range p.ResourceTypes {
			types[strings.ToLower(rt.ResourceType)] = rt.APIVersions
		}
		for _, tc := range []struct{ typ, path string }{
			{"vaults", "/subscriptions/" + sub + "/resourceGroups/coffer/providers/Microsoft.KeyVault/vaults/default"},
			{"vaults", "/subscriptions/" + sub + "/providers/Microsoft.KeyVault/vaults"},
			{"deletedvaults", "/subscriptions/" + sub + "/providers/Microsoft.KeyVault/deletedVaults"},
			{"locations", "/subscriptions/" + sub + "/providers/Microsoft.KeyVault/locations/local/deletedVaults/absent"},
		} {
			vs := types[tc.typ]
			if len(vs) == 0 {
				t.Fatalf("no %s in %+v", tc.typ, p.ResourceTypes)
			}
			v := vs[0]
			for _, x := range vs {
				if !strings.HasSuffix(x, "-preview") {
					v = x
					break
				}
			}
			// Any answer but a 400 means the api-version was accepted.
			if w := e.do(t, admin, "GET", tc.path+"?api-version="+v, nil); w.Code == 400 {
				t.Fatalf("%s with %s: %d %s", tc.path, v, w.Code, w.Body)
			}
		}
	})

	t.Run("ok/list-top", func(t *testing.T) {
		w := e.do(t, admin, "GET", "/subscriptions/"+sub+"/providers?api-version=2021-04-01&$top=1", nil)
		var l struct {
			Value    []provider
			NextLink string
		}
		if err := json.Unmarshal(w.Body.Bytes(), &l); w.Code != 200 || err != nil || len(l.Value) != 1 || l.NextLink != "" {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	})

	for _, tc := range []struct {
		name, method, target string
		status               int
		code, msg            string
	}{
		{"fail/unknown-namespace", "GET", "/subscriptions/" + sub + "/providers/Microsoft.Storage?api-version=2021-04-01", 404, "InvalidResourceNamespace", "'Microsoft.Storage' is invalid"},
		{"fail/unknown-namespace-tenant", "GET", "/providers/Contoso.Widgets?api-version=2021-04-01", 404, "InvalidResourceNamespace", "Microsoft.KeyVault only"},
		{"fail/missing-api-version", "GET", "/subscriptions/" + sub + "/providers/Microsoft.KeyVault", 400, "MissingApiVersionParameter", "api-version"},
		{"fail/bad-api-version", "GET", "/providers?api-version=latest", 400, "InvalidApiVersionParameter", "latest"},
		{"fail/register-not-served", "POST", "/subscriptions/" + sub + "/providers/Microsoft.KeyVault?api-version=2021-04-01", 405, "MethodNotAllowed", "GET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(t, admin, tc.method, tc.target, nil)
			code, msg := errorCode(t, w)
			if w.Code != tc.status || code != tc.code || !strings.Contains(msg, tc.msg) {
				t.Fatalf("%d %s: %s", w.Code, code, msg)
			}
		})
	}
}

// TestARMPutBackUnchanged: a client that GETs a vault and PUTs the whole body back, with
// its read-only members (id, name, type, systemData, vaultUri, provisioningState, …),
// as az resource update does, changes nothing; the same body with enableSoftDelete
// false is refused with 400 and changes nothing either.
func TestARMPutBackUnchanged(t *testing.T) {
	e := newEnv(t)
	body := createBody(func(p map[string]any) {
		p["enablePurgeProtection"] = true
		p["networkAcls"] = map[string]any{"bypass": "AzureServices", "defaultAction": "Allow"}
		p["accessPolicies"] = []any{map[string]any{"tenantId": tenant, "objectId": "obj-1",
			"permissions": map[string]any{"secrets": []string{"get"}}}}
	})
	if w := e.do(t, admin, "PUT", vaultPath("rg", "put-back"), body); w.Code != 201 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	read := func() map[string]any {
		t.Helper()
		w := e.do(t, admin, "GET", vaultPath("rg", "put-back"), nil)
		var v map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &v); w.Code != 200 || err != nil {
			t.Fatalf("get: %d %s", w.Code, w.Body)
		}
		return v
	}
	// withoutModified drops the one member a successful PUT changes.
	withoutModified := func(v map[string]any) map[string]any {
		out := map[string]any{}
		for k, x := range v {
			out[k] = x
		}
		sd := map[string]any{}
		for k, x := range v["systemData"].(map[string]any) {
			sd[k] = x
		}
		delete(sd, "lastModifiedAt")
		out["systemData"] = sd
		return out
	}
	before := read()
	e.clock.Advance(time.Minute)

	w := e.do(t, admin, "PUT", vaultPath("rg", "put-back"), before)
	var answered map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &answered); w.Code != 200 || err != nil {
		t.Fatalf("put back: %d %s", w.Code, w.Body)
	}
	if d := cmp.Diff(withoutModified(before), withoutModified(answered)); d != "" {
		t.Fatalf("the answer differs (-before +after):\n%s", d)
	}
	if d := cmp.Diff(withoutModified(before), withoutModified(read())); d != "" {
		t.Fatalf("the vault changed (-before +after):\n%s", d)
	}

	off := read()
	off["properties"].(map[string]any)["enableSoftDelete"] = false
	w = e.do(t, admin, "PUT", vaultPath("rg", "put-back"), off)
	if code, msg := errorCode(t, w); w.Code != 400 || code != "BadRequest" || !strings.Contains(strings.ToLower(msg), "soft delete") {
		t.Fatalf("soft delete off: %d %s: %s", w.Code, code, msg)
	}
	after := read()
	if d := cmp.Diff(before["properties"], after["properties"]); d != "" {
		t.Fatalf("the refused PUT changed the vault (-before +after):\n%s", d)
	}
}

// TestARMProviderAdminOnly: provider documents follow the management plane's rule.
func TestARMProviderAdminOnly(t *testing.T) {
	e := newEnv(t)
	for _, target := range []string{
		"/subscriptions/" + arm.DefaultSubscription + "/providers/Microsoft.KeyVault?api-version=2021-04-01",
		"/subscriptions/" + arm.DefaultSubscription + "/providers?api-version=2021-04-01",
		"/providers/Microsoft.KeyVault?api-version=2021-04-01",
		"/providers?api-version=2021-04-01",
	} {
		w := e.do(t, other, "GET", target, nil)
		if code, _ := errorCode(t, w); w.Code != 403 || code != "AuthorizationFailed" {
			t.Fatalf("%s as another principal: %d %s", target, w.Code, w.Body)
		}
	}
}
