package cli

import (
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/google/go-cmp/cmp"

	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/testenv"
)

// serverFiles are the only files of this package that may use Coffer's own packages:
// the server and the offline maintenance commands (snapshot.go: restore, and the check of
// a file saved, which reads the snapshot format). Client commands prove the public API.
var serverFiles = map[string]bool{"server.go": true, "keys.go": true, "storage.go": true, "check.go": true, "snapshot.go": true}

func TestClientFilesImportNoServerPackage(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || serverFiles[f] {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range af.Imports {
			path := strings.Trim(im.Path.Value, `"`)
			switch path {
			case "github.com/coffer/coffer/internal/vaultfile", // the export file format: a leaf both sides speak
				"github.com/coffer/coffer/internal/clock": // the wall clock every part reads
				continue // leaves with no server code (archtest)
			}
			if strings.HasPrefix(path, "github.com/coffer/coffer/") {
				t.Errorf("%s imports %s: client commands reach the server only through the Azure SDK", f, im.Path.Value)
			}
		}
	}
}

// TestVaultHostsDialServer: with a vault domain no resolver knows, the client still
// reaches V.<domain> (SNI and Host kept) by dialling the server's address.
func TestVaultHostsDialServer(t *testing.T) {
	t.Setenv("SSL_CERT_FILE", "")
	st := testenv.NewStack(t, testenv.Options{Config: func(c *server.Config) { c.VaultDomain = "coffer.invalid" }})
	c, err := newClientFor(target{Server: st.Server.URL(), Credentials: st.Server.CredentialsPath(), CA: st.Server.CAPath()})
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.vaultURL(t.Context(), "Default")
	if err != nil {
		t.Fatal(err)
	}
	if want := st.Server.VaultURL("default"); u != want {
		t.Fatalf("vault URL %s, want %s", u, want)
	}
	resp, err := c.http.Get(u + "secrets?api-version=7.6")
	if err != nil {
		t.Fatalf("dial the vault host: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `resource="https://coffer.invalid`) {
		t.Fatalf("vault host answered %s %q", resp.Status, resp.Header.Get("WWW-Authenticate"))
	}
}

func perms[T ~string](vs ...T) []*T {
	out := make([]*T, len(vs))
	for i := range vs {
		out[i] = &vs[i]
	}
	return out
}

func TestPlanSetPolicy(t *testing.T) {
	const tenant, oid, other = "t-1", "0b6f3c1e-52c4-4d27-9a0e-8f1d2c3b4a59", "9d2c3b4a-0000-4d27-9a0e-8f1d2c3b4a59"
	entry := func(o string, p armkeyvault.Permissions) *armkeyvault.AccessPolicyEntry {
		return &armkeyvault.AccessPolicyEntry{TenantID: to.Ptr(tenant), ObjectID: to.Ptr(o), Permissions: &p}
	}
	existing := []*armkeyvault.AccessPolicyEntry{
		entry(other, armkeyvault.Permissions{Keys: perms[armkeyvault.KeyPermissions]("all")}),
		entry(strings.ToUpper(oid), armkeyvault.Permissions{
			Secrets: perms[armkeyvault.SecretPermissions]("get", "list"),
			Keys:    perms[armkeyvault.KeyPermissions]("sign"),
		}),
	}
	cases := []struct {
		name     string
		policies []*armkeyvault.AccessPolicyEntry
		set      armkeyvault.Permissions
		kind     armkeyvault.AccessPolicyUpdateKind
		want     []*armkeyvault.AccessPolicyEntry
	}{
		{
			name: "ok/new-entry-is-add", policies: existing[:1],
			set:  armkeyvault.Permissions{Secrets: perms[armkeyvault.SecretPermissions]("get")},
			kind: armkeyvault.AccessPolicyUpdateKindAdd,
			want: []*armkeyvault.AccessPolicyEntry{entry(oid, armkeyvault.Permissions{Secrets: perms[armkeyvault.SecretPermissions]("get")})},
		},
		{
			name: "ok/grant-only-is-add-of-whole-entry", policies: existing,
			set:  armkeyvault.Permissions{Secrets: perms[armkeyvault.SecretPermissions]("get", "list", "set")},
			kind: armkeyvault.AccessPolicyUpdateKindAdd,
			want: []*armkeyvault.AccessPolicyEntry{entry(strings.ToUpper(oid), armkeyvault.Permissions{
				Secrets: perms[armkeyvault.SecretPermissions]("get", "list", "set"),
				Keys:    perms[armkeyvault.KeyPermissions]("sign"),
			})},
		},
		{
			name: "ok/taking-away-is-replace-of-whole-list", policies: existing,
			set:  armkeyvault.Permissions{Secrets: perms[armkeyvault.SecretPermissions]("get")},
			kind: armkeyvault.AccessPolicyUpdateKindReplace,
			want: []*armkeyvault.AccessPolicyEntry{existing[0], entry(strings.ToUpper(oid), armkeyvault.Permissions{
				Secrets: perms[armkeyvault.SecretPermissions]("get"),
				Keys:    perms[armkeyvault.KeyPermissions]("sign"),
			})},
		},
		{
			name: "ok/empty-list-takes-a-type-away", policies: existing,
			set:  armkeyvault.Permissions{Keys: []*armkeyvault.KeyPermissions{}},
			kind: armkeyvault.AccessPolicyUpdateKindReplace,
			want: []*armkeyvault.AccessPolicyEntry{existing[0], entry(strings.ToUpper(oid), armkeyvault.Permissions{
				Secrets: perms[armkeyvault.SecretPermissions]("get", "list"),
				Keys:    []*armkeyvault.KeyPermissions{},
			})},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kind, got := planSetPolicy(tc.policies, tenant, oid, permSet{perms: tc.set})
			if kind != tc.kind {
				t.Fatalf("kind %s, want %s", kind, tc.kind)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("entries (-want +got):\n%s", d)
			}
		})
	}
}

func TestParsePerms(t *testing.T) {
	got, err := parsePerms("key-permissions", []string{"WRAPKEY get", "get", "getRotationPolicy"}, armkeyvault.PossibleKeyPermissionsValues())
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(perms[armkeyvault.KeyPermissions]("wrapKey", "get", "getrotationpolicy"), got); d != "" {
		t.Fatal(d)
	}
	if _, err := parsePerms("secret-permissions", []string{"get", "fly"}, armkeyvault.PossibleSecretPermissionsValues()); err == nil {
		t.Fatal("unknown permission accepted")
	}
}

func TestProfileRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	t.Setenv("COFFER_CONFIG_DIR", dir)
	if p, _, err := loadProfile(); err != nil || p != (profile{}) {
		t.Fatalf("missing profile: %+v %v", p, err)
	}
	want := profile{Server: "https://127.0.0.1:8443", Credentials: "/x/creds.json", CA: "/x/ca.crt"}
	// A profile that exists with a loose mode is replaced by a 0600 one.
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "profile.json"), []byte("{}"), 0o644)
	path, err := saveProfile(want)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode().Perm())
	}
	got, _, err := loadProfile()
	if err != nil || got != want {
		t.Fatalf("got %+v %v", got, err)
	}
	os.WriteFile(path, []byte("{"), 0o600)
	if _, _, err := loadProfile(); err == nil {
		t.Fatal("broken profile accepted")
	}
}
