package arm_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestARMBodyMustBeUTF8JSONText: a vault body whose tags or location hold bytes that are
// not UTF-8, or a \u escape of half a surrogate pair, is refused with 400 BadRequest and
// changes nothing.
func TestARMBodyMustBeUTF8JSONText(t *testing.T) {
	e := newEnv(t)
	if w := e.do(t, admin, "PUT", vaultPath("rg", "kept"), createBody(nil)); w.Code != 201 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	valid, err := json.Marshal(createBody(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, method, vault, body, says string }{
		{"create-tag", "PUT", "fresh", strings.Replace(string(valid), `"env":"test"`, "\"env\":\"t\xffst\"", 1), "is not valid UTF-8"},
		{"create-location", "PUT", "fresh", strings.Replace(string(valid), `"westus"`, "\"west\xc3\"", 1), "is not valid UTF-8"},
		{"update-tag", "PATCH", "kept", "{\"tags\":{\"env\":\"\xed\xa0\x80\"}}", "is not valid UTF-8"},
		{"update-tag-lone-surrogate", "PATCH", "kept", `{"tags":{"env":"\ud83d"}}`, "first half of a UTF-16 surrogate pair"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(t, admin, tc.method, vaultPath("rg", tc.vault), tc.body)
			code, msg := errorCode(t, w)
			if w.Code != 400 || code != "BadRequest" || !strings.Contains(msg, "must be UTF-8 JSON text") || !strings.Contains(msg, tc.says) {
				t.Fatalf("%d %s: %s", w.Code, code, msg)
			}
		})
	}
	if w := e.do(t, admin, "GET", vaultPath("rg", "fresh"), nil); w.Code != 404 {
		t.Errorf("a refused create made the vault: %d %s", w.Code, w.Body)
	}
	w := e.do(t, admin, "GET", vaultPath("rg", "kept"), nil)
	var v struct{ Tags map[string]string }
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || v.Tags["env"] != "test" {
		t.Errorf("a refused update changed the vault's tags: %d %s", w.Code, w.Body)
	}
}

// TestARMEchoedInputIsBounded: a 100 KB api-version, query parameter, path segment or body
// member is shown in the error message cut to 128 characters and "…", never whole.
func TestARMEchoedInputIsBounded(t *testing.T) {
	e := newEnv(t)
	if w := e.do(t, admin, "PUT", vaultPath("rg", "kept"), createBody(nil)); w.Code != 201 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	long := strings.Repeat("x", 100_000)
	shown := strings.Repeat("x", 128) + "…"
	kv := "/subscriptions/" + sub + "/providers/Microsoft.KeyVault"
	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"api-version", "GET", strings.TrimSuffix(vaultPath("rg", "kept"), kvAPI) + "api-version=" + long, nil},
		{"top", "GET", kv + "/vaults?" + kvAPI + "&$top=" + long, nil},
		{"skiptoken", "GET", kv + "/vaults?" + kvAPI + "&$top=1&$skiptoken=" + long, nil},
		{"filter", "GET", "/subscriptions/" + sub + "/resources?api-version=2021-04-01&$filter=" + long, nil},
		{"unknown-path", "GET", "/" + long + "?" + kvAPI, nil},
		{"resource-group", "GET", vaultPath(long, "kept"), nil},
		{"deleted-vault-location", "GET", kv + "/locations/" + long + "/deletedVaults/kept?" + kvAPI, nil},
		{"access-policy-operation", "PUT", strings.Replace(vaultPath("rg", "kept"), "?", "/accessPolicies/"+long+"?", 1), map[string]any{}},
		{"create-mode", "PUT", vaultPath("rg", "kept"), createBody(func(p map[string]any) { p["createMode"] = long })},
		{"sku-family", "PUT", vaultPath("rg", "fresh"), createBody(func(p map[string]any) { p["sku"] = map[string]string{"family": long, "name": "standard"} })},
		{"location", "PUT", vaultPath("rg", "kept"), map[string]any{"location": long, "properties": map[string]any{}}},
		{"permission", "PUT", vaultPath("rg", "kept"), createBody(func(p map[string]any) {
			p["accessPolicies"] = []any{map[string]any{"tenantId": tenant, "objectId": "o", "permissions": map[string]any{"secrets": []string{long}}}}
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(t, admin, tc.method, tc.path, tc.body)
			code, msg := errorCode(t, w)
			if w.Code < 400 || !strings.Contains(msg, shown) || len(msg) > 1000 {
				t.Errorf("%d %s, a message of %d bytes: %.300s", w.Code, code, len(msg), msg)
			}
		})
	}
}
