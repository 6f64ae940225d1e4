package rbac

import (
	"fmt"
	"strings"
)

// ScopeKind is the level of a scope Coffer accepts role assignments at.
type ScopeKind int

// Scope levels, from the top.
const (
	ScopeSubscription  ScopeKind = iota + 1 // /subscriptions/S
	ScopeResourceGroup                      // …/resourceGroups/G
	ScopeVault                              // …/providers/Microsoft.KeyVault/vaults/V
	ScopeVaultObject                        // …/vaults/V/{secrets|keys|certificates}/N
)

// Scope is a parsed assignment scope.
type Scope struct {
	Kind          ScopeKind
	Subscription  string
	ResourceGroup string
	Vault         string
	ObjectType    string // secrets, keys or certificates, lower case
	Object        string
}

// ObjectTypes are the kinds of vault object a role may be assigned on, as Azure names
// them in a resource id.
var ObjectTypes = []string{"secrets", "keys", "certificates"}

// ParseScope reads a scope Coffer accepts assignments at: a subscription, a resource
// group, a vault, or one secret, key or certificate in a vault. Literal segments compare
// case-insensitively.
func ParseScope(id string) (Scope, error) {
	segs := segments(id)
	bad := func(why string) (Scope, error) {
		return Scope{}, fmt.Errorf("the scope '%s' %s; Coffer takes /subscriptions/{sub}, …/resourceGroups/{group}, "+
			"…/providers/Microsoft.KeyVault/vaults/{vault} or …/vaults/{vault}/{secrets|keys|certificates}/{name}", id, why)
	}
	if !strings.HasPrefix(id, "/") {
		return bad("does not start with /")
	}
	is := func(i int, lit string) bool { return i < len(segs) && strings.EqualFold(segs[i], lit) }
	var s Scope
	switch {
	case len(segs) == 2 && is(0, "subscriptions"):
		s.Kind = ScopeSubscription
	case len(segs) == 4 && is(0, "subscriptions") && is(2, "resourceGroups"):
		s.Kind = ScopeResourceGroup
	case len(segs) == 8 && is(0, "subscriptions") && is(2, "resourceGroups") && is(4, "providers") && is(5, "Microsoft.KeyVault") && is(6, "vaults"):
		s.Kind = ScopeVault
	case len(segs) == 10 && is(0, "subscriptions") && is(2, "resourceGroups") && is(4, "providers") && is(5, "Microsoft.KeyVault") && is(6, "vaults"):
		t := strings.ToLower(segs[8])
		if t != "secrets" && t != "keys" && t != "certificates" {
			return bad("names a vault's " + segs[8] + ", which holds nothing Coffer assigns roles on")
		}
		s.Kind, s.ObjectType, s.Object = ScopeVaultObject, t, segs[9]
	default:
		return bad("is not one Coffer assigns roles at")
	}
	s.Subscription = segs[1]
	if s.Kind >= ScopeResourceGroup {
		s.ResourceGroup = segs[3]
	}
	if s.Kind >= ScopeVault {
		s.Vault = segs[7]
	}
	return s, nil
}

// SubscriptionScope is the resource id of a subscription.
func SubscriptionScope(sub string) string { return "/subscriptions/" + sub }

// VaultScope is the resource id of a vault.
func VaultScope(sub, group, vault string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + group + "/providers/Microsoft.KeyVault/vaults/" + vault
}

// vaultOf is the lower-cased vault name of an assignment scope at a vault or in it, or
// "" (also for a scope that does not parse).
func vaultOf(scope string) string {
	s, err := ParseScope(scope)
	if err != nil {
		return ""
	}
	return strings.ToLower(s.Vault)
}
