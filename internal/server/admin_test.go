package server_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/testenv"
)

const armScope = "https://management.azure.com"

func armCode(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not an ARM error: %s", body)
	}
	return e.Error.Code
}

type listed struct {
	Value []struct {
		ObjectID, ClientID, Name string
		Admin                    bool
	}
}

func listPrincipals(t *testing.T, st *testenv.Stack, admin string) listed {
	t.Helper()
	status, body := call(t, st, "GET", st.Server.URL()+"/admin/principals", admin, "")
	if status != 200 {
		t.Fatalf("list: %d %s", status, body)
	}
	if strings.Contains(strings.ToLower(body), "secret") {
		t.Fatalf("list shows a secret: %s", body)
	}
	var l listed
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestAdminPrincipals walks create → use → list → delete through the server, and shows
// that a deleted principal's tokens, already verified and cached, are refused at once.
func TestAdminPrincipals(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := t.Context()
	admin := st.ARMToken(t)
	base := st.Server.URL() + "/admin/principals"

	l := listPrincipals(t, st, admin)
	if len(l.Value) != 1 || !l.Value[0].Admin || l.Value[0].ClientID != st.Creds.ClientID || l.Value[0].ObjectID == "" {
		t.Fatalf("fresh list %+v", l)
	}
	adminOID := l.Value[0].ObjectID

	status, body := call(t, st, "POST", base, admin, `{"name":"ci"}`)
	if status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	var creds identity.Credentials
	var fields map[string]any
	if err := json.Unmarshal([]byte(body), &creds); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(body), &fields)
	if len(fields) != 5 || creds.TenantID != st.Creds.TenantID || creds.AuthorityHost != st.Creds.AuthorityHost ||
		creds.ClientID == "" || creds.ClientSecret == "" || creds.ObjectID == "" {
		t.Fatalf("credentials %s", body)
	}

	// The new principal gets tokens; it has no rights, so it is authenticated (403, not 401).
	cred := testenv.Credential(t, creds, st.HTTP)
	dpTok, armTok := token(t, cred, dataPlane(st)), token(t, cred, armScope)
	secrets := st.Server.VaultURL("default") + "secrets?api-version=7.6"
	if status, body := call(t, st, "GET", secrets, dpTok, ""); status != 403 {
		t.Fatalf("data plane before delete: %d %s", status, body)
	}
	if status, body := call(t, st, "GET", base, armTok, ""); status != 403 || armCode(t, body) != "Forbidden" {
		t.Fatalf("admin route as another principal: %d %s", status, body)
	}

	l = listPrincipals(t, st, admin)
	if len(l.Value) != 2 {
		t.Fatalf("list %+v", l)
	}
	var found bool
	for _, p := range l.Value {
		if p.ObjectID == creds.ObjectID {
			found = p.Name == "ci" && p.ClientID == creds.ClientID && !p.Admin
		}
	}
	if !found {
		t.Fatalf("new principal not listed right: %+v", l)
	}

	if status, body := call(t, st, "DELETE", base+"/"+creds.ObjectID, admin, ""); status != 204 || body != "" {
		t.Fatalf("delete: %d %s", status, body)
	}
	// Tokens obtained (and verified) before the delete stop working at once.
	if status, _ := call(t, st, "GET", secrets, dpTok, ""); status != 401 {
		t.Fatalf("data plane after delete: %d", status)
	}
	if status, body := call(t, st, "GET", base, armTok, ""); status != 401 || armCode(t, body) != "AuthenticationFailed" {
		t.Fatalf("ARM after delete: %d %s", status, body)
	}
	// A new token cannot be had either.
	if _, err := testenv.Credential(t, creds, st.HTTP).GetToken(ctx, tokenScope(armScope)); err == nil {
		t.Fatal("deleted principal got a token")
	}
	if l := listPrincipals(t, st, admin); len(l.Value) != 1 {
		t.Fatalf("after delete %+v", l)
	}

	cases := []struct {
		name, method, url, token, body string
		status                         int
		code                           string
	}{
		{"fail/no-token", "GET", base, "", "", 401, "AuthenticationFailed"},
		{"fail/no-token-create", "POST", base, "", `{"name":"x"}`, 401, "AuthenticationFailed"},
		{"fail/data-plane-token", "GET", base, dpTok, "", 401, "AuthenticationFailed"},
		{"fail/delete-again", "DELETE", base + "/" + creds.ObjectID, admin, "", 404, "PrincipalNotFound"},
		{"fail/delete-garbage", "DELETE", base + "/not-a-guid", admin, "", 404, "PrincipalNotFound"},
		{"fail/delete-administrator", "DELETE", base + "/" + adminOID, admin, "", 409, "Conflict"},
		{"fail/empty-body", "POST", base, admin, "", 400, "BadRequest"},
		{"fail/no-name", "POST", base, admin, `{}`, 400, "BadRequest"},
		{"fail/name-not-string", "POST", base, admin, `{"name":1}`, 400, "BadRequest"},
		{"fail/malformed", "POST", base, admin, `{"name":`, 400, "BadRequest"},
		{"fail/empty-name", "POST", base, admin, `{"name":""}`, 400, "BadRequest"},
		{"fail/control-char", "POST", base, admin, `{"name":"a\u0007b"}`, 400, "BadRequest"},
		{"fail/long-name", "POST", base, admin, `{"name":"` + strings.Repeat("n", 129) + `"}`, 400, "BadRequest"},
		{"fail/huge-body", "POST", base, admin, `{"name":"` + strings.Repeat("n", 20000) + `"}`, 400, "BadRequest"},
		{"fail/method", "PUT", base, admin, `{"name":"x"}`, 405, "MethodNotAllowed"},
		{"fail/method-item", "GET", base + "/" + adminOID, admin, "", 405, "MethodNotAllowed"},
		{"fail/deeper-path", "DELETE", base + "/" + adminOID + "/x", admin, "", 404, "NotFound"},
		{"fail/unknown-route", "GET", st.Server.URL() + "/admin/nothing", admin, "", 404, "NotFound"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := call(t, st, tc.method, tc.url, tc.token, tc.body)
			if status != tc.status || armCode(t, body) != tc.code {
				t.Fatalf("got %d %s, want %d %s", status, body, tc.status, tc.code)
			}
		})
	}
	if l := listPrincipals(t, st, admin); len(l.Value) != 1 {
		t.Fatalf("bad input created a principal: %+v", l)
	}

	// The new principal's secret is in no file of the data dir, in clear, hex or base64.
	st.Stop()
	filepath.WalkDir(st.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(creds.ClientSecret)) {
			t.Errorf("%s holds the principal's secret", path)
		}
		return nil
	})
}

// TestAdminPrincipalMany creates several principals and deletes one: the others keep
// working (the verdict cache drops only the deleted principal's tokens).
func TestAdminPrincipalMany(t *testing.T) {
	st := testenv.NewStack(t)
	admin := st.ARMToken(t)
	base := st.Server.URL() + "/admin/principals"
	var all []identity.Credentials
	var toks []string
	for _, n := range []string{"a", "b", "c"} {
		status, body := call(t, st, "POST", base, admin, `{"name":"`+n+`"}`)
		if status != 201 {
			t.Fatalf("create %s: %d %s", n, status, body)
		}
		var c identity.Credentials
		json.Unmarshal([]byte(body), &c)
		tok := token(t, testenv.Credential(t, c, st.HTTP), armScope)
		all, toks = append(all, c), append(toks, tok)
		if status, _ := call(t, st, "GET", base, tok, ""); status != 403 {
			t.Fatalf("%s: %d", n, status)
		}
	}
	if status, body := call(t, st, "DELETE", base+"/"+strings.ToUpper(all[1].ObjectID), admin, ""); status != 204 {
		t.Fatalf("delete (upper-case id): %d %s", status, body)
	}
	for i, want := range []int{403, 401, 403} {
		if status, _ := call(t, st, "GET", base, toks[i], ""); status != want {
			t.Fatalf("principal %d: %d, want %d", i, status, want)
		}
	}
}
