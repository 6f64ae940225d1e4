package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/coffer/coffer/internal/cli"
	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/testenv"
)

// cleanEnv gives the test its own config dir and clears the variables a client reads.
func cleanEnv(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "config")
	t.Setenv("COFFER_CONFIG_DIR", dir)
	for _, v := range []string{"COFFER_SERVER", "COFFER_CREDENTIALS", "SSL_CERT_FILE", "AZURE_REGIONAL_AUTHORITY_NAME"} {
		t.Setenv(v, "")
	}
	return dir
}

type result struct {
	out, err string
	code     int
}

// coffer runs the command line in-process.
func coffer(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(t.Context(), args, strings.NewReader(""), &out, &errb)
	return result{out.String(), errb.String(), code}
}

func (r result) ok(t *testing.T) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.out, r.err)
	}
	return r
}

// fails asserts exit code 1 and a "coffer: error:" line containing want.
func (r result) fails(t *testing.T, want string) result {
	t.Helper()
	return r.failsWith(t, 1, want)
}

// usage asserts exit code 2 (a usage error) and a "coffer: error:" line containing want.
func (r result) usage(t *testing.T, want string) result {
	t.Helper()
	return r.failsWith(t, 2, want)
}

// notFound asserts exit code 3 and a "coffer: error:" line containing want.
func (r result) notFound(t *testing.T, want string) result {
	t.Helper()
	return r.failsWith(t, 3, want)
}

// conflict asserts exit code 4 (conflict or forbidden) and a "coffer: error:" line
// containing want.
func (r result) conflict(t *testing.T, want string) result {
	t.Helper()
	return r.failsWith(t, 4, want)
}

// failsWith asserts the exit code and a "coffer: error:" line containing want, followed
// by "coffer: hint:" lines only.
func (r result) failsWith(t *testing.T, code int, want string) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.out, r.err)
	}
	first, _, _ := strings.Cut(r.err, "\n")
	if !strings.HasPrefix(first, "coffer: error: ") || !strings.Contains(r.err, want) {
		t.Fatalf("stderr %q, want a coffer: error: line and %q", r.err, want)
	}
	for _, l := range strings.Split(strings.TrimSpace(r.err), "\n")[1:] {
		if !strings.HasPrefix(l, "coffer: hint: ") {
			t.Fatalf("stray stderr line %q", l)
		}
	}
	return r
}

func (r result) hinted(t *testing.T) result {
	t.Helper()
	if !strings.Contains(r.err, "\ncoffer: hint: ") {
		t.Fatalf("no hint in %q", r.err)
	}
	return r
}

func login(t *testing.T, st *testenv.Stack) {
	t.Helper()
	coffer(t, "login", "--server", st.Server.URL(), "--credentials", st.Server.CredentialsPath(), "--ca", st.Server.CAPath()).ok(t)
}

func port(st *testenv.Stack) string {
	u, _ := url.Parse(st.Server.URL())
	return u.Port()
}

// token gets a token for creds and the given resource.
func token(t *testing.T, st *testenv.Stack, creds identity.Credentials, resource string) string {
	t.Helper()
	tok, err := testenv.Credential(t, creds, st.HTTP).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{resource + "/.default"}})
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	return tok.Token
}

func dataToken(t *testing.T, st *testenv.Stack, creds identity.Credentials) string {
	return token(t, st, creds, "https://localhost:"+port(st))
}

// send makes a raw request with a bearer token.
func send(t *testing.T, st *testenv.Stack, method, u, tok, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, u, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := st.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func writeJSONFile(t *testing.T, v any) string {
	t.Helper()
	b, _ := json.Marshal(v)
	p := filepath.Join(t.TempDir(), "creds.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoginStoresProfile(t *testing.T) {
	dir := cleanEnv(t)
	st := testenv.NewStack(t)
	r := coffer(t, "login", "--server", st.Server.URL()+"/", "--credentials", st.Server.CredentialsPath(), "--ca", st.Server.CAPath()).ok(t)

	path := filepath.Join(dir, "profile.json")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no profile: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("profile mode %v", fi.Mode().Perm())
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Fatalf("config dir mode %v", di.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	var p map[string]string
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"server": st.Server.URL(), "credentials": st.Server.CredentialsPath(), "ca": st.Server.CAPath()}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("profile %s = %q, want %q", k, p[k], v)
		}
	}
	if len(p) != 3 || strings.Contains(string(b), st.Creds.ClientSecret) {
		t.Fatalf("profile holds more than paths: %s", b)
	}
	var out map[string]string
	if err := json.Unmarshal([]byte(r.out), &out); err != nil {
		t.Fatalf("login output %q: %v", r.out, err)
	}
	if out["vaultSuffix"] != ".localhost:"+port(st) || out["tenantId"] != st.Creds.TenantID || out["profile"] != path {
		t.Fatalf("login output %s", r.out)
	}

	// The profile is used by later commands.
	coffer(t, "principal", "list").ok(t)

	t.Run("fail/wrong-secret", func(t *testing.T) {
		dir := cleanEnv(t)
		bad := st.Creds
		bad.ClientSecret = "not-the-secret"
		coffer(t, "login", "--server", st.Server.URL(), "--credentials", writeJSONFile(t, bad), "--ca", st.Server.CAPath()).
			fails(t, "authentication failed").hinted(t)
		if _, err := os.Stat(filepath.Join(dir, "profile.json")); err == nil {
			t.Fatal("a failed login wrote a profile")
		}
	})
	t.Run("fail/untrusted-ca", func(t *testing.T) {
		cleanEnv(t)
		coffer(t, "login", "--server", st.Server.URL(), "--credentials", st.Server.CredentialsPath()).
			fails(t, "not trusted").hinted(t)
	})
	t.Run("ok/ssl-cert-file", func(t *testing.T) {
		dir := cleanEnv(t)
		t.Setenv("SSL_CERT_FILE", st.Server.CAPath())
		coffer(t, "login", "--server", st.Server.URL(), "--credentials", st.Server.CredentialsPath()).ok(t)
		b, _ := os.ReadFile(filepath.Join(dir, "profile.json"))
		if strings.Contains(string(b), `"ca"`) {
			t.Fatalf("profile names a CA: %s", b)
		}
		coffer(t, "principal", "list").ok(t)
	})
	t.Run("fail/missing-flags", func(t *testing.T) {
		cleanEnv(t)
		coffer(t, "login", "--server", st.Server.URL()).usage(t, "--server and --credentials are required").hinted(t)
	})
	t.Run("fail/http", func(t *testing.T) {
		cleanEnv(t)
		coffer(t, "login", "--server", "http://127.0.0.1:1", "--credentials", st.Server.CredentialsPath()).fails(t, "HTTPS only").hinted(t)
	})
	t.Run("fail/no-server-there", func(t *testing.T) {
		cleanEnv(t)
		coffer(t, "login", "--server", "https://127.0.0.1:1", "--credentials", st.Server.CredentialsPath(), "--ca", st.Server.CAPath()).
			fails(t, "cannot reach the server").hinted(t)
	})
}

func TestEnvironmentOverridesProfile(t *testing.T) {
	cleanEnv(t)
	st := testenv.NewStack(t)
	login(t, st)

	// A principal's credentials in COFFER_CREDENTIALS win over the profile's administrator.
	var creds identity.Credentials
	json.Unmarshal([]byte(coffer(t, "principal", "create", "--name", "other").ok(t).out), &creds)
	t.Setenv("COFFER_CREDENTIALS", writeJSONFile(t, creds))
	coffer(t, "principal", "list").conflict(t, "403").hinted(t)
	t.Setenv("COFFER_CREDENTIALS", "")
	coffer(t, "principal", "list").ok(t)

	// COFFER_SERVER wins over the profile's server.
	t.Setenv("COFFER_SERVER", "https://127.0.0.1:1")
	coffer(t, "principal", "list").fails(t, "cannot reach the server")
}

func TestPrincipalLifecycle(t *testing.T) {
	cleanEnv(t)
	st := testenv.NewStack(t)
	login(t, st)

	r := coffer(t, "principal", "create", "--name", "ci").ok(t)
	var fields map[string]string
	if err := json.Unmarshal([]byte(r.out), &fields); err != nil {
		t.Fatalf("create output %q: %v", r.out, err)
	}
	for _, k := range []string{"tenantId", "clientId", "clientSecret", "objectId", "authorityHost"} {
		if fields[k] == "" {
			t.Fatalf("create output lacks %s: %s", k, r.out)
		}
	}
	if len(fields) != 5 || fields["tenantId"] != st.Creds.TenantID || fields["authorityHost"] != st.Creds.AuthorityHost {
		t.Fatalf("create output %s", r.out)
	}
	var creds identity.Credentials
	json.Unmarshal([]byte(r.out), &creds)

	// The new principal gets a token; with no rights, the data plane answers 403, not 401.
	dp := dataToken(t, st, creds)
	secrets := st.Server.VaultURL("default") + "secrets?api-version=7.6"
	if status, body := send(t, st, "GET", secrets, dp, ""); status != 403 {
		t.Fatalf("new principal on the data plane: %d %s", status, body)
	}

	// Its credentials file works with coffer login as well.
	credsFile := writeJSONFile(t, creds)
	t.Run("login-as-principal", func(t *testing.T) {
		cleanEnv(t)
		coffer(t, "login", "--server", st.Server.URL(), "--credentials", credsFile, "--ca", st.Server.CAPath()).ok(t)
		coffer(t, "principal", "list").conflict(t, "403 Forbidden").hinted(t)
		coffer(t, "principal", "create", "--name", "sneaky").conflict(t, "403 Forbidden")
		coffer(t, "principal", "delete", "--object-id", creds.ObjectID).conflict(t, "403 Forbidden")
	})

	list := coffer(t, "principal", "list").ok(t).out
	if strings.Contains(strings.ToLower(list), "secret") {
		t.Fatalf("list shows a secret: %s", list)
	}
	var ps []map[string]any
	if err := json.Unmarshal([]byte(list), &ps); err != nil {
		t.Fatalf("list output %q: %v", list, err)
	}
	if len(ps) != 2 {
		t.Fatalf("list %s", list)
	}
	var seen bool
	for _, p := range ps {
		if p["objectId"] == creds.ObjectID {
			seen = p["name"] == "ci" && p["clientId"] == creds.ClientID && p["admin"] == false && len(p) == 4
		}
	}
	if !seen {
		t.Fatalf("ci not listed right: %s", list)
	}
	tab := coffer(t, "principal", "list", "-o", "table").ok(t).out
	if lines := strings.Split(strings.TrimSpace(tab), "\n"); len(lines) != 4 || !strings.HasPrefix(lines[0], "Name") ||
		!strings.HasPrefix(lines[1], "----") || !strings.Contains(tab, creds.ObjectID) {
		t.Fatalf("table:\n%s", tab)
	}
	tsv := coffer(t, "principal", "list", "-o", "tsv").ok(t).out
	if !strings.Contains(tsv, "ci\t"+creds.ObjectID+"\t"+creds.ClientID+"\tfalse\n") {
		t.Fatalf("tsv:\n%s", tsv)
	}

	if r := coffer(t, "principal", "delete", "--object-id", creds.ObjectID).ok(t); r.out != "" {
		t.Fatalf("delete printed %q", r.out)
	}
	// The token obtained before the delete is refused at once.
	if status, body := send(t, st, "GET", secrets, dp, ""); status != 401 {
		t.Fatalf("deleted principal's token: %d %s", status, body)
	}
	if strings.Contains(coffer(t, "principal", "list").ok(t).out, creds.ObjectID) {
		t.Fatal("deleted principal still listed")
	}
	coffer(t, "principal", "delete", "--object-id", creds.ObjectID).notFound(t, "404 Not Found (PrincipalNotFound)")
	t.Run("deleted-credentials", func(t *testing.T) {
		t.Setenv("COFFER_CREDENTIALS", credsFile)
		coffer(t, "principal", "list").fails(t, "authentication failed").hinted(t)
	})

	var admin string
	for _, p := range ps {
		if p["admin"] == true {
			admin = p["objectId"].(string)
		}
	}
	coffer(t, "principal", "delete", "--object-id", admin).conflict(t, "409")
}

func TestBadInput(t *testing.T) {
	cleanEnv(t)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"fail/create-without-name", []string{"principal", "create"}, "--name is required"},
		{"fail/delete-without-id", []string{"principal", "delete"}, "--object-id is required"},
		{"fail/output-format", []string{"principal", "list", "-o", "xml"}, `unknown output format "xml"`},
		{"fail/set-policy-no-object", []string{"vault", "set-policy", "--name", "v"}, "--name and --object-id are required"},
		{"fail/bad-permission", []string{"vault", "set-policy", "-n", "v", "--object-id", "o", "--secret-permissions", "get,steal"}, `unknown permission "steal"`},
		{"fail/az-style-list", []string{"vault", "set-policy", "-n", "v", "--object-id", "o", "--secret-permissions", "get", "list"}, `unexpected argument "list"`},
		{"fail/delete-policy-no-name", []string{"vault", "delete-policy", "--object-id", "o"}, "--name and --object-id are required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			coffer(t, tc.args...).usage(t, tc.want).hinted(t)
		})
	}
	t.Run("fail/not-logged-in", func(t *testing.T) {
		coffer(t, "principal", "list").fails(t, "not logged in").hinted(t)
	})
	t.Run("fail/unknown-flag", func(t *testing.T) {
		coffer(t, "principal", "create", "--nmae", "x").usage(t, "unknown flag").hinted(t)
	})
	t.Run("fail/unknown-command", func(t *testing.T) {
		r := coffer(t, "vault", "frobnicate").usage(t, `unknown command "frobnicate"`).hinted(t)
		if !strings.Contains(r.err, "coffer vault --help") {
			t.Fatalf("no --help hint: %s", r.err)
		}
	})
	t.Run("fail/flag-value", func(t *testing.T) {
		coffer(t, "vault", "create", "-n", "v", "--retention-days", "many").usage(t, "invalid argument")
	})
	t.Run("fail/positional", func(t *testing.T) {
		coffer(t, "principal", "list", "extra").usage(t, "unknown command")
	})
	t.Run("fail/bad-credentials-file", func(t *testing.T) {
		t.Setenv("COFFER_SERVER", "https://127.0.0.1:1")
		t.Setenv("COFFER_CREDENTIALS", writeJSONFile(t, map[string]string{"tenantId": "x"}))
		coffer(t, "principal", "list").fails(t, "lacks clientId, clientSecret, authorityHost").hinted(t)
	})
}

// TestVaultPolicy grants a new principal rights with set-policy and takes them away with
// delete-policy, checking each step on the data plane. It needs the ARM plane.
func TestVaultPolicy(t *testing.T) {
	cleanEnv(t)
	st := testenv.NewStack(t)
	login(t, st)
	armURL := st.Server.URL() + "/subscriptions/c0ffe000-0000-4000-8000-000000000000/resourceGroups/coffer/providers/Microsoft.KeyVault/vaults/default?api-version=2024-11-01"
	if status, _ := send(t, st, "GET", armURL, st.ARMToken(t), ""); status == 404 {
		t.Skip("ARM not available")
	}

	var creds identity.Credentials
	json.Unmarshal([]byte(coffer(t, "principal", "create", "--name", "app").ok(t).out), &creds)
	admin := st.Secrets(t, "default")
	if _, err := admin.SetSecret(t.Context(), "db", setParams("v"), nil); err != nil {
		t.Fatal(err)
	}
	dp := dataToken(t, st, creds)
	v := st.Server.VaultURL("default")
	check := func(t *testing.T, what string, list, get, set int) {
		t.Helper()
		for _, c := range []struct {
			method, path, body string
			want               int
		}{
			{"GET", "secrets?api-version=7.6", "", list},
			{"GET", "secrets/db?api-version=7.6", "", get},
			{"PUT", "secrets/db?api-version=7.6", `{"value":"w"}`, set},
		} {
			if status, body := send(t, st, c.method, v+c.path, dp, c.body); status != c.want {
				t.Fatalf("%s: %s %s: %d, want %d: %s", what, c.method, c.path, status, c.want, body)
			}
		}
	}
	check(t, "before", 403, 403, 403)

	// No -g: the group is found by listing the default subscription's vaults.
	r := coffer(t, "vault", "set-policy", "--name", "default", "--object-id", creds.ObjectID, "--secret-permissions", "get,LIST").ok(t)
	if !strings.Contains(r.out, creds.ObjectID) || !strings.Contains(r.out, `"vaultUri"`) {
		t.Fatalf("set-policy printed %s", r.out)
	}
	check(t, "get,list", 200, 200, 403)

	// A type given replaces that type's list (here: list is taken away); -g given.
	coffer(t, "vault", "set-policy", "-n", "default", "-g", "coffer", "--object-id", creds.ObjectID, "--secret-permissions", "get set").ok(t)
	check(t, "get,set", 403, 200, 200)

	// A type not given keeps its list.
	tab := coffer(t, "vault", "set-policy", "-n", "default", "--object-id", creds.ObjectID, "--key-permissions", "get", "-o", "table").ok(t).out
	if !strings.Contains(tab, creds.ObjectID) || !strings.Contains(tab, "get,set") {
		t.Fatalf("table:\n%s", tab)
	}
	check(t, "keys added", 403, 200, 200)

	coffer(t, "vault", "delete-policy", "-n", "default", "--object-id", creds.ObjectID).ok(t)
	check(t, "deleted", 403, 403, 403)
	coffer(t, "vault", "delete-policy", "-n", "default", "--object-id", creds.ObjectID).notFound(t, "no access policy").hinted(t)
	coffer(t, "vault", "set-policy", "-n", "nosuchvault", "--object-id", creds.ObjectID, "--secret-permissions", "get").notFound(t, "no vault").hinted(t)
}

func setParams(v string) azsecrets.SetSecretParameters {
	return azsecrets.SetSecretParameters{Value: to.Ptr(v)}
}
