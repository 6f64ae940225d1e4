package rbac_test

import (
	"testing"

	"github.com/coffer/coffer/internal/rbac"
)

const (
	alice = "11111111-1111-4111-8111-111111111111"
	bob   = "22222222-2222-4222-8222-222222222222"

	sub    = "/subscriptions/c0ffe000-0000-4000-8000-000000000000"
	rg1    = sub + "/resourceGroups/rg1"
	rg2    = sub + "/resourceGroups/rg2"
	vault1 = rg1 + "/providers/Microsoft.KeyVault/vaults/v1"
	vault2 = rg1 + "/providers/Microsoft.KeyVault/vaults/v2"
	sec1   = vault1 + "/secrets/s1"
	sec2   = vault1 + "/secrets/s2"

	getSecret   = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
	setSecret   = "Microsoft.KeyVault/vaults/secrets/setSecret/action"
	readMeta    = "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
	deleteSec   = "Microsoft.KeyVault/vaults/secrets/delete"
	recoverSec  = "Microsoft.KeyVault/vaults/secrets/recover/action"
	purgeSec    = "Microsoft.KeyVault/vaults/secrets/purge/action"
	keysRead    = "Microsoft.KeyVault/vaults/keys/read"
	vaultWrite  = "Microsoft.KeyVault/vaults/write"
	vaultRead   = "Microsoft.KeyVault/vaults/read"
	vaultPurge  = "Microsoft.KeyVault/locations/deletedVaults/purge/action"
	assignWrite = "Microsoft.Authorization/roleAssignments/write"
	assignRead  = "Microsoft.Authorization/roleAssignments/read"

	custom = "99999999-9999-4999-8999-999999999999" // no purge of secrets
)

var customRole = rbac.Definition{ID: custom, RoleName: "Secrets without purge", RoleType: rbac.CustomRole,
	AssignableScopes: []string{sub},
	Permissions: []rbac.Permission{{
		Actions:        []string{"Microsoft.KeyVault/vaults/read"},
		DataActions:    []string{"Microsoft.KeyVault/vaults/secrets/*"},
		NotDataActions: []string{"Microsoft.KeyVault/vaults/secrets/purge/action"},
	}}}

func roles(id string) (rbac.Definition, bool) {
	if id == custom {
		return customRole, true
	}
	for _, d := range rbac.BuiltIns() {
		if d.ID == id {
			return d, true
		}
	}
	return rbac.Definition{}, false
}

func as(principal, role, scope string) rbac.Assignment {
	return rbac.Assignment{Name: principal + role + scope, PrincipalID: principal, RoleDefinitionID: role, Scope: scope}
}

// TestDecide is the evaluation rules as a table: scopes, wildcards, not-actions, several
// assignments, data and management actions, conditions.
func TestDecide(t *testing.T) {
	type check struct {
		scope, action string
		data          bool
		roleID        string // for a role assignment write (conditions)
		want          bool
	}
	d := func(scope, action string, want bool) check {
		return check{scope: scope, action: action, data: true, want: want}
	}
	m := func(scope, action string, want bool) check { return check{scope: scope, action: action, want: want} }
	cases := []struct {
		name   string
		assign []rbac.Assignment
		checks []check
	}{
		{"no assignment grants nothing", nil, []check{d(sec1, getSecret, false), m(vault1, vaultRead, false)}},
		{"secrets user at the vault: every secret in it, nothing else",
			[]rbac.Assignment{as(alice, rbac.KeyVaultSecretsUser, vault1)},
			[]check{d(sec1, getSecret, true), d(sec2, getSecret, true), d(vault1, readMeta, true),
				d(sec1, setSecret, false), d(sec1, deleteSec, false), d(sec1, purgeSec, false),
				d(vault2+"/secrets/s1", getSecret, false), d(vault1+"/keys/k", keysRead, false),
				m(vault1, vaultRead, false)}},
		{"an assignment at the subscription applies to its groups, vaults and objects",
			[]rbac.Assignment{as(alice, rbac.KeyVaultSecretsUser, sub)},
			[]check{d(sec1, getSecret, true), d(rg2+"/providers/Microsoft.KeyVault/vaults/v9/secrets/x", getSecret, true),
				d("/subscriptions/other/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/v1/secrets/s1", getSecret, false)}},
		{"an assignment at a group applies to that group only",
			[]rbac.Assignment{as(alice, rbac.KeyVaultSecretsOfficer, rg1)},
			[]check{d(sec1, setSecret, true), d(rg2+"/providers/Microsoft.KeyVault/vaults/v9/secrets/x", setSecret, false),
				d(sub+"/resourceGroups/rg10/providers/Microsoft.KeyVault/vaults/v/secrets/x", setSecret, false)}},
		{"an assignment at one secret: that secret only, not the vault",
			[]rbac.Assignment{as(alice, rbac.KeyVaultSecretsOfficer, sec1)},
			[]check{d(sec1, setSecret, true), d(sec1, purgeSec, true), d(sec2, getSecret, false), d(vault1, readMeta, false),
				d(vault1+"/secrets/s1x", getSecret, false)}},
		{"scopes and actions compare case-insensitively",
			[]rbac.Assignment{as(alice, rbac.KeyVaultSecretsUser, "/SUBSCRIPTIONS/C0FFE000-0000-4000-8000-000000000000/resourcegroups/RG1/providers/microsoft.keyvault/VAULTS/V1")},
			[]check{d(sec1, "microsoft.keyvault/VAULTS/secrets/GETSECRET/action", true)}},
		{"another principal's assignment does not apply",
			[]rbac.Assignment{as(bob, rbac.KeyVaultAdministrator, sub)},
			[]check{d(sec1, getSecret, false)}},
		{"wildcards: vaults/* takes every data action of a vault",
			[]rbac.Assignment{as(alice, rbac.KeyVaultAdministrator, vault1)},
			[]check{d(sec1, purgeSec, true), d(vault1+"/keys/k", "Microsoft.KeyVault/vaults/keys/sign/action", true),
				d(vault1, "Microsoft.KeyVault/vaults/certificatecas/delete", true), m(vault1, vaultWrite, false)}},
		{"wildcards: vaults/*/read is not readMetadata/action",
			[]rbac.Assignment{as(alice, rbac.KeyVaultReader, vault1)},
			[]check{d(vault1, keysRead, true), d(vault1, "Microsoft.KeyVault/vaults/certificates/read", true), d(vault1, readMeta, true),
				d(sec1, getSecret, false), d(vault1, "Microsoft.KeyVault/vaults/keys/sign/action", false)}},
		{"wildcards: */read takes every read, nothing else",
			[]rbac.Assignment{as(alice, rbac.Reader, sub)},
			[]check{m(vault1, vaultRead, true), m(sub, "Microsoft.Resources/subscriptions/resourceGroups/read", true),
				m(vault1, vaultWrite, false), d(sec1, keysRead, false)}},
		{"management actions grant no data action: Owner reads no secret",
			[]rbac.Assignment{as(alice, rbac.Owner, sub)},
			[]check{m(vault1, vaultWrite, true), m(sub, assignWrite, true), d(sec1, getSecret, false)}},
		{"notActions: Contributor may not assign roles",
			[]rbac.Assignment{as(alice, rbac.Contributor, sub)},
			[]check{m(vault1, vaultWrite, true), m(sub, assignWrite, false), m(sub, assignRead, true)}},
		{"notActions: Key Vault Contributor manages vaults, cannot purge them or read secrets",
			[]rbac.Assignment{as(alice, rbac.KeyVaultContributor, sub)},
			[]check{m(vault1, vaultWrite, true), m(vault1, "Microsoft.KeyVault/vaults/delete", true),
				m(sub+"/providers/Microsoft.KeyVault/locations/local/deletedVaults/v1", vaultPurge, false),
				m(sub+"/providers/Microsoft.KeyVault/locations/local/deletedVaults/v1", "Microsoft.KeyVault/locations/deletedVaults/read", true),
				d(sec1, getSecret, false)}},
		{"several assignments: a notAction narrows its own role only",
			[]rbac.Assignment{as(alice, rbac.KeyVaultContributor, sub), as(alice, rbac.KeyVaultPurgeOperator, sub)},
			[]check{m(sub+"/providers/Microsoft.KeyVault/locations/local/deletedVaults/v1", vaultPurge, true), m(vault1, vaultWrite, true)}},
		{"several assignments: the union of what each grants, each at its own scope",
			[]rbac.Assignment{as(alice, rbac.KeyVaultSecretsUser, vault1), as(alice, rbac.KeyVaultCryptoUser, vault2)},
			[]check{d(sec1, getSecret, true), d(vault2+"/keys/k", keysRead, true), d(vault1+"/keys/k", keysRead, false),
				d(vault2+"/secrets/s", getSecret, false)}},
		{"notDataActions: a custom role without purge deletes and recovers",
			[]rbac.Assignment{as(alice, custom, vault1)},
			[]check{d(sec1, deleteSec, true), d(sec1, recoverSec, true), d(sec1, purgeSec, false), m(vault1, vaultRead, true)}},
		{"notDataActions narrow the custom role only: Secrets Officer beside it purges",
			[]rbac.Assignment{as(alice, custom, vault1), as(alice, rbac.KeyVaultSecretsOfficer, sec1)},
			[]check{d(sec1, purgeSec, true), d(sec2, purgeSec, false)}},
		{"an assignment of a role that does not exist grants nothing",
			[]rbac.Assignment{as(alice, "00000000-0000-4000-8000-00000000dead", sub)},
			[]check{m(vault1, vaultRead, false)}},
		{"condition: Key Vault Data Access Administrator assigns Key Vault data roles only",
			[]rbac.Assignment{as(alice, rbac.KeyVaultDataAccessAdministrator, vault1)},
			[]check{{scope: vault1, action: assignWrite, roleID: rbac.KeyVaultSecretsUser, want: true},
				{scope: vault1, action: assignWrite, roleID: rbac.Owner, want: false},
				{scope: vault1, action: "Microsoft.Authorization/roleAssignments/delete", roleID: rbac.KeyVaultReader, want: true},
				{scope: vault1, action: "Microsoft.Authorization/roleAssignments/delete", roleID: rbac.KeyVaultContributor, want: false},
				m(vault1, assignRead, true), m(rg1, assignWrite, false)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, ch := range c.checks {
				got := rbac.Decide(c.assign, roles, rbac.Request{Principal: alice, Scope: ch.scope, Action: ch.action, Data: ch.data, RoleDefinitionID: ch.roleID})
				if got.Allowed != ch.want {
					t.Errorf("%s at %s (data %v, role %s): allowed %v, want %v", ch.action, ch.scope, ch.data, ch.roleID, got.Allowed, ch.want)
				}
				if got.Allowed && (got.Role == "" || got.Scope == "" || got.Assignment == "") {
					t.Errorf("%s: an allowed decision names no role, scope or assignment: %+v", ch.action, got)
				}
			}
		})
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, action string
		want            bool
	}{
		{"*", "Microsoft.KeyVault/vaults/write", true},
		{"*/read", "Microsoft.KeyVault/vaults/keys/versions/read", true},
		{"*/read", "Microsoft.KeyVault/vaults/secrets/readMetadata/action", false},
		{"Microsoft.KeyVault/*", "Microsoft.KeyVault/locations/deletedVaults/purge/action", true},
		{"Microsoft.KeyVault/*", "Microsoft.KeyVaultX/vaults/read", false},
		{"Microsoft.Authorization/*/Write", "microsoft.authorization/roleAssignments/write", true},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/delete", false},
		{"Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/read", false},
		{"Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/x/y/read", true},
		{"a*b*c", "aXXbYYbZc", true},
		{"a*b*c", "aXXbYYbZ", false},
		{"exact", "Exact", true},
		{"exact", "exactly", false},
		{"", "", true},
		{"", "x", false},
	} {
		if got := rbac.Match(c.pattern, c.action); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.action, got, c.want)
		}
	}
}

func TestParseScope(t *testing.T) {
	for _, c := range []struct {
		id   string
		kind rbac.ScopeKind
		ok   bool
	}{
		{sub, rbac.ScopeSubscription, true},
		{rg1, rbac.ScopeResourceGroup, true},
		{vault1, rbac.ScopeVault, true},
		{sec1, rbac.ScopeVaultObject, true},
		{vault1 + "/KEYS/k", rbac.ScopeVaultObject, true},
		{vault1 + "/certificates/c", rbac.ScopeVaultObject, true},
		{vault1 + "/accessPolicies/add", 0, false},
		{"/", 0, false},
		{"subscriptions/x", 0, false},
		{rg1 + "/providers/Microsoft.Storage/storageAccounts/a", 0, false},
	} {
		s, err := rbac.ParseScope(c.id)
		if (err == nil) != c.ok || c.ok && s.Kind != c.kind {
			t.Errorf("ParseScope(%q) = %+v, %v; want kind %v ok %v", c.id, s, err, c.kind, c.ok)
		}
	}
}

// TestBuiltIns: every built-in role has Azure's shape (a GUID id, a name, one
// permission, assignable everywhere), the ids and names are unique, and the roles the
// issue names are there.
func TestBuiltIns(t *testing.T) {
	ids, names := map[string]bool{}, map[string]bool{}
	for _, d := range rbac.BuiltIns() {
		if rbac.CanonicalID(d.ID) != d.ID || d.RoleName == "" || d.RoleType != rbac.BuiltInRole || len(d.Permissions) != 1 ||
			len(d.AssignableScopes) != 1 || d.AssignableScopes[0] != "/" || d.Description == "" {
			t.Errorf("built-in %+v", d)
		}
		if ids[d.ID] || names[d.RoleName] {
			t.Errorf("duplicate %s %s", d.ID, d.RoleName)
		}
		ids[d.ID], names[d.RoleName] = true, true
	}
	for _, n := range []string{"Owner", "Contributor", "Reader", "User Access Administrator", "Key Vault Administrator",
		"Key Vault Reader", "Key Vault Contributor", "Key Vault Data Access Administrator", "Key Vault Secrets Officer",
		"Key Vault Secrets User", "Key Vault Crypto Officer", "Key Vault Crypto User", "Key Vault Crypto Service Encryption User",
		"Key Vault Certificates Officer", "Key Vault Certificate User", "Key Vault Purge Operator"} {
		if !names[n] {
			t.Errorf("no built-in role %q", n)
		}
	}
}
