// Package rbac is Azure role-based access control as Coffer keeps it: the built-in role
// definitions (Azure's ids and permission sets, builtin.go), custom role definitions, role
// assignments, and the decision whether a principal may perform an action at a scope,
// made as Azure makes it.
//
// It is a leaf over storage, like the deletion ledger: it imports no other Coffer package
// but storage (and storage/kvjson, its JSON records), so the vault domain may move a
// vault's assignments in the same transaction as the vault (store.go), and the planes
// decide with it (a [View] of the assignments, cached and invalidated on change,
// service.go).
//
// Start with [Decide] (the evaluation rules) and [Service].
//
// # Evaluation
//
// An assignment applies at its scope and everywhere below it (a subscription's
// assignment applies to its resource groups, their vaults and the secrets, keys and
// certificates in them). An action is allowed when some assignment that applies names a
// role that grants it through its actions (data actions, for a data action) and that
// same role does not take it away again through its notActions (notDataActions). `*`
// in an action pattern stands for any run of characters, `/` included. Actions and
// scopes compare case-insensitively. Nothing is ever denied outright: a notAction only
// narrows its own role, so another assignment may still grant the action.
package rbac

import (
	"slices"
	"strings"
	"time"
)

// Role types, as Azure names them.
const (
	BuiltInRole = "BuiltInRole"
	CustomRole  = "CustomRole"
)

// Permission is one entry of a role definition's permissions.
type Permission struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
	// Condition (ABAC) is shown as Azure shows it; Coffer evaluates the one form its
	// built-in roles carry, which limits the role definitions whose assignments a role
	// may write and delete (see conditionAllows).
	Condition        string `json:"condition,omitempty"`
	ConditionVersion string `json:"conditionVersion,omitempty"`
}

// Definition is a role definition: built-in or custom.
type Definition struct {
	ID               string       `json:"id"` // a GUID, lower case
	RoleName         string       `json:"roleName"`
	Description      string       `json:"description,omitempty"`
	RoleType         string       `json:"roleType"`
	Permissions      []Permission `json:"permissions"`
	AssignableScopes []string     `json:"assignableScopes"`
	Created          time.Time    `json:"created,omitzero"`
	Updated          time.Time    `json:"updated,omitzero"`
	CreatedBy        string       `json:"createdBy,omitempty"`
	UpdatedBy        string       `json:"updatedBy,omitempty"`
}

func (d Definition) clone() Definition {
	d.Permissions = slices.Clone(d.Permissions)
	d.AssignableScopes = slices.Clone(d.AssignableScopes)
	return d
}

// AssignableAt reports whether the role may be assigned at scope: some assignable scope
// of it is scope or above it.
func (d Definition) AssignableAt(scope string) bool {
	for _, s := range d.AssignableScopes {
		if Within(scope, s) {
			return true
		}
	}
	return false
}

// Assignment is a role assignment: a principal holds a role at a scope.
type Assignment struct {
	Name             string    `json:"name"`  // a GUID, lower case; unique across the deployment
	Scope            string    `json:"scope"` // a resource id, as the client named it
	RoleDefinitionID string    `json:"roleDefinitionId"`
	PrincipalID      string    `json:"principalId"`
	PrincipalType    string    `json:"principalType,omitempty"`
	Description      string    `json:"description,omitempty"`
	Created          time.Time `json:"created"`
	Updated          time.Time `json:"updated"`
	CreatedBy        string    `json:"createdBy,omitempty"`
	UpdatedBy        string    `json:"updatedBy,omitempty"`
}

// Request is what a decision is asked about.
type Request struct {
	Principal string // object id
	Scope     string // the resource id acted on
	Action    string
	Data      bool // a data action (DataActions, NotDataActions), not a management one
	// RoleDefinitionID is, for writing or deleting a role assignment, the role it names:
	// a role's condition may limit which ones it may (Key Vault Data Access
	// Administrator).
	RoleDefinitionID string
}

// Decision is the answer, with what decided it.
type Decision struct {
	Allowed    bool
	Role       string // the role that granted the action
	Scope      string // the scope of its assignment
	Assignment string // the assignment's name
}

// Reason is the decision in words, for the audit record.
func (d Decision) Reason(req Request) string {
	if d.Allowed {
		return "role " + d.Role + " at " + d.Scope + " grants " + req.Action
	}
	return "no role assignment of " + req.Principal + " grants " + req.Action + " at " + req.Scope
}

// Decide evaluates req against a principal's assignments (those of other principals are
// skipped), resolving roles with role. See the package comment for the rules.
func Decide(assignments []Assignment, role func(id string) (Definition, bool), req Request) Decision {
	for _, a := range assignments {
		if !strings.EqualFold(a.PrincipalID, req.Principal) || !Within(req.Scope, a.Scope) {
			continue
		}
		d, ok := role(a.RoleDefinitionID)
		if !ok || !d.grants(req) {
			continue
		}
		return Decision{Allowed: true, Role: d.RoleName, Scope: a.Scope, Assignment: a.Name}
	}
	return Decision{}
}

// grants reports whether the role allows req: one of its permissions grants the action
// (and its condition lets it), and none of them takes it away.
func (d Definition) grants(req Request) bool {
	granted := false
	for _, p := range d.Permissions {
		allow, deny := p.Actions, p.NotActions
		if req.Data {
			allow, deny = p.DataActions, p.NotDataActions
		}
		if matchesAny(deny, req.Action) {
			return false
		}
		if matchesAny(allow, req.Action) && conditionAllows(p.Condition, req) {
			granted = true
		}
	}
	return granted
}

// Grants reports whether the role allows action (a data action when data is set),
// whatever the scope: what a role means, before it is assigned.
func (d Definition) Grants(action string, data bool) bool {
	return d.grants(Request{Action: action, Data: data})
}

func matchesAny(patterns []string, action string) bool {
	for _, p := range patterns {
		if Match(p, action) {
			return true
		}
	}
	return false
}

// Match reports whether action matches pattern: case-insensitively, `*` standing for
// any run of characters (`/` included).
func Match(pattern, action string) bool {
	p, s := pattern, action
	// Classic glob matching with one backtrack point: the last `*` seen.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && foldByte(p[pi]) == foldByte(s[si]):
			pi++
			si++
		case star >= 0:
			pi, mark = star+1, mark+1
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// foldByte is an ASCII letter in lower case (action names are ASCII).
func foldByte(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// Within reports whether target is scope or lies below it, comparing the segments of
// the two resource ids case-insensitively ("/" is the root, above everything).
func Within(target, scope string) bool {
	t, s := target, scope
	for {
		var ts, ss string
		ss, s = nextSegment(s)
		if ss == "" {
			return true
		}
		ts, t = nextSegment(t)
		if ts == "" || !strings.EqualFold(ts, ss) {
			return false
		}
	}
}

// nextSegment returns the first non-empty segment of a resource id and the rest.
func nextSegment(id string) (seg, rest string) {
	id = strings.TrimLeft(id, "/")
	seg, rest, _ = strings.Cut(id, "/")
	return seg, rest
}

// SameScope reports whether a and b name the same scope.
func SameScope(a, b string) bool { return Within(a, b) && Within(b, a) }

func segments(id string) []string {
	var out []string
	for _, s := range strings.Split(id, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
