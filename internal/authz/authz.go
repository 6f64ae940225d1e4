// Package authz decides whether a principal may carry out a data-plane operation on a
// vault, from the vault's access policies (Azure Key Vault's access-policy model). It is
// a pure leaf package: it imports no other Coffer package and does no I/O.
//
// The bootstrap administrator may do everything on every vault; every other principal
// may do exactly what an access policy naming its object id grants. Start with [Decide];
// the data plane's route table names the permission ("secrets/get", …) each route needs.
package authz

import (
	"fmt"
	"slices"
	"strings"

	"github.com/coffer/coffer/internal/wiretext"
)

// Policy is one access policy entry of a vault.
type Policy struct {
	TenantID      string      `json:"tenantId"`
	ObjectID      string      `json:"objectId"`
	ApplicationID string      `json:"applicationId,omitempty"`
	Permissions   Permissions `json:"permissions"`
}

// Permissions lists what a policy grants per object kind ("all" grants every one).
type Permissions struct {
	Keys         []string `json:"keys,omitempty"`
	Secrets      []string `json:"secrets,omitempty"`
	Certificates []string `json:"certificates,omitempty"`
	Storage      []string `json:"storage,omitempty"`
}

// Valid permission names per kind, as Azure spells them (compared case-insensitively).
var Valid = map[string][]string{
	"keys": {"all", "encrypt", "decrypt", "wrapKey", "unwrapKey", "sign", "verify", "get", "list", "create", "update", "import", "delete",
		"backup", "restore", "recover", "purge", "release", "rotate", "getrotationpolicy", "setrotationpolicy"},
	"secrets": {"all", "get", "list", "set", "delete", "backup", "restore", "recover", "purge"},
	"certificates": {"all", "get", "list", "delete", "create", "import", "update", "managecontacts", "getissuers", "listissuers",
		"setissuers", "deleteissuers", "manageissuers", "recover", "purge", "backup", "restore"},
	"storage": {"all", "get", "list", "delete", "set", "update", "regeneratekey", "recover", "purge", "backup", "restore", "setsas",
		"listsas", "getsas", "deletesas"},
}

func (p Permissions) of(kind string) []string {
	switch kind {
	case "keys":
		return p.Keys
	case "secrets":
		return p.Secrets
	case "certificates":
		return p.Certificates
	case "storage":
		return p.Storage
	}
	return nil
}

// Check reports the first permission name that Azure would not accept.
func (p Permissions) Check() error {
	for kind, valid := range Valid {
		for _, perm := range p.of(kind) {
			if !slices.ContainsFunc(valid, func(v string) bool { return strings.EqualFold(v, perm) }) {
				return fmt.Errorf("%q is not a %s permission; use one of %s", wiretext.Echo(perm), kind, strings.Join(valid, ", "))
			}
		}
	}
	return nil
}

// Principal is who asks.
type Principal struct {
	ObjectID string
	Admin    bool
}

// Decide says whether p may use permission ("secrets/get", "keys/sign", …) on a vault
// with these policies, and why, in words fit for an audit record and a 403 message.
func Decide(p Principal, policies []Policy, permission string) (bool, string) {
	if p.Admin {
		return true, "administrator"
	}
	kind, perm, _ := strings.Cut(permission, "/")
	for _, pol := range policies {
		if !strings.EqualFold(pol.ObjectID, p.ObjectID) {
			continue
		}
		for _, g := range pol.Permissions.of(kind) {
			if strings.EqualFold(g, perm) || strings.EqualFold(g, "all") {
				return true, "access policy grants " + kind + " " + g
			}
		}
	}
	return false, fmt.Sprintf("no access policy grants %s %s to object id %s", kind, perm, p.ObjectID)
}
