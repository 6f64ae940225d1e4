package server

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/coffer/coffer/internal/admin"
	"github.com/coffer/coffer/internal/azapi"
	"github.com/coffer/coffer/internal/console"
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
		Vaults: s.vaults, Principals: s.id, PublicURL: s.publicURL.String(), Log: s.log, SnapshotRate: DefaultSnapshotRate,
		VaultURL: func(name string) string { return vaultURL(s.publicURL, name, s.cfg.VaultDomain) },
		Anchors:  s.anchors,
		ConsoleLink: func(ctx context.Context, p plane.Principal) (string, time.Time, error) {
			tok, expires, err := s.console.CreateLink(ctx, p.ClientID)
			return s.ConsoleURL() + "link?t=" + tok, expires, err
		},
	}
	if _, ok := s.store.Snapshotter(); ok {
		opts.Snapshot = func(ctx context.Context, w io.Writer, rate int64) (int64, error) {
			sum, err := s.WriteSnapshot(ctx, w, rate)
			return sum.Records, err
		}
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

// anchors are the ledger heads the server trusts (copied into the audit log).
func (s *Server) anchors() []ledger.Anchor {
	var out []ledger.Anchor
	if a := s.anchor.Load(); a != nil {
		out = append(out, *a)
	}
	if s.startAnchor != nil {
		out = append(out, *s.startAnchor)
	}
	return out
}

// newConsole is the browser console at /console/ on the bare address: its own plane
// (audit records marked "console"), the same vault domain and role assignments as the
// data plane, identity's sign-in check, and sessions in the storage.
func (s *Server) newConsole() (*console.Console, error) {
	p := plane.New(plane.Config{Name: "console", Audit: s.auditConsole, Clock: s.cfg.Clock, Log: s.log})
	return console.New(console.Options{Vaults: s.vaults, RBAC: s.rbac, Principals: s.id, Store: s.store, Clock: s.cfg.Clock, Access: azapi.Access,
		Plane: p, Anchors: s.anchors, IdleTimeout: s.cfg.ConsoleIdleTimeout, MaxLifetime: s.cfg.ConsoleMaxLifetime, Log: s.log})
}

// ConsoleURL is the browser console's address (with a trailing slash).
func (s *Server) ConsoleURL() string { return s.publicURL.String() + console.Prefix }

// newARMPlanes are the management plane and the Graph stand-in az needs (same audit
// sink; the Graph stand-in accepts Graph-audience tokens only).
func (s *Server) newARMPlanes() (armPlane, graphPlane *plane.Plane) {
	armPlane = plane.New(plane.Config{Name: "arm", Verify: s.verifier(identity.ARM), Unauthorized: armUnauthorized,
		Denied: "denied: no valid management-plane token", Render: s.arm.Render, Audit: s.auditARM, Clock: s.cfg.Clock, Log: s.log})
	graphPlane = plane.New(plane.Config{Name: "graph", Verify: s.verifier(identity.Graph),
		Unauthorized: func(w http.ResponseWriter, _ *http.Request) {
			plane.WriteError(w, &plane.Error{Status: http.StatusUnauthorized, Code: "InvalidAuthenticationToken",
				Message: "Access token is missing or not valid for the Graph stand-in (audience: this server's bare address)."})
		},
		Denied: "denied: no valid Graph token", Render: s.arm.Render, Audit: s.auditARM, Clock: s.cfg.Clock, Log: s.log})
	return armPlane, graphPlane
}

// challengeBody is the data plane's 401, which Azure's SDKs answer by reading the
// WWW-Authenticate challenge and asking the authority it names for a token.
var challengeBody = []byte(`{"error":{"code":"Unauthorized","message":"AKV10000: Request is missing a Bearer or PoP token, or the token is not valid for this vault."}}`)

// newDataPlane is the Azure Key Vault data plane of every vault.
func (s *Server) newDataPlane() *plane.Plane {
	return plane.New(plane.Config{Name: "data", Verify: s.verifier(identity.DataPlane),
		Unauthorized: func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("WWW-Authenticate", s.id.Challenge(r.Host))
			h.Set("Content-Type", "application/json; charset=utf-8")
			h.Set("x-ms-error-code", "Unauthorized")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write(challengeBody)
		},
		Denied: "denied: no valid bearer token", Header: azapi.ErrorHeader,
		Audit: s.auditData, Clock: s.cfg.Clock, Log: s.log})
}
