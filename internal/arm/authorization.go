package arm

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/vault"
)

// Microsoft.Authorization, as Azure Resource Manager serves it: role definitions and role
// assignments at a scope. A scope is the resource id the path starts with —
//
//	{scope}/providers/Microsoft.Authorization/roleDefinitions[/{id}]
//	{scope}/providers/Microsoft.Authorization/roleAssignments[/{name}]
//
// — a subscription, a resource group, a vault, or a secret, key or certificate in a vault
// (…/vaults/V/secrets/S), or nothing (the tenant root, for reading role definitions).
// armauthorization puts the scope into the path unescaped, so it is any number of
// segments. Requests are decided by the role assignments themselves: who may read,
// write and delete them is an action like any other (Microsoft.Authorization/…).

const (
	typeRoleAssignment = "Microsoft.Authorization/roleAssignments"
	typeRoleDefinition = "Microsoft.Authorization/roleDefinitions"
	authzProvider      = "providers/Microsoft.Authorization/"
)

// authzRoutes are matched on what follows the scope.
var authzRoutes = compile([]*route{
	{method: "GET", pattern: "roleAssignments", api: apiGeneric, action: "Microsoft.Authorization/roleAssignments/read", handle: (*API).listRoleAssignments},
	{method: "GET", pattern: "roleAssignments/{ra}", api: apiGeneric, action: "Microsoft.Authorization/roleAssignments/read", handle: (*API).getRoleAssignment},
	{method: "PUT", pattern: "roleAssignments/{ra}", api: apiGeneric, action: "Microsoft.Authorization/roleAssignments/write", selfDecides: true, handle: (*API).putRoleAssignment},
	{method: "DELETE", pattern: "roleAssignments/{ra}", api: apiGeneric, action: "Microsoft.Authorization/roleAssignments/delete", selfDecides: true, handle: (*API).deleteRoleAssignment},
	{method: "GET", pattern: "roleDefinitions", api: apiGeneric, action: "Microsoft.Authorization/roleDefinitions/read", handle: (*API).listRoleDefinitions},
	{method: "GET", pattern: "roleDefinitions/{rd}", api: apiGeneric, action: "Microsoft.Authorization/roleDefinitions/read", handle: (*API).getRoleDefinition},
	{method: "PUT", pattern: "roleDefinitions/{rd}", api: apiGeneric, action: "Microsoft.Authorization/roleDefinitions/write", handle: (*API).putRoleDefinition},
	{method: "DELETE", pattern: "roleDefinitions/{rd}", api: apiGeneric, action: "Microsoft.Authorization/roleDefinitions/delete", handle: (*API).deleteRoleDefinition},
})

// matchAuthorization matches a Microsoft.Authorization path: ok is false when segs is not
// one (the rest of ARM's routes then apply). p["scope"] is the scope, "/" for the root.
func matchAuthorization(method string, segs []string) (rt *route, p params, ok bool, err error) {
	i := slices.IndexFunc(segs, func(s string) bool { return strings.EqualFold(s, "providers") })
	for i >= 0 && i+2 < len(segs) {
		if strings.EqualFold(segs[i+1], "Microsoft.Authorization") {
			break
		}
		j := slices.IndexFunc(segs[i+1:], func(s string) bool { return strings.EqualFold(s, "providers") })
		if j < 0 {
			return nil, nil, false, nil
		}
		i += 1 + j
	}
	if i < 0 || i+2 >= len(segs) || !strings.EqualFold(segs[i+1], "Microsoft.Authorization") {
		return nil, nil, false, nil
	}
	tail := segs[i+2:]
	if !strings.EqualFold(tail[0], "roleAssignments") && !strings.EqualFold(tail[0], "roleDefinitions") {
		return nil, nil, false, nil
	}
	var allowed []string
	for _, r := range authzRoutes {
		q, m := r.match(tail)
		if !m {
			continue
		}
		if r.method != method {
			allowed = append(allowed, r.method)
			continue
		}
		if q == nil {
			q = params{}
		}
		q["scope"] = "/" + strings.Join(segs[:i], "/")
		return r, q, true, nil
	}
	if len(allowed) > 0 {
		return nil, nil, true, &armError{http.StatusMethodNotAllowed, "MethodNotAllowed",
			"The method '" + echo(method) + "' is not supported here; use " + strings.Join(allowed, " or ") + "."}
	}
	return nil, nil, false, nil
}

// authzScope checks the scope of a Microsoft.Authorization request: "/" (the root) only
// where root is allowed, else a scope Coffer assigns roles at. For a vault or an object
// in it, the vault must be live in that subscription and group when mustExist is set.
func (a *API) authzScope(r *http.Request, p params, root, mustExist bool) (string, error) {
	scope := p["scope"]
	if scope == "/" {
		if root {
			return scope, nil
		}
		return "", &armError{http.StatusBadRequest, "InvalidScope", "Role assignments and custom role definitions live at a subscription, a resource group, a vault or a secret, key or certificate in a vault, not at the root ('/')."}
	}
	s, err := rbac.ParseScope(scope)
	if err != nil {
		return "", &armError{http.StatusBadRequest, "InvalidScope", echo(err.Error()) + "."}
	}
	if mustExist && s.Kind >= rbac.ScopeVault {
		v, err := a.opts.Vaults.Internal().GetVault(r.Context(), s.Vault)
		if err != nil || !inScope(v, s.Subscription, s.ResourceGroup) {
			if err != nil && !errors.Is(err, vault.ErrVaultNotFound) {
				return "", err
			}
			return "", vaultNotFound(params{"name": s.Vault, "rg": s.ResourceGroup})
		}
	}
	return scope, nil
}

// allow decides, for a principal other than the administrator, whether c may perform
// action at scope (roleID: the role definition a role assignment names, for conditions),
// and records the decision.
func (a *API) allow(r *http.Request, c Caller, action, scope, roleID string) error {
	if c.Admin {
		c.call.Event.Decision = "allowed: administrator"
		return nil
	}
	req := rbac.Request{Principal: c.ObjectID, Scope: scope, Action: action, RoleDefinitionID: roleID}
	d, err := a.decide(r, c, req)
	if err != nil {
		return err
	}
	if d.Allowed {
		c.call.Event.Decision = "allowed: " + d.Reason(req)
		return nil
	}
	c.call.Event.Decision = "denied: " + d.Reason(req)
	return authorizationFailed(c, action, scope)
}

// decide answers req on the request's view of the role assignments, read once per
// request (and never inside a storage transaction).
func (a *API) decide(r *http.Request, c Caller, req rbac.Request) (rbac.Decision, error) {
	if a.opts.RBAC == nil || c.ObjectID == "" {
		return rbac.Decision{}, nil
	}
	if c.view == nil {
		c.view = &viewRef{}
	}
	if c.view.v == nil {
		v, err := a.opts.RBAC.View(r.Context())
		if err != nil {
			return rbac.Decision{}, err
		}
		c.view.v = v
	}
	return c.view.v.Decide(req), nil
}

// mayRead reports whether the caller may perform action at scope: an item of a filtered
// list is shown only then.
func (a *API) mayRead(r *http.Request, c Caller, action, scope string) (bool, error) {
	if c.Admin || !c.filtered {
		return true, nil
	}
	d, err := a.decide(r, c, rbac.Request{Principal: c.ObjectID, Scope: scope, Action: action})
	return d.Allowed, err
}

// authorizationFailed is ARM's 403, in Azure's words.
func authorizationFailed(c Caller, action, scope string) error {
	return &armError{http.StatusForbidden, "AuthorizationFailed",
		"The client '" + c.ClientID + "' with object id '" + c.ObjectID + "' does not have authorization to perform action '" +
			action + "' over scope '" + echo(scope) + "' or the scope is invalid. If access was recently granted, please refresh your credentials. " +
			"In Coffer a principal gets rights on the management plane through role assignments (Microsoft.Authorization/roleAssignments), " +
			"which the administrator or a principal holding Owner or User Access Administrator makes."}
}

// roleAssignmentJSON is a role assignment as Azure answers it.
type roleAssignmentJSON struct {
	ID         string                  `json:"id"`
	Name       string                  `json:"name"`
	Type       string                  `json:"type"`
	Properties roleAssignmentPropsJSON `json:"properties"`
}

type roleAssignmentPropsJSON struct {
	RoleDefinitionID                   string  `json:"roleDefinitionId"`
	PrincipalID                        string  `json:"principalId"`
	PrincipalType                      string  `json:"principalType"`
	Scope                              string  `json:"scope"`
	Condition                          *string `json:"condition"`
	ConditionVersion                   *string `json:"conditionVersion"`
	CreatedOn                          string  `json:"createdOn"`
	UpdatedOn                          string  `json:"updatedOn"`
	CreatedBy                          *string `json:"createdBy"`
	UpdatedBy                          *string `json:"updatedBy"`
	DelegatedManagedIdentityResourceID *string `json:"delegatedManagedIdentityResourceId"`
	Description                        *string `json:"description"`
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// roleDefinitionRef is the id of a role definition as a subscription (or the root) shows
// it: /subscriptions/S/providers/Microsoft.Authorization/roleDefinitions/G.
func roleDefinitionRef(scope, id string) string {
	if s, err := rbac.ParseScope(scope); err == nil {
		return "/subscriptions/" + s.Subscription + "/" + authzProvider + "roleDefinitions/" + id
	}
	return "/" + authzProvider + "roleDefinitions/" + id
}

func roleAssignmentJSONOf(ra rbac.Assignment) roleAssignmentJSON {
	return roleAssignmentJSON{
		ID: strings.TrimSuffix(ra.Scope, "/") + "/" + authzProvider + "roleAssignments/" + ra.Name, Name: ra.Name, Type: typeRoleAssignment,
		Properties: roleAssignmentPropsJSON{
			RoleDefinitionID: roleDefinitionRef(ra.Scope, ra.RoleDefinitionID), PrincipalID: ra.PrincipalID,
			PrincipalType: ra.PrincipalType, Scope: ra.Scope, CreatedOn: rfc3339(ra.Created), UpdatedOn: rfc3339(ra.Updated),
			CreatedBy: nilIfEmpty(ra.CreatedBy), UpdatedBy: nilIfEmpty(ra.UpdatedBy), Description: nilIfEmpty(ra.Description),
		},
	}
}

// roleDefinitionJSON is a role definition as Azure answers it.
type roleDefinitionJSON struct {
	ID         string                  `json:"id"`
	Name       string                  `json:"name"`
	Type       string                  `json:"type"`
	Properties roleDefinitionPropsJSON `json:"properties"`
}

type roleDefinitionPropsJSON struct {
	RoleName         string            `json:"roleName"`
	Type             string            `json:"type"`
	Description      string            `json:"description"`
	AssignableScopes []string          `json:"assignableScopes"`
	Permissions      []rbac.Permission `json:"permissions"`
	CreatedOn        *string           `json:"createdOn"`
	UpdatedOn        *string           `json:"updatedOn"`
	CreatedBy        *string           `json:"createdBy"`
	UpdatedBy        *string           `json:"updatedBy"`
}

func roleDefinitionJSONOf(scope string, d rbac.Definition) roleDefinitionJSON {
	date := func(t time.Time) *string {
		if t.IsZero() {
			return nil
		}
		s := rfc3339(t)
		return &s
	}
	perms := make([]rbac.Permission, len(d.Permissions))
	for i, p := range d.Permissions {
		p.Actions, p.NotActions, p.DataActions, p.NotDataActions = orEmpty(p.Actions), orEmpty(p.NotActions), orEmpty(p.DataActions), orEmpty(p.NotDataActions)
		perms[i] = p
	}
	return roleDefinitionJSON{
		ID: roleDefinitionRef(scope, d.ID), Name: d.ID, Type: typeRoleDefinition,
		Properties: roleDefinitionPropsJSON{
			RoleName: d.RoleName, Type: d.RoleType, Description: d.Description, AssignableScopes: orEmpty(d.AssignableScopes),
			Permissions: perms, CreatedOn: date(d.Created), UpdatedOn: date(d.Updated),
			CreatedBy: nilIfEmpty(d.CreatedBy), UpdatedBy: nilIfEmpty(d.UpdatedBy),
		},
	}
}

// rbacError is a refused rbac change as ARM answers it.
func rbacError(err error) error {
	var re *rbac.Error
	if !errors.As(err, &re) {
		return err
	}
	msg := echo(re.Msg)
	switch {
	case errors.Is(err, rbac.ErrExists):
		return &armError{http.StatusConflict, "RoleAssignmentExists", msg}
	case errors.Is(err, rbac.ErrUpdateNotAllowed):
		return &armError{http.StatusConflict, "RoleAssignmentUpdateNotPermitted", msg}
	case errors.Is(err, rbac.ErrRoleNotFound):
		return &armError{http.StatusBadRequest, "RoleDefinitionDoesNotExist", msg}
	case errors.Is(err, rbac.ErrRoleNotAssignable):
		return &armError{http.StatusBadRequest, "InvalidRoleAssignmentScope", msg}
	case errors.Is(err, rbac.ErrRoleNameTaken):
		return &armError{http.StatusConflict, "RoleDefinitionWithSameNameExists", msg}
	case errors.Is(err, rbac.ErrRoleInUse):
		return &armError{http.StatusConflict, "RoleDefinitionHasAssignments", msg}
	case errors.Is(err, rbac.ErrBuiltIn):
		return &armError{http.StatusBadRequest, "BuiltInRoleDefinitionNotModifiable", msg}
	case errors.Is(err, rbac.ErrNotFound):
		return &armError{http.StatusNotFound, "RoleAssignmentNotFound", msg}
	case strings.Contains(re.Msg, "role assignment ID"):
		return &armError{http.StatusBadRequest, "InvalidRoleAssignmentId", msg}
	}
	return badRequest(msg)
}

func (a *API) rbacOrNotServed() (*rbac.Service, error) {
	if a.opts.RBAC == nil {
		return nil, &armError{http.StatusNotFound, "NotFound", "This server does not serve Microsoft.Authorization."}
	}
	return a.opts.RBAC, nil
}

var (
	filterAtScope    = regexp.MustCompile(`(?i)^\s*atScope\(\)\s*$`)
	filterPrincipal  = regexp.MustCompile(`(?i)^\s*(?:principalId\s+eq\s+'([^']*)'|assignedTo\('([^']*)'\))\s*$`)
	filterBoth       = regexp.MustCompile(`(?i)^\s*atScope\(\)\s+and\s+assignedTo\('([^']*)'\)\s*$`)
	filterRoleName   = regexp.MustCompile(`(?i)^\s*roleName\s+eq\s+'((?:[^']|'')*)'\s*$`)
	filterRoleType   = regexp.MustCompile(`(?i)^\s*type\s+eq\s+'([^']*)'\s*$`)
	roleDefinitionID = regexp.MustCompile(`(?i)(?:^|/roleDefinitions/)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
)

// listRoleAssignments is GET {scope}/…/roleAssignments: the assignments at, above and
// below the scope; $filter=atScope() keeps those at or above it, principalId eq 'X' (or
// assignedTo('X')) those of one principal.
func (a *API) listRoleAssignments(w http.ResponseWriter, r *http.Request, p params, c Caller) error {
	svc, err := a.rbacOrNotServed()
	if err != nil {
		return err
	}
	scope, err := a.authzScope(r, p, true, false)
	if err != nil {
		return err
	}
	f := r.URL.Query().Get("$filter")
	atScope, principal := false, ""
	switch {
	case strings.TrimSpace(f) == "":
	case filterAtScope.MatchString(f):
		atScope = true
	case filterPrincipal.MatchString(f):
		m := filterPrincipal.FindStringSubmatch(f)
		principal = m[1] + m[2]
	case filterBoth.MatchString(f):
		atScope, principal = true, filterBoth.FindStringSubmatch(f)[1]
	default:
		return &armError{http.StatusBadRequest, "InvalidFilterInQueryString",
			"The $filter '" + echo(f) + "' is not supported: use atScope(), principalId eq '{objectId}', assignedTo('{objectId}') or atScope() and assignedTo('{objectId}')."}
	}
	all, err := svc.Assignments(r.Context())
	if err != nil {
		return err
	}
	items := []roleAssignmentJSON{}
	for _, ra := range all {
		above := rbac.Within(scope, ra.Scope)
		if !above && (atScope || !rbac.Within(ra.Scope, scope)) {
			continue
		}
		if principal != "" && !strings.EqualFold(ra.PrincipalID, principal) {
			continue
		}
		items = append(items, roleAssignmentJSONOf(ra))
	}
	return writePage(a, w, r, items)
}

// assignmentAt returns the assignment name at the path's scope, or 404.
func (a *API) assignmentAt(r *http.Request, svc *rbac.Service, p params) (rbac.Assignment, error) {
	ra, err := svc.Assignment(r.Context(), p["ra"])
	if err == nil && !rbac.SameScope(ra.Scope, p["scope"]) {
		err = &rbac.Error{Kind: rbac.ErrNotFound}
	}
	if errors.Is(err, rbac.ErrNotFound) {
		return ra, &armError{http.StatusNotFound, "RoleAssignmentNotFound",
			"The role assignment '" + p.shown("ra") + "' is not found at the scope '" + p.shown("scope") + "'."}
	}
	return ra, err
}

func (a *API) getRoleAssignment(w http.ResponseWriter, r *http.Request, p params, c Caller) error {
	svc, err := a.rbacOrNotServed()
	if err != nil {
		return err
	}
	ra, err := a.assignmentAt(r, svc, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, roleAssignmentJSONOf(ra))
}

// putRoleAssignment is PUT {scope}/…/roleAssignments/{name}: 201 with the assignment,
// also when the same assignment is put again.
func (a *API) putRoleAssignment(w http.ResponseWriter, r *http.Request, p params, c Caller) error {
	svc, err := a.rbacOrNotServed()
	if err != nil {
		return err
	}
	var b struct {
		Properties *struct {
			RoleDefinitionID *string `json:"roleDefinitionId"`
			PrincipalID      *string `json:"principalId"`
			PrincipalType    *string `json:"principalType"`
			Description      *string `json:"description"`
			Condition        *string `json:"condition"`
			ConditionVersion *string `json:"conditionVersion"`
		} `json:"properties"`
	}
	if err := decodeBody(w, r, &b); err != nil {
		return err
	}
	if b.Properties == nil || b.Properties.RoleDefinitionID == nil || b.Properties.PrincipalID == nil {
		return badRequest(`The body must be {"properties":{"roleDefinitionId":"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{id}","principalId":"{objectId}"}}.`)
	}
	props := b.Properties
	if props.Condition != nil && *props.Condition != "" {
		return &armError{http.StatusBadRequest, "InvalidCondition", "Coffer does not evaluate conditions on role assignments: leave condition out."}
	}
	m := roleDefinitionID.FindStringSubmatch(strings.TrimSpace(*props.RoleDefinitionID))
	if m == nil {
		return &armError{http.StatusBadRequest, "InvalidRoleDefinitionId", "The role definition ID '" + echo(*props.RoleDefinitionID) + "' is not valid: it must be /subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{GUID}."}
	}
	roleID := strings.ToLower(m[1])
	if rbac.CanonicalID(p["ra"]) == "" {
		return &armError{http.StatusBadRequest, "InvalidRoleAssignmentId", "The role assignment ID '" + p.shown("ra") + "' is not valid. The role assignment ID must be a GUID."}
	}
	scope, err := a.authzScope(r, p, false, true)
	if err != nil {
		return err
	}
	if err := a.allow(r, c, "Microsoft.Authorization/roleAssignments/write", scope, roleID); err != nil {
		return err
	}
	principal := strings.ToLower(strings.TrimSpace(*props.PrincipalID))
	if err := a.checkPrincipal(r, principal, props.PrincipalType); err != nil {
		return err
	}
	if err := c.call.BeforeChange(r.Context()); err != nil {
		return err
	}
	ra := rbac.Assignment{Name: p["ra"], Scope: scope, RoleDefinitionID: roleID, PrincipalID: principal, PrincipalType: "ServicePrincipal"}
	if props.Description != nil {
		ra.Description = *props.Description
	}
	out, _, err := svc.CreateAssignment(r.Context(), ra, c.who())
	if err != nil {
		return rbacError(err)
	}
	return writeJSON(w, http.StatusCreated, roleAssignmentJSONOf(out))
}

// checkPrincipal refuses a principal id the server does not know, and a principal type
// other than the one it has (every Coffer principal is a service principal).
func (a *API) checkPrincipal(r *http.Request, objectID string, typ *string) error {
	found := false
	if a.opts.Directory != nil && rbac.CanonicalID(objectID) != "" {
		_, ok, err := a.opts.Directory.Lookup(r.Context(), objectID)
		if err != nil {
			return err
		}
		found = ok
	}
	if !found {
		return &armError{http.StatusBadRequest, "PrincipalNotFound",
			fmt.Sprintf("Principal %s does not exist in the directory %s. Check that you have the correct principal ID (coffer principal list shows them).", echo(objectID), a.opts.TenantID)}
	}
	if typ != nil && *typ != "" && !strings.EqualFold(*typ, "ServicePrincipal") {
		return &armError{http.StatusBadRequest, "UnmatchedPrincipalType",
			fmt.Sprintf("The PrincipalId '%s' has type 'ServicePrincipal' , which is different from specified PrincipalType '%s'.", objectID, echo(*typ))}
	}
	return nil
}

// deleteRoleAssignment is DELETE {scope}/…/roleAssignments/{name}: 200 with the deleted
// assignment, 204 when there is none at that scope. The decision needs the role the
// assignment names (a role's condition may limit which assignments it deletes), so it is
// made on the stored assignment, and the delete goes ahead only if that is still the one
// stored.
func (a *API) deleteRoleAssignment(w http.ResponseWriter, r *http.Request, p params, c Caller) error {
	svc, err := a.rbacOrNotServed()
	if err != nil {
		return err
	}
	scope, err := a.authzScope(r, p, false, false)
	if err != nil {
		return err
	}
	const action = "Microsoft.Authorization/roleAssignments/delete"
	cur, err := a.assignmentAt(r, svc, p)
	var ae *armError
	if errors.As(err, &ae) && ae.status == http.StatusNotFound {
		if err := a.allow(r, c, action, scope, ""); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	if err := a.allow(r, c, action, scope, cur.RoleDefinitionID); err != nil {
		return err
	}
	if err := c.call.BeforeChange(r.Context()); err != nil {
		return err
	}
	ra, found, err := svc.DeleteAssignment(r.Context(), p["ra"], func(ra rbac.Assignment) error {
		if !rbac.SameScope(ra.Scope, cur.Scope) || ra.RoleDefinitionID != cur.RoleDefinitionID {
			return errNoSuchAssignment // deleted and made again meanwhile: not the one decided on
		}
		return nil
	})
	if errors.Is(err, errNoSuchAssignment) {
		found, err = false, nil
	}
	if err != nil {
		return err
	}
	if !found {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return writeJSON(w, http.StatusOK, roleAssignmentJSONOf(ra))
}

var errNoSuchAssignment = errors.New("no such role assignment at this scope")

// listRoleDefinitions is GET {scope}/…/roleDefinitions: the built-in roles and the custom
// roles assignable at, above or below the scope; $filter=roleName eq 'N' or type eq 'T'
// narrows them.
func (a *API) listRoleDefinitions(w http.ResponseWriter, r *http.Request, p params, c Caller) error {
	svc, err := a.rbacOrNotServed()
	if err != nil {
		return err
	}
	scope, err := a.authzScope(r, p, true, false)
	if err != nil {
		return err
	}
	f := r.URL.Query().Get("$filter")
	name, typ := "", ""
	switch {
	case strings.TrimSpace(f) == "":
	case filterRoleName.MatchString(f):
		name = strings.ReplaceAll(filterRoleName.FindStringSubmatch(f)[1], "''", "'")
	case filterRoleType.MatchString(f):
		typ = filterRoleType.FindStringSubmatch(f)[1]
	default:
		return &armError{http.StatusBadRequest, "InvalidFilterInQueryString",
			"The $filter '" + echo(f) + "' is not supported: use roleName eq '{name}' or type eq 'BuiltInRole' (or 'CustomRole')."}
	}
	roles, err := svc.Roles(r.Context())
	if err != nil {
		return err
	}
	items := []roleDefinitionJSON{}
	for _, d := range roles {
		if name != "" && !strings.EqualFold(d.RoleName, name) || typ != "" && !strings.EqualFold(d.RoleType, typ) {
			continue
		}
		if d.RoleType == rbac.CustomRole && !customVisibleAt(d, scope) {
			continue
		}
		items = append(items, roleDefinitionJSONOf(scope, d))
	}
	return writePage(a, w, r, items)
}

// customVisibleAt: a custom role is listed at a scope it is assignable at, or one above
// where it is.
func customVisibleAt(d rbac.Definition, scope string) bool {
	for _, s := range d.AssignableScopes {
		if rbac.Within(scope, s) || rbac.Within(s, scope) {
			return true
		}
	}
	return false
}

func (a *API) getRoleDefinition(w http.ResponseWriter, r *http.Request, p params, c Caller) error {
	svc, err := a.rbacOrNotServed()
	if err != nil {
		return err
	}
	scope, err := a.authzScope(r, p, true, false)
	if err != nil {
		return err
	}
	d, err := svc.Role(r.Context(), p["rd"])
	if errors.Is(err, rbac.ErrRoleNotFound) {
		return &armError{http.StatusNotFound, "RoleDefinitionDoesNotExist", "The specified role definition with ID '" + p.shown("rd") + "' does not exist."}
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, roleDefinitionJSONOf(scope, d))
}

// putRoleDefinition is PUT {scope}/…/roleDefinitions/{id} at a subscription or a
// resource group: creates or replaces a custom role assignable there or below (201 both,
// as Azure answers).
func (a *API) putRoleDefinition(w http.ResponseWriter, r *http.Request, p params, c Caller) error {
	svc, err := a.rbacOrNotServed()
	if err != nil {
		return err
	}
	var b struct {
		Properties *struct {
			RoleName         *string           `json:"roleName"`
			Description      *string           `json:"description"`
			Type             *string           `json:"type"`
			Permissions      []rbac.Permission `json:"permissions"`
			AssignableScopes []string          `json:"assignableScopes"`
		} `json:"properties"`
	}
	if err := decodeBody(w, r, &b); err != nil {
		return err
	}
	if b.Properties == nil || b.Properties.RoleName == nil {
		return badRequest(`The body must be {"properties":{"roleName":"…","permissions":[{"actions":[…],"notActions":[…],"dataActions":[…],"notDataActions":[…]}],"assignableScopes":["/subscriptions/{sub}"]}}.`)
	}
	scope, err := a.authzScope(r, p, false, false)
	if err != nil {
		return err
	}
	if s, _ := rbac.ParseScope(scope); s.Kind > rbac.ScopeResourceGroup {
		return &armError{http.StatusBadRequest, "InvalidScope", "Custom role definitions are made at a subscription or a resource group, not at '" + echo(scope) + "'."}
	}
	props := b.Properties
	below := false
	for _, s := range props.AssignableScopes {
		if rbac.Within(s, scope) {
			below = true
		}
	}
	if len(props.AssignableScopes) > 0 && !below {
		return &armError{http.StatusBadRequest, "InvalidScope", "The role definition is put at '" + echo(scope) + "', which is not one of its assignable scopes nor above one."}
	}
	if props.Type != nil && !strings.EqualFold(*props.Type, rbac.CustomRole) {
		return badRequest("properties.type must be CustomRole: built-in roles cannot be made.")
	}
	for _, perm := range props.Permissions {
		if perm.Condition != "" {
			return badRequest("Coffer does not take conditions on custom role permissions: leave condition out.")
		}
	}
	d := rbac.Definition{ID: p["rd"], RoleName: *props.RoleName, Permissions: props.Permissions, AssignableScopes: props.AssignableScopes}
	if props.Description != nil {
		d.Description = *props.Description
	}
	out, _, err := svc.PutRole(r.Context(), d, c.who())
	if err != nil {
		return rbacError(err)
	}
	return writeJSON(w, http.StatusCreated, roleDefinitionJSONOf(scope, out)) // Azure answers 201 to an update too

}

// deleteRoleDefinition is DELETE {scope}/…/roleDefinitions/{id}: 200 with the deleted
// custom role, 204 when there is none.
func (a *API) deleteRoleDefinition(w http.ResponseWriter, r *http.Request, p params, c Caller) error {
	svc, err := a.rbacOrNotServed()
	if err != nil {
		return err
	}
	scope, err := a.authzScope(r, p, false, false)
	if err != nil {
		return err
	}
	d, found, err := svc.DeleteRole(r.Context(), p["rd"])
	if err != nil {
		return rbacError(err)
	}
	if !found {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return writeJSON(w, http.StatusOK, roleDefinitionJSONOf(scope, d))
}
