package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/coffer/coffer/internal/arm"
	"github.com/coffer/coffer/internal/rbac"
)

// openRBAC opens the role definitions and assignments (package rbac) the planes decide
// with, and on a deployment's first start gives the bootstrap administrator Owner at the
// default subscription: an assignment like any other, listed by
// GET /subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments. (The
// administrator may do everything whatever it holds; the assignment shows it.)
func (s *Server) openRBAC(ctx context.Context) error {
	s.rbac = rbac.New(s.store, s.cfg.Clock.Now)
	admin, err := s.id.PrincipalByClientID(ctx, s.id.AdminCredentials().ClientID)
	if err != nil {
		return fmt.Errorf("rbac: the administrator: %w", err)
	}
	if err := s.rbac.EnsureOwner(ctx, admin.ObjectID, DefaultSubscription); err != nil {
		return fmt.Errorf("rbac: the administrator's Owner assignment: %w", err)
	}
	return nil
}

// Lookup finds a principal by object id, for role assignments (which must name a
// principal the server knows) and the Graph stand-in's directory object reads.
func (d graphDirectory) Lookup(ctx context.Context, objectID string) (arm.DirectoryEntry, bool, error) {
	ps, err := d.id.ListPrincipals(ctx)
	if err != nil {
		return arm.DirectoryEntry{}, false, err
	}
	for _, p := range ps {
		if strings.EqualFold(p.ObjectID, objectID) {
			return arm.DirectoryEntry{ObjectID: p.ObjectID, ClientID: p.ClientID, Name: p.Name}, true, nil
		}
	}
	return arm.DirectoryEntry{}, false, nil
}
