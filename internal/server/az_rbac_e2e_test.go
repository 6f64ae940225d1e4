package server_test

import (
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/testenv"
)

// azAs registers Coffer as az's cloud in a fresh AZURE_CONFIG_DIR and logs in as creds,
// as TestAzCLI does.
func azAs(t *testing.T, st *testenv.Stack, creds identity.Credentials) *azRunner {
	t.Helper()
	base := st.Server.URL()
	a := &azRunner{t: t, secret: creds.ClientSecret, env: toolEnv(st.Server.CAPath(),
		"AZURE_CONFIG_DIR="+t.TempDir(),
		"AZURE_CORE_COLLECT_TELEMETRY=false",
		"AZURE_CORE_NO_COLOR=true",
		"AZURE_CORE_SURVEY_MESSAGE=false",
		"AZURE_CORE_DISABLE_CONFIRM_PROMPT=true",
	)}
	cloudJSON, _ := json.Marshal(map[string]any{
		"endpoints": map[string]string{
			"resourceManager":                base + "/",
			"activeDirectory":                base + "/adfs",
			"activeDirectoryResourceId":      "https://management.core.windows.net/",
			"activeDirectoryGraphResourceId": base + "/",
			"microsoftGraphResourceId":       base + "/",
		},
		"suffixes": map[string]string{"keyvaultDns": ".localhost:" + port(st)},
	})
	cloudFile := filepath.Join(t.TempDir(), "cloud.json")
	if err := os.WriteFile(cloudFile, cloudJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	a.run("cloud", "register", "--name", "Coffer", "--cloud-config", "@"+cloudFile)
	a.run("cloud", "set", "--name", "Coffer")
	a.run("login", "--service-principal", "-u", creds.ClientID, "-p", creds.ClientSecret, "--tenant", creds.TenantID)
	return a
}

// TestAzCLIRBAC: Debian's az 2.45 with Azure RBAC. `az keyvault create
// --enable-rbac-authorization true` works unchanged. az's role commands (role assignment
// create and list, role definition list) crash inside Debian's az before sending anything
// (AttributeError: … has no attribute 'config', a packaging defect of its authorization
// SDK), so the requests they send in Azure's CLI — the api-versions, the Graph look-ups of
// --assignee, the bodies — are sent with `az rest`, and a principal then uses the role
// through `az keyvault secret`. Where az's role commands work (a fixed az), they are run
// too.
func TestAzCLIRBAC(t *testing.T) {
	if _, err := exec.LookPath("az"); err != nil {
		t.Skip("az CLI not found on PATH: install Debian's azure-cli (apt-get install azure-cli), or run scripts/test.sh as root, which installs it")
	}
	st := loggedStack(t)
	base := st.Server.URL()
	a := azAs(t, st, st.Creds)
	t.Cleanup(func() { t.Logf("az commands took %s in all", a.total.Round(time.Millisecond)) })

	const vault, group = "az-rbac", "rg1"
	sub := server.DefaultSubscription
	scope := "/subscriptions/" + sub + "/resourceGroups/" + group + "/providers/Microsoft.KeyVault/vaults/" + vault
	created := a.run("keyvault", "create", "--name", vault, "--resource-group", group, "--location", "local",
		"--retention-days", "7", "--enable-rbac-authorization", "true")
	if jget(created, "properties", "enableRbacAuthorization") != true || jget(created, "id") != scope {
		t.Fatalf("keyvault create --enable-rbac-authorization true answered %v", created)
	}
	if ps, _ := jget(created, "properties", "accessPolicies").([]any); len(ps) != 0 {
		t.Fatalf("an RBAC vault got access policies: %v", ps)
	}
	if got := a.run("keyvault", "show", "--name", vault); jget(got, "properties", "enableRbacAuthorization") != true {
		t.Fatalf("keyvault show: %v", got)
	}
	setValue(t, st.Secrets(t, vault), "s1", "from-rbac")
	p := newPrincipal(t, st, "az-app")

	// az's own role commands, where they work.
	if _, stderr, err := a.exec("role", "assignment", "list", "--scope", scope); err != nil {
		if !strings.Contains(stderr, "has no attribute 'config'") {
			t.Fatalf("az role assignment list failed otherwise than by Debian's known defect:\n%s", azErrors(stderr))
		}
		t.Log("Debian's az crashes in its role commands before sending anything; sending their requests with az rest")
	} else {
		a.run("role", "definition", "list", "--name", "Key Vault Secrets User")
	}

	rest := func(method, path string, body any, graph bool) any {
		t.Helper()
		args := []string{"rest", "--method", method, "--url", base + path}
		if graph {
			args = append(args, "--resource", base+"/")
		}
		if body != nil {
			b, _ := json.Marshal(body)
			args = append(args, "--body", string(b))
		}
		return a.run(args...)
	}

	// az role definition list: the subscription's role definitions (2022-04-01; Debian's
	// profile names 2018-01-01-preview).
	for _, v := range []string{"2022-04-01", "2018-01-01-preview"} {
		defs := rest("get", "/subscriptions/"+sub+"/providers/Microsoft.Authorization/roleDefinitions?api-version="+v, nil, false)
		items, _ := jget(defs, "value").([]any)
		if len(items) != len(rbac.BuiltIns()) || jget(byName(items, rbac.KeyVaultPurgeOperator), "properties", "roleName") != "Key Vault Purge Operator" {
			t.Fatalf("role definitions at %s: %d, want %d: %v", v, len(items), len(rbac.BuiltIns()), defs)
		}
	}

	// az role assignment create --assignee CLIENT-ID --role "Key Vault Secrets User" --scope VAULT:
	// the assignee through Graph (by service principal name, then by object id), the role
	// by name at the scope, then the PUT under a new GUID at 2020-04-01-preview.
	filter := url.QueryEscape("servicePrincipalNames/any(c:c eq '" + p.ClientID + "')")
	sp := rest("get", "/v1.0/servicePrincipals?$filter="+filter, nil, true)
	if jget(sp, "value", "0", "id") != p.ObjectID {
		t.Fatalf("Graph servicePrincipals for the client id: %v", sp)
	}
	objs := rest("post", "/v1.0/directoryObjects/getByIds", map[string]any{
		"ids": []string{p.ObjectID}, "types": []string{"user", "group", "servicePrincipal", "directoryObjectPartnerReference"}}, true)
	if jget(objs, "value", "0", "@odata.type") != "#microsoft.graph.servicePrincipal" || jget(objs, "value", "0", "id") != p.ObjectID ||
		jget(objs, "value", "0", "servicePrincipalNames", "0") != p.ClientID {
		t.Fatalf("Graph getByIds: %v", objs)
	}
	role := rest("get", scope+"/providers/Microsoft.Authorization/roleDefinitions?$filter="+url.QueryEscape("roleName eq 'Key Vault Secrets User'")+"&api-version=2022-04-01", nil, false)
	roleID, _ := jget(role, "value", "0", "id").(string)
	if roleID != "/subscriptions/"+sub+"/providers/Microsoft.Authorization/roleDefinitions/"+rbac.KeyVaultSecretsUser {
		t.Fatalf("role by name: %v", role)
	}
	name := uuid.NewString()
	assignment := scope + "/providers/Microsoft.Authorization/roleAssignments/" + name
	got := rest("put", assignment+"?api-version=2020-04-01-preview", map[string]any{"properties": map[string]any{
		"roleDefinitionId": roleID, "principalId": p.ObjectID, "principalType": "ServicePrincipal"}}, false)
	if jget(got, "id") != assignment || jget(got, "properties", "scope") != scope || jget(got, "properties", "principalId") != p.ObjectID {
		t.Fatalf("PUT role assignment: %v", got)
	}

	// az role assignment list --scope VAULT: atScope() at 2020-04-01-preview, the role
	// names from the scope's definitions, the principal names from Graph.
	list := rest("get", scope+"/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()&api-version=2020-04-01-preview", nil, false)
	found := false
	for _, it := range jget(list, "value").([]any) {
		if jget(it, "name") == name && jget(it, "properties", "roleDefinitionId") == roleID {
			found = true
		}
	}
	if !found {
		t.Fatalf("the assignment is not listed at its scope: %v", list)
	}

	// The principal, through az, reads the secret and is refused a write, the action
	// named. (Debian's az keyvault secret commands fail on a missing module of their own,
	// azure.keyvault.v7_0, so the data plane is called with az rest too.)
	pa := azAs(t, st, p)
	u, _ := url.Parse(st.Server.VaultURL(vault))
	testenv.ResolveLoopback(t, u.Hostname())
	secret := func(name string) string {
		return strings.TrimSuffix(st.Server.VaultURL(vault), "/") + "/secrets/" + name + "?api-version=7.4"
	}
	dataResource := "https://localhost:" + port(st)
	if v := pa.run("rest", "--method", "get", "--url", secret("s1"), "--resource", dataResource); jget(v, "value") != "from-rbac" {
		t.Fatalf("the assignee reads the secret: %v", v)
	}
	if _, stderr, err := pa.exec("rest", "--method", "put", "--url", secret("s2"), "--resource", dataResource, "--body", `{"value":"x"}`); err == nil ||
		!strings.Contains(stderr, "ForbiddenByRbac") || !strings.Contains(stderr, "Microsoft.KeyVault/vaults/secrets/setSecret/action") {
		t.Fatalf("a Secrets User's write: %v\n%s", err, azErrors(stderr))
	}

	// az role assignment delete: DELETE at 2020-04-01-preview; the role is gone at once.
	rest("delete", assignment+"?api-version=2020-04-01-preview", nil, false)
	if msg := pa.runFail("rest", "--method", "get", "--url", secret("s1"), "--resource", dataResource); !strings.Contains(msg, "Forbidden") {
		t.Fatalf("after the delete: %s", msg)
	}
}
