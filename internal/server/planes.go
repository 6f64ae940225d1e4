package server

import (
	"context"
	"net/http"
	"time"

	"github.com/coffer/coffer/internal/admin"
	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/plane"
)

// The planes as the server composes them: each is a plane.Plane (authentication, request
// ids, audit records, error rendering) in front of its route table, with identity's
// token check handed in as Verify.

// verifier checks a bearer token for one audience class.
func (s *Server) verifier(aud identity.Audience) func(context.Context, string) (plane.Principal, error) {
	return func(ctx context.Context, tok string) (plane.Principal, error) {
		p, err := s.id.Verify(ctx, tok, aud)
		return plane.Principal{TenantID: p.TenantID, ClientID: p.ClientID, ObjectID: p.ObjectID, Admin: p.Admin}, err
	}
}

// armUnauthorized is the management plane's 401 (also the admin routes').
func armUnauthorized(w http.ResponseWriter, r *http.Request) {
	msg := "Authentication failed. The access token is not valid for the management plane: it is expired, malformed, or for another audience."
	if _, ok := plane.Bearer(r); !ok {
		msg = "Authentication failed. The 'Authorization' header is missing."
	}
	plane.WriteError(w, &plane.Error{Status: http.StatusUnauthorized, Code: "AuthenticationFailed", Message: msg})
}

// newAdminPlane is Coffer's /admin/… plane.
func (s *Server) newAdminPlane() (*plane.Plane, *admin.Admin) {
	p := plane.New(plane.Config{Name: "admin", Verify: s.verifier(identity.ARM), Unauthorized: armUnauthorized,
		Denied: "denied: no valid management-plane token", Audit: s.auditAdmin, Clock: s.cfg.Clock, Log: s.log})
	opts := admin.Options{
		Vaults: s.vaults, Principals: s.id, PublicURL: s.publicURL.String(), Log: s.log,
		VaultURL: func(name string) string { return vaultURL(s.publicURL, name, s.cfg.VaultDomain) },
		Anchors: func() []ledger.Anchor {
			var out []ledger.Anchor
			if a := s.anchor.Load(); a != nil {
				out = append(out, *a)
			}
			if s.startAnchor != nil {
				out = append(out, *s.startAnchor)
			}
			return out
		},
	}
	if s.cfg.AllowTimeShift {
		opts.ShiftTime = func(r *http.Request, seconds int64) (time.Duration, time.Time, error) {
			total, err := addTimeShift(r.Context(), s.store, seconds)
			if err != nil {
				return 0, time.Time{}, err
			}
			s.vclock.SetOffset(total)
			return total, s.vclock.Now(), nil
		}
	}
	return p, admin.New(opts)
}
