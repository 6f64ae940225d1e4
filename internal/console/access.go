package console

import (
	"fmt"
	"strings"

	"github.com/coffer/coffer/internal/authz"
	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/vault"
)

// The console decides each action as the data plane decides the same operation: on a
// vault with access policies by authz.Decide with the operation's permission, on an RBAC
// vault by the role assignments (rbac.View.Decide) with its data action, at the vault's
// resource id or the object's. The permission and data action of an operation are not
// written here: they are the data plane's own, looked up in its route table
// (Options.Access), so a principal may do in the console exactly what it may do through
// the API.

// op is one operation the console carries out, by the data plane's audit name.
type op struct{ name string }

// ops per object kind (the collection name in URLs and permissions).
var ops = map[string]map[string]op{
	"secrets": {
		"list": {"ListSecrets"}, "get": {"GetSecret"}, "set": {"SetSecret"}, "update": {"UpdateSecret"},
		"delete": {"DeleteSecret"}, "recover": {"RecoverDeletedSecret"}, "purge": {"PurgeDeletedSecret"},
	},
	"keys": {
		"list": {"ListKeys"}, "update": {"UpdateKey"},
		"delete": {"DeleteKey"}, "recover": {"RecoverDeletedKey"}, "purge": {"PurgeDeletedKey"},
	},
	"certificates": {
		"list": {"ListCertificates"}, "update": {"UpdateCertificate"},
		"delete": {"DeleteCertificate"}, "recover": {"RecoverDeletedCertificate"}, "purge": {"PurgeDeletedCertificate"},
	},
}

// checkOperations says which of the console's operations the data plane does not know:
// New refuses to build a console that could not decide one of its actions.
func checkOperations(rules func(op string) (perm, action string, ok bool)) error {
	for _, kind := range ops {
		for _, o := range kind {
			if _, _, ok := rules(o.name); !ok {
				return fmt.Errorf("console: the data plane has no operation %s to decide it by", o.name)
			}
		}
	}
	return nil
}

// collections are the object kinds in the order pages show them.
var collections = []string{"secrets", "keys", "certificates"}

// collectionOf maps a domain kind to its collection.
func collectionOf(k vault.Kind) string { return string(k) + "s" }

// access is one request's decider: who asks, and the role assignments as they were when
// the request began (read once, outside any storage transaction, as the data plane
// does).
type access struct {
	who   plane.Principal
	view  *rbac.View                                     // nil for the administrator, or without RBAC
	rules func(op string) (perm, action string, ok bool) // Options.Access
}

// decide says whether the principal may carry out o on vault v (on the object name, when
// one is named), and why, in the words of the audit record.
func (a access) decide(v vault.Vault, o op, name string) (bool, string) {
	if a.who.Admin {
		return true, "administrator"
	}
	perm, action, _ := a.rules(o.name) // every op is known: checkOperations
	if !v.RBAC {
		return authz.Decide(authz.Principal{ObjectID: a.who.ObjectID}, v.AccessPolicies, perm)
	}
	scope := rbac.VaultScope(v.Subscription, v.ResourceGroup, v.Name)
	if name != "" {
		scope += "/" + strings.SplitN(perm, "/", 2)[0] + "/" + name
	}
	req := rbac.Request{Principal: a.who.ObjectID, Scope: scope, Action: action, Data: true}
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

// Operations lists the data-plane operations the console carries out (their audit names).
func Operations() []string {
	var out []string
	for _, kind := range ops {
		for _, o := range kind {
			out = append(out, o.name)
		}
	}
	return out
}
