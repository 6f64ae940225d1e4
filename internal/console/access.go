package console

import (
	"strings"

	"github.com/coffer/coffer/internal/authz"
	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/vault"
)

// The console decides each action as the data plane decides the same operation: on a
// vault with access policies by authz.Decide with the operation's permission, on an RBAC
// vault by the role assignments (rbac.View.Decide) with its data action, at the vault's
// resource id or the object's. The permissions and data actions below are the data
// plane's own for these operations (azapi's route table), so a principal may do in the
// console exactly what it may do through the API.

// kv begins every Key Vault data action.
const kv = "Microsoft.KeyVault/vaults/"

// op is one operation the console carries out: its audit name (the data plane's), the
// access-policy permission and the RBAC data action it needs.
type op struct{ name, perm, action string }

// ops per object kind (the collection name in URLs and permissions).
var ops = map[string]map[string]op{
	"secrets": {
		"list":    {"ListSecrets", "secrets/list", kv + "secrets/readMetadata/action"},
		"get":     {"GetSecret", "secrets/get", kv + "secrets/getSecret/action"},
		"set":     {"SetSecret", "secrets/set", kv + "secrets/setSecret/action"},
		"update":  {"UpdateSecret", "secrets/set", kv + "secrets/update/action"},
		"delete":  {"DeleteSecret", "secrets/delete", kv + "secrets/delete"},
		"recover": {"RecoverDeletedSecret", "secrets/recover", kv + "secrets/recover/action"},
		"purge":   {"PurgeDeletedSecret", "secrets/purge", kv + "secrets/purge/action"},
	},
	"keys": {
		"list":    {"ListKeys", "keys/list", kv + "keys/read"},
		"update":  {"UpdateKey", "keys/update", kv + "keys/update/action"},
		"delete":  {"DeleteKey", "keys/delete", kv + "keys/delete"},
		"recover": {"RecoverDeletedKey", "keys/recover", kv + "keys/recover/action"},
		"purge":   {"PurgeDeletedKey", "keys/purge", kv + "keys/purge/action"},
	},
	"certificates": {
		"list":    {"ListCertificates", "certificates/list", kv + "certificates/read"},
		"update":  {"UpdateCertificate", "certificates/update", kv + "certificates/update/action"},
		"delete":  {"DeleteCertificate", "certificates/delete", kv + "certificates/delete"},
		"recover": {"RecoverDeletedCertificate", "certificates/recover", kv + "certificates/recover/action"},
		"purge":   {"PurgeDeletedCertificate", "certificates/purge", kv + "certificates/purge/action"},
	},
}

// collections are the object kinds in the order pages show them.
var collections = []string{"secrets", "keys", "certificates"}

// collectionOf maps a domain kind to its collection.
func collectionOf(k vault.Kind) string { return string(k) + "s" }

// access is one request's decider: who asks, and the role assignments as they were when
// the request began (read once, outside any storage transaction, as the data plane
// does).
type access struct {
	who  plane.Principal
	view *rbac.View // nil for the administrator, or without RBAC
}

// decide says whether the principal may carry out o on vault v (on the object name, when
// one is named), and why, in the words of the audit record.
func (a access) decide(v vault.Vault, o op, name string) (bool, string) {
	if a.who.Admin {
		return true, "administrator"
	}
	if !v.RBAC {
		return authz.Decide(authz.Principal{ObjectID: a.who.ObjectID}, v.AccessPolicies, o.perm)
	}
	scope := rbac.VaultScope(v.Subscription, v.ResourceGroup, v.Name)
	if name != "" {
		scope += "/" + strings.SplitN(o.perm, "/", 2)[0] + "/" + name
	}
	req := rbac.Request{Principal: a.who.ObjectID, Scope: scope, Action: o.action, Data: true}
	var d rbac.Decision
	if a.view != nil && a.who.ObjectID != "" {
		d = a.view.Decide(req)
	}
	return d.Allowed, d.Reason(req)
}

// may is decide without the reason.
func (a access) may(v vault.Vault, o op, name string) bool {
	ok, _ := a.decide(v, o, name)
	return ok
}

// sees says whether the principal may list anything in v: the vaults it sees.
func (a access) sees(v vault.Vault) bool {
	for _, c := range collections {
		if a.may(v, ops[c]["list"], "") {
			return true
		}
	}
	return false
}

// Operations lists the data-plane operations the console carries out, each with the
// permission and data action it decides them by (a test holds them to the data plane's).
func Operations() map[string][2]string {
	out := map[string][2]string{}
	for _, kind := range ops {
		for _, o := range kind {
			out[o.name] = [2]string{o.perm, o.action}
		}
	}
	return out
}
