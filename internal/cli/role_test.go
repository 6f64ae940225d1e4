package cli_test

import (
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/testenv"
)

// TestRoleCommands drives coffer role: definitions listed and found by name; an RBAC
// vault; assignments created by object id, client id and name with a role's name, GUID or
// id, at a vault and at one secret; listed at a scope, inherited, everywhere; the assignee
// reading its secret and losing it when the assignment is deleted.
func TestRoleCommands(t *testing.T) {
	cleanEnv(t)
	st := testenv.NewStack(t)
	login(t, st)
	armAvailable(t, st)

	defs := jsonOut[[]map[string]any](t, coffer(t, "role", "definition", "list").ok(t))
	byName := map[string]map[string]any{}
	for _, d := range defs {
		byName[d["roleName"].(string)] = d
	}
	su := byName["Key Vault Secrets User"]
	if su == nil || su["name"] != "4633458b-17de-408a-b874-0445c86b69e6" || su["roleType"] != "BuiltInRole" || su["type"] != "Microsoft.Authorization/roleDefinitions" {
		t.Fatalf("Key Vault Secrets User: %v", su)
	}
	one := jsonOut[[]map[string]any](t, coffer(t, "role", "definition", "list", "--name", "Key Vault Purge Operator").ok(t))
	if len(one) != 1 || one[0]["name"] != "a68e7c17-0ab2-4c09-9a58-125dae29748c" {
		t.Fatalf("by name: %v", one)
	}
	if tab := coffer(t, "role", "definition", "list", "-o", "table").ok(t).out; !strings.Contains(tab, "Key Vault Contributor") || !strings.HasPrefix(tab, "Name") {
		t.Fatalf("table:\n%s", tab)
	}
	if custom := jsonOut[[]map[string]any](t, coffer(t, "role", "definition", "list", "--custom-role-only").ok(t)); len(custom) != 0 {
		t.Fatalf("custom roles: %v", custom)
	}

	coffer(t, "vault", "create", "--name", "rbacv", "-g", "team", "--enable-rbac-authorization", "true").ok(t)
	creds := jsonOut[map[string]string](t, coffer(t, "principal", "create", "--name", "app").ok(t))
	scope := "/subscriptions/" + testenv.DefaultSubscription + "/resourceGroups/team/providers/Microsoft.KeyVault/vaults/rbacv"
	coffer(t, "secret", "set", "--vault-name", "rbacv", "--name", "s1", "--value", "v1").ok(t)

	a := jsonOut[map[string]any](t, coffer(t, "role", "assignment", "create", "--assignee", creds["objectId"], "--role", "Key Vault Secrets User", "--scope", scope).ok(t))
	if a["principalId"] != creds["objectId"] || a["scope"] != scope || !strings.HasSuffix(a["roleDefinitionId"].(string), "/4633458b-17de-408a-b874-0445c86b69e6") ||
		a["principalType"] != "ServicePrincipal" || a["type"] != "Microsoft.Authorization/roleAssignments" {
		t.Fatalf("create: %v", a)
	}
	// By client id and GUID, and by name and whole id, at one secret.
	coffer(t, "role", "assignment", "create", "--assignee", creds["clientId"], "--role", "b86a8fe4-44ce-4948-aee5-eccb2c155cd7", "--scope", scope+"/secrets/s1").ok(t)
	coffer(t, "role", "assignment", "create", "--assignee", "app", "--role", "/subscriptions/"+testenv.DefaultSubscription+"/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7", "-g", "team").ok(t)
	coffer(t, "role", "assignment", "create", "--assignee", creds["objectId"], "--role", "No Such Role", "--scope", scope).notFound(t, "No Such Role").hinted(t)
	coffer(t, "role", "assignment", "create", "--role", "Reader").usage(t, "--assignee")

	// The assignee reads its secret.
	app := writeJSONFile(t, creds)
	t.Setenv("COFFER_SERVER", st.Server.URL())
	t.Setenv("COFFER_CREDENTIALS", app)
	coffer(t, "secret", "show", "--vault-name", "rbacv", "--name", "s1").ok(t)
	coffer(t, "secret", "set", "--vault-name", "rbacv", "--name", "s2", "--value", "x").conflict(t, "setSecret/action")
	t.Setenv("COFFER_CREDENTIALS", "")
	t.Setenv("COFFER_SERVER", "")

	rows := func(args ...string) map[string]string {
		t.Helper()
		out := map[string]string{}
		for _, r := range jsonOut[[]map[string]any](t, coffer(t, append([]string{"role", "assignment", "list"}, args...)...).ok(t)) {
			name, _ := r["roleDefinitionName"].(string)
			out[name] = r["scope"].(string)
		}
		return out
	}
	if got := rows("--scope", scope); len(got) != 1 || got["Key Vault Secrets User"] != scope {
		t.Fatalf("at the vault: %v", got)
	}
	if got := rows("--scope", scope, "--include-inherited", "--assignee", creds["objectId"]); len(got) != 2 || got["Reader"] == "" {
		t.Fatalf("inherited: %v", got)
	}
	if got := rows("--all", "--assignee", creds["clientId"]); len(got) != 3 || got["Key Vault Secrets Officer"] != scope+"/secrets/s1" {
		t.Fatalf("all of the principal's: %v", got)
	}
	if tab := coffer(t, "role", "assignment", "list", "--scope", scope, "-o", "table").ok(t).out; !strings.Contains(tab, "Key Vault Secrets User") {
		t.Fatalf("table:\n%s", tab)
	}

	// Delete by selection and by id: the principal loses the role at once.
	coffer(t, "role", "assignment", "delete", "--assignee", creds["objectId"], "--role", "Key Vault Secrets User", "--scope", scope).ok(t)
	coffer(t, "role", "assignment", "delete", "--assignee", creds["objectId"], "--role", "Key Vault Secrets User", "--scope", scope).notFound(t, "nothing was deleted")
	all := jsonOut[[]map[string]any](t, coffer(t, "role", "assignment", "list", "--all", "--assignee", creds["objectId"]).ok(t))
	var ids []string
	for _, r := range all {
		ids = append(ids, r["id"].(string))
	}
	coffer(t, "role", "assignment", "delete", "--ids", strings.Join(ids, ",")).ok(t)
	if got := rows("--all", "--assignee", creds["objectId"]); len(got) != 0 {
		t.Fatalf("after the deletes: %v", got)
	}
	coffer(t, "role", "assignment", "delete").usage(t, "which assignments")
	t.Setenv("COFFER_SERVER", st.Server.URL())
	t.Setenv("COFFER_CREDENTIALS", app)
	coffer(t, "secret", "show", "--vault-name", "rbacv", "--name", "s1").conflict(t, "Forbidden")
}
