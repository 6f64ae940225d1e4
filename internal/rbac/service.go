package rbac

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/kvjson"
)

// Error kinds; an *Error wraps one and says what is wrong.
var (
	ErrNotFound          = errors.New("rbac: not found")
	ErrInvalid           = errors.New("rbac: invalid")
	ErrExists            = errors.New("rbac: the role assignment already exists")
	ErrUpdateNotAllowed  = errors.New("rbac: a role assignment cannot be changed")
	ErrRoleNotFound      = errors.New("rbac: no such role definition")
	ErrRoleNotAssignable = errors.New("rbac: the role cannot be assigned at this scope")
	ErrRoleNameTaken     = errors.New("rbac: a role definition of that name exists")
	ErrRoleInUse         = errors.New("rbac: the role definition is assigned")
	ErrBuiltIn           = errors.New("rbac: built-in role definitions cannot be changed")
)

// Error is a refused change, with what to tell the client.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

func fail(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// recheck is how long a server trusts its view of the assignments before it looks at
// the stored change counter again: a change made through another server on the same
// storage holds here within it.
const recheck = time.Second

// Service keeps the role definitions and assignments of a deployment in storage and
// answers decisions from a cached view of them.
type Service struct {
	st  storage.Backend
	now func() time.Time // the real clock: views age by it

	mu    sync.Mutex
	view  *View
	epoch uint64 // moved by every change through this Service: a view read before it is stale
}

// New returns the Service over st; now is the clock views age by.
func New(st storage.Backend, now func() time.Time) *Service {
	return &Service{st: st, now: now}
}

// View is a snapshot of every assignment in force and every custom role, indexed for
// decisions: a decision looks only at the assignments of the principal who asks.
type View struct {
	gen         uint64
	checked     time.Time
	byPrincipal map[string][]Assignment
	custom      map[string]Definition
}

// Role returns the role definition id, built-in or custom.
func (v *View) Role(id string) (Definition, bool) {
	id = strings.ToLower(id)
	if d, ok := builtinByID[id]; ok {
		return *d, true
	}
	d, ok := v.custom[id]
	return d, ok
}

// Decide evaluates req on the view (see [Decide]).
func (v *View) Decide(req Request) Decision {
	return Decide(v.byPrincipal[strings.ToLower(req.Principal)], v.Role, req)
}

// Touches reports whether principal holds any role at scope, above it or below it: on
// a vault, whether it has any role there at all.
func (v *View) Touches(principal, scope string) bool {
	for _, a := range v.byPrincipal[strings.ToLower(principal)] {
		if Within(scope, a.Scope) || Within(a.Scope, scope) {
			return true
		}
	}
	return false
}

// Subscriptions lists the subscriptions principal holds some role in, each once.
func (v *View) Subscriptions(principal string) []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range v.byPrincipal[strings.ToLower(principal)] {
		if s, err := ParseScope(a.Scope); err == nil && !seen[strings.ToLower(s.Subscription)] {
			seen[strings.ToLower(s.Subscription)] = true
			out = append(out, s.Subscription)
		}
	}
	return out
}

// View returns the current view: the cached one, unless it is older than a second and
// the stored change counter has moved meanwhile (a change through another server), or a
// change was made through this Service since it was read.
func (s *Service) View(ctx context.Context) (*View, error) {
	now := s.now()
	s.mu.Lock()
	v, epoch := s.view, s.epoch
	s.mu.Unlock()
	if v != nil && now.Sub(v.checked) < recheck && !now.Before(v.checked) {
		return v, nil
	}
	var next *View
	err := s.st.View(ctx, func(tx storage.Tx) error {
		g, err := generation(tx)
		if err != nil {
			return err
		}
		if v != nil && g == v.gen {
			c := *v
			c.checked = now
			next = &c
			return nil
		}
		next, err = load(tx, g, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("rbac: read the role assignments: %w", err)
	}
	s.mu.Lock()
	if s.epoch == epoch { // no change through this Service meanwhile
		s.view = next
	}
	s.mu.Unlock()
	return next, nil
}

func load(tx storage.Tx, gen uint64, now time.Time) (*View, error) {
	as, err := assignments(tx)
	if err != nil {
		return nil, err
	}
	ds, err := customDefinitions(tx)
	if err != nil {
		return nil, err
	}
	v := &View{gen: gen, checked: now, byPrincipal: map[string][]Assignment{}, custom: map[string]Definition{}}
	for _, a := range as {
		p := strings.ToLower(a.PrincipalID)
		v.byPrincipal[p] = append(v.byPrincipal[p], a)
	}
	for _, d := range ds {
		v.custom[strings.ToLower(d.ID)] = d
	}
	return v, nil
}

// Invalidate drops the cached view: the next decision reads the assignments again. A
// change through this Service does it itself; the vault domain's moves of a vault's
// assignments (delete, recover) call it through their plane.
func (s *Service) Invalidate() {
	s.mu.Lock()
	s.view = nil
	s.epoch++
	s.mu.Unlock()
}

// update runs fn in a write transaction that moves the change counter, and drops the
// cached view.
func (s *Service) update(ctx context.Context, fn func(tx storage.Tx) error) error {
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return bump(tx)
	})
	s.Invalidate()
	return err
}

// CanonicalID returns the lower-case form of a GUID, or "" when s is not one.
func CanonicalID(s string) string {
	if len(s) != 36 {
		return ""
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return ""
	}
	return u.String()
}

// Role returns a role definition by id, built-in or custom.
func (s *Service) Role(ctx context.Context, id string) (Definition, error) {
	if d, ok := builtinByID[strings.ToLower(id)]; ok {
		return d.clone(), nil
	}
	var d Definition
	err := s.st.View(ctx, func(tx storage.Tx) error {
		return kvjson.Get(tx, definitionKey(id), &d)
	})
	if errors.Is(err, storage.ErrNotFound) || CanonicalID(id) == "" {
		return d, fail(ErrRoleNotFound, "The role definition '%s' does not exist.", id)
	}
	return d, err
}

// Roles returns every role definition: the built-in ones, then the custom ones by name.
func (s *Service) Roles(ctx context.Context) ([]Definition, error) {
	var custom []Definition
	err := s.st.View(ctx, func(tx storage.Tx) error {
		var err error
		custom, err = customDefinitions(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(custom, func(a, b Definition) int {
		return strings.Compare(strings.ToLower(a.RoleName), strings.ToLower(b.RoleName))
	})
	return append(BuiltIns(), custom...), nil
}

// PutRole creates or replaces the custom role d (d.ID its GUID); by is who asks. Its
// assignable scopes must be subscriptions or resource groups; its name must be unique.
func (s *Service) PutRole(ctx context.Context, d Definition, by string) (Definition, bool, error) {
	id := CanonicalID(d.ID)
	switch {
	case id == "":
		return d, false, fail(ErrInvalid, "The role definition id '%s' is not valid: it must be a GUID.", d.ID)
	case builtinByID[id] != nil:
		return d, false, fail(ErrBuiltIn, "The role definition '%s' is the built-in role %s, which cannot be changed.", id, builtinByID[id].RoleName)
	case strings.TrimSpace(d.RoleName) == "":
		return d, false, fail(ErrInvalid, "The role definition needs a roleName.")
	case len(d.AssignableScopes) == 0:
		return d, false, fail(ErrInvalid, "The role definition needs assignableScopes.")
	case len(d.Permissions) == 0:
		return d, false, fail(ErrInvalid, "The role definition needs permissions.")
	}
	for _, sc := range d.AssignableScopes {
		p, err := ParseScope(sc)
		if err != nil || p.Kind > ScopeResourceGroup {
			return d, false, fail(ErrInvalid, "The assignable scope '%s' is not valid: a custom role is assignable at subscriptions (/subscriptions/{sub}) and resource groups (/subscriptions/{sub}/resourceGroups/{group}).", sc)
		}
	}
	for _, b := range builtins {
		if strings.EqualFold(b.RoleName, d.RoleName) {
			return d, false, fail(ErrRoleNameTaken, "A role definition named '%s' exists already (the built-in role %s).", d.RoleName, b.ID)
		}
	}
	d.ID, d.RoleType = id, CustomRole
	now := s.now().UTC().Truncate(time.Second)
	var created bool
	err := s.update(ctx, func(tx storage.Tx) error {
		created = false
		ds, err := customDefinitions(tx)
		if err != nil {
			return err
		}
		cur := Definition{}
		for _, o := range ds {
			if o.ID == id {
				cur = o
				continue
			}
			if strings.EqualFold(o.RoleName, d.RoleName) {
				return fail(ErrRoleNameTaken, "A role definition named '%s' exists already (%s).", d.RoleName, o.ID)
			}
		}
		if cur.ID == "" {
			created = true
			d.Created, d.CreatedBy = now, by
		} else {
			d.Created, d.CreatedBy = cur.Created, cur.CreatedBy
		}
		d.Updated, d.UpdatedBy = now, by
		return kvjson.Put(tx, definitionKey(id), d)
	})
	return d, created, err
}

// DeleteRole deletes the custom role id; found is false when there was none. A role
// still assigned (also with a deleted vault) is refused.
func (s *Service) DeleteRole(ctx context.Context, id string) (d Definition, found bool, err error) {
	if b := builtinByID[strings.ToLower(id)]; b != nil {
		return d, false, fail(ErrBuiltIn, "The role definition '%s' is the built-in role %s, which cannot be deleted.", b.ID, b.RoleName)
	}
	if CanonicalID(id) == "" {
		return d, false, nil
	}
	err = s.update(ctx, func(tx storage.Tx) error {
		found = false
		err := kvjson.Get(tx, definitionKey(id), &d)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		live, err := assignments(tx)
		if err != nil {
			return err
		}
		held, err := heldAssignments(tx)
		if err != nil {
			return err
		}
		for _, a := range append(live, held...) {
			if strings.EqualFold(a.RoleDefinitionID, d.ID) {
				return fail(ErrRoleInUse, "The role definition '%s' (%s) is assigned (role assignment %s at %s): delete its assignments first.", d.RoleName, d.ID, a.Name, a.Scope)
			}
		}
		return tx.Delete(definitionKey(id))
	})
	return d, found, err
}

// Assignments returns every assignment in force, by name.
func (s *Service) Assignments(ctx context.Context) ([]Assignment, error) {
	var as []Assignment
	err := s.st.View(ctx, func(tx storage.Tx) error {
		var err error
		as, err = assignments(tx)
		return err
	})
	return as, err
}

// Assignment returns the assignment in force called name.
func (s *Service) Assignment(ctx context.Context, name string) (Assignment, error) {
	var a Assignment
	if CanonicalID(name) == "" {
		return a, fail(ErrNotFound, "The role assignment '%s' is not found.", name)
	}
	err := s.st.View(ctx, func(tx storage.Tx) error {
		return kvjson.Get(tx, assignmentKey(name), &a)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return a, fail(ErrNotFound, "The role assignment '%s' is not found.", name)
	}
	return a, err
}

// CreateAssignment creates the assignment a (a.Name its GUID) as by. A new one is
// created (true); the same one again answers the stored one (false). The name held by
// another assignment, or the same principal, role and scope under another name, is
// refused. The caller has checked the principal and, for a vault scope, the vault.
func (s *Service) CreateAssignment(ctx context.Context, a Assignment, by string) (Assignment, bool, error) {
	name := CanonicalID(a.Name)
	if name == "" {
		return a, false, fail(ErrInvalid, "The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", a.Name)
	}
	if _, err := ParseScope(a.Scope); err != nil {
		return a, false, fail(ErrInvalid, "%v.", err)
	}
	role, err := s.Role(ctx, a.RoleDefinitionID)
	if err != nil {
		return a, false, err
	}
	if !role.AssignableAt(a.Scope) {
		return a, false, fail(ErrRoleNotAssignable, "The role %s (%s) is not assignable at the scope '%s': its assignable scopes are %s.",
			role.RoleName, role.ID, a.Scope, strings.Join(role.AssignableScopes, ", "))
	}
	a.Name, a.RoleDefinitionID = name, role.ID
	now := s.now().UTC().Truncate(time.Second)
	var created bool
	var out Assignment
	err = s.update(ctx, func(tx storage.Tx) error {
		created = false
		var cur Assignment
		err := kvjson.Get(tx, assignmentKey(name), &cur)
		switch {
		case err == nil:
			if SameScope(cur.Scope, a.Scope) && strings.EqualFold(cur.PrincipalID, a.PrincipalID) && cur.RoleDefinitionID == a.RoleDefinitionID {
				out = cur
				return nil
			}
			return fail(ErrUpdateNotAllowed, "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
		case !errors.Is(err, storage.ErrNotFound):
			return err
		}
		live, err := assignments(tx)
		if err != nil {
			return err
		}
		for _, o := range live {
			if SameScope(o.Scope, a.Scope) && strings.EqualFold(o.PrincipalID, a.PrincipalID) && o.RoleDefinitionID == a.RoleDefinitionID {
				return fail(ErrExists, "The role assignment already exists.")
			}
		}
		a.Created, a.Updated, a.CreatedBy, a.UpdatedBy = now, now, by, by
		out, created = a, true
		return kvjson.Put(tx, assignmentKey(name), a)
	})
	return out, created, err
}

// DeleteAssignment deletes the assignment in force called name; found is false when
// there was none. allow, when set, sees the assignment first and may refuse (the
// caller's right to delete it depends on its role).
func (s *Service) DeleteAssignment(ctx context.Context, name string, allow func(Assignment) error) (a Assignment, found bool, err error) {
	if CanonicalID(name) == "" {
		return a, false, nil
	}
	err = s.update(ctx, func(tx storage.Tx) error {
		found = false
		err := kvjson.Get(tx, assignmentKey(name), &a)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if allow != nil {
			if err := allow(a); err != nil {
				return err
			}
		}
		found = true
		return tx.Delete(assignmentKey(name))
	})
	return a, found, err
}

// EnsureOwner gives principal Owner at the subscription once per deployment: the
// bootstrap administrator's assignment, listed like any other. Deleting it later is
// allowed and sticks (a restart does not make it again).
func (s *Service) EnsureOwner(ctx context.Context, principal, subscription string) error {
	name := uuid.NewSHA1(uuid.NameSpaceOID, []byte("coffer/bootstrap-owner/"+strings.ToLower(principal))).String()
	now := s.now().UTC().Truncate(time.Second)
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(bootstrapKey); err == nil {
			return nil
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		a := Assignment{Name: name, Scope: SubscriptionScope(subscription), RoleDefinitionID: Owner, PrincipalID: principal,
			PrincipalType: "ServicePrincipal", Description: "The bootstrap administrator of this Coffer deployment.",
			Created: now, Updated: now}
		if err := kvjson.Put(tx, assignmentKey(name), a); err != nil {
			return err
		}
		if err := tx.Put(bootstrapKey, []byte(name)); err != nil {
			return err
		}
		return bump(tx)
	})
	s.Invalidate()
	return err
}
