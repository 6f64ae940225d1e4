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
