package azapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/coffer/coffer/internal/audit"
	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/vault"
	"github.com/coffer/coffer/internal/wiretext"
)

// On a vault with enableRbacAuthorization the data plane is decided by role assignments,
// as Azure decides it: the route's data action (routes.go) at the vault's resource id, or
// at the object's (…/vaults/V/secrets/N) for a route that names one; the vault's access
// policies are ignored. The request's view of the assignments is read before any
// storage transaction (rbacView), so the decision inside the operation's transaction
// reads nothing.

// objectTypes maps a route's collection to the object type of its resource id.
var objectTypes = map[string]string{
	"secrets": "secrets", "deletedsecrets": "secrets",
	"keys": "keys", "deletedkeys": "keys",
	"certificates": "certificates", "deletedcertificates": "certificates",
}

// rbacScope is the resource id a request on rt with params acts on in vault v.
func rbacScope(v vault.Vault, rt *route, params map[string]string) string {
	scope := rbac.VaultScope(v.Subscription, v.ResourceGroup, v.Name)
	if t, ok := objectTypes[rt.collection]; ok && params["name"] != "" {
		scope += "/" + t + "/" + wiretext.Echo(params["name"])
	}
	return scope
}

// decideRBAC decides a request on an RBAC vault and records the decision.
func decideRBAC(view *rbac.View, caller plane.Principal, ev *audit.Event, rt *route, params map[string]string, vlt vault.Vault, vaultName string) error {
	if caller.Admin {
		ev.Decision = "allowed: administrator"
		return nil
	}
	scope := rbacScope(vlt, rt, params)
	req := rbac.Request{Principal: caller.ObjectID, Scope: scope, Action: rt.action, Data: true}
	var d rbac.Decision
	if view != nil && caller.ObjectID != "" {
		d = view.Decide(req)
	}
	if d.Allowed {
		ev.Decision = "allowed: " + d.Reason(req)
		return nil
	}
	ev.Decision = "denied: " + d.Reason(req)
	if view == nil || !view.Touches(caller.ObjectID, rbac.VaultScope(vlt.Subscription, vlt.ResourceGroup, vlt.Name)) {
		// No role of the caller reaches this vault: it is refused as any vault it has no
		// access to is (an access-policy one, or one that does not exist), so that the
		// answer does not tell it that an RBAC vault of that name exists.
		return forbidden(caller, rt.perm, vaultName, vlt.Location)
	}
	return forbiddenByRbac(caller, rt.action, scope, vaultName, vlt.Location)
}

// forbiddenByRbac is the 403 of a caller whose role assignments do not grant action, in
// Azure's words (lines separated by CRLF, as Azure sends them).
func forbiddenByRbac(caller plane.Principal, action, scope, vaultName, location string) error {
	lines := []string{
		"Caller is not authorized to perform action on resource.",
		"If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.",
		fmt.Sprintf("Caller: appid=%s;oid=%s", caller.ClientID, caller.ObjectID),
		"Action: '" + action + "'",
		"Resource: '" + strings.ToLower(scope) + "'",
		"Assignment: (not found)",
		"DenyAssignmentId: null",
		"DecisionReason: null ",
		"Vault: " + vaultName + ";location=" + location,
		"Ask for a role assignment that grants " + action + " at this resource or above it.",
	}
	return &apiError{Status: http.StatusForbidden, Code: "Forbidden", Inner: "ForbiddenByRbac", Message: strings.Join(lines, "\r\n")}
}
