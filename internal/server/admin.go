package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/audit"
	"github.com/coffer/coffer/internal/identity"
)

// maxAdminBody bounds the body of an admin request: a principal name is at most 128
// characters, 12 bytes each when JSON-escaped as a surrogate pair.
const maxAdminBody = 16 << 10

// serveAdmin answers Coffer's own /admin/... routes (interface.md §3) other than the
// time shift: ARM-audience token of the administrator unless a route says otherwise.
// Paths are matched exactly as sent, never cleaned or redirected.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	p, ok := s.authARM(w, r)
	if !ok {
		return
	}
	if !p.Admin {
		writeARMError(w, http.StatusForbidden, "Forbidden", "Only the administrator may use Coffer's admin routes.")
		return
	}
	path := r.URL.EscapedPath()
	switch {
	case path == "/admin/principals":
		switch r.Method {
		case http.MethodGet:
			s.listPrincipals(w, r)
		case http.MethodPost:
			s.createPrincipal(w, r, p)
		default:
			w.Header().Set("Allow", "GET, POST")
			writeARMError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Use GET to list the principals or POST {\"name\": \"N\"} to create one.")
		}
		return
	case strings.HasPrefix(path, "/admin/principals/"):
		oid := strings.TrimPrefix(path, "/admin/principals/")
		if oid != "" && !strings.Contains(oid, "/") {
			if r.Method != http.MethodDelete {
				w.Header().Set("Allow", "DELETE")
				writeARMError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Use DELETE /admin/principals/{objectId} to delete a principal.")
				return
			}
			s.deletePrincipal(w, r, p, oid)
			return
		}
	}
	writeARMError(w, http.StatusNotFound, "NotFound", "Coffer has no admin route at "+r.URL.Path+".")
}

// principalJSON is a principal as GET /admin/principals lists it: never a secret.
type principalJSON struct {
	ObjectID string `json:"objectId"`
	ClientID string `json:"clientId"`
	Name     string `json:"name"`
	Admin    bool   `json:"admin"`
}

func (s *Server) listPrincipals(w http.ResponseWriter, r *http.Request) {
	ps, err := s.id.ListPrincipals(r.Context())
	if err != nil {
		s.log.Error("list principals", "err", err)
		writeARMError(w, http.StatusInternalServerError, "InternalError", "The principals could not be read.")
		return
	}
	out := struct {
		Value []principalJSON `json:"value"`
	}{Value: make([]principalJSON, 0, len(ps))}
	for _, p := range ps {
		out.Value = append(out.Value, principalJSON{ObjectID: p.ObjectID, ClientID: p.ClientID, Name: p.Name, Admin: p.Admin})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createPrincipal(w http.ResponseWriter, r *http.Request, caller identity.Principal) {
	var in struct {
		Name *string `json:"name"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	if err == nil && in.Name == nil {
		err = errors.New("no name")
	}
	if err != nil {
		writeARMError(w, http.StatusBadRequest, "BadRequest", `The body must be {"name": "N"}, N the new principal's display name.`)
		return
	}
	ev := s.adminEvent(caller, r, "PrincipalCreate", "")
	if !s.auditRequest(w, r.Context(), ev) {
		return
	}
	creds, p, err := s.id.CreatePrincipal(r.Context(), *in.Name)
	switch {
	case errors.Is(err, identity.ErrInvalidName):
		s.auditOutcome(r.Context(), ev, http.StatusBadRequest, "")
		writeARMError(w, http.StatusBadRequest, "BadRequest", "The principal name must be 1 to 128 characters with no control characters.")
		return
	case err != nil:
		s.log.Error("create principal", "err", err)
		s.auditOutcome(r.Context(), ev, http.StatusInternalServerError, "")
		writeARMError(w, http.StatusInternalServerError, "InternalError", "The principal could not be created.")
		return
	}
	s.auditOutcome(r.Context(), ev, http.StatusCreated, p.ObjectID)
	s.log.Info("principal created", "name", p.Name, "objectId", p.ObjectID, "clientId", p.ClientID)
	writeJSON(w, http.StatusCreated, creds)
}

func (s *Server) deletePrincipal(w http.ResponseWriter, r *http.Request, caller identity.Principal, objectID string) {
	ev := s.adminEvent(caller, r, "PrincipalDelete", objectID)
	if !s.auditRequest(w, r.Context(), ev) {
		return
	}
	err := s.id.DeletePrincipal(r.Context(), objectID)
	switch {
	case errors.Is(err, identity.ErrPrincipalNotFound):
		s.auditOutcome(r.Context(), ev, http.StatusNotFound, "")
		writeARMError(w, http.StatusNotFound, "PrincipalNotFound", "No principal has the object id "+quoteID(objectID)+".")
		return
	case errors.Is(err, identity.ErrAdminPrincipal):
		s.auditOutcome(r.Context(), ev, http.StatusConflict, "")
		writeARMError(w, http.StatusConflict, "Conflict", "The administrator principal cannot be deleted.")
		return
	case err != nil:
		s.log.Error("delete principal", "err", err)
		s.auditOutcome(r.Context(), ev, http.StatusInternalServerError, "")
		writeARMError(w, http.StatusInternalServerError, "InternalError", "The principal could not be deleted.")
		return
	}
	s.auditOutcome(r.Context(), ev, http.StatusNoContent, "")
	s.log.Info("principal deleted", "objectId", objectID)
	w.WriteHeader(http.StatusNoContent)
}

// quoteID shows a client-sent id in a message, bounded and quoted.
func quoteID(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeARMError(w, http.StatusInternalServerError, "InternalError", "The answer could not be encoded.")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// adminEvent starts the audit record of an admin mutation. It names ids, never a secret.
func (s *Server) adminEvent(p identity.Principal, r *http.Request, op, objectID string) audit.Event {
	id := r.Header.Get("x-ms-client-request-id")
	if _, err := uuid.Parse(id); err != nil {
		id = uuid.NewString()
	}
	return audit.Event{
		RequestID: id,
		Principal: audit.Principal{TenantID: p.TenantID, ClientID: p.ClientID, ObjectID: p.ObjectID},
		Source:    r.RemoteAddr,
		Operation: op,
		ObjectID:  objectID,
	}
}

// auditRequest writes the request record of a mutation before the change; when it
// cannot be written the request is refused (500) and nothing changes.
func (s *Server) auditRequest(w http.ResponseWriter, ctx context.Context, ev audit.Event) bool {
	if s.cfg.Audit == nil {
		return true
	}
	ev.Time, ev.Phase, ev.Decision = s.cfg.Clock.Now().UTC(), "request", "allowed: administrator"
	if err := s.cfg.Audit.Record(ctx, ev); err != nil {
		s.log.Error("audit record", "err", err, "operation", ev.Operation)
		writeARMError(w, http.StatusInternalServerError, "InternalError", "The request could not be audited, so nothing was changed.")
		return false
	}
	return true
}

func (s *Server) auditOutcome(ctx context.Context, ev audit.Event, status int, objectID string) {
	if s.cfg.Audit == nil {
		return
	}
	if objectID != "" {
		ev.ObjectID = objectID
	}
	ev.Time, ev.Phase, ev.Status = s.cfg.Clock.Now().UTC(), "outcome", status
	if err := s.cfg.Audit.Record(ctx, ev); err != nil {
		s.log.Error("audit record", "err", err, "operation", ev.Operation)
	}
}
