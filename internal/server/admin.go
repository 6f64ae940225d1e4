package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/audit"
	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/storage"
)

// maxAdminBody bounds the body of an admin request: a principal name is at most 128
// characters, 12 bytes each when JSON-escaped as a surrogate pair.
const maxAdminBody = 16 << 10

// adminAudited serves an admin request and writes its outcome record (one per request,
// with the status it got); serve fills in the principal, operation and decision, and a
// change writes its request record itself (auditRequest) before it changes anything.
func (s *Server) adminAudited(w http.ResponseWriter, r *http.Request, op string, serve func(http.ResponseWriter, *http.Request, *audit.Event)) {
	start := s.cfg.Clock.Now()
	ev := &audit.Event{RequestID: requestID(r), Source: r.RemoteAddr, Operation: op}
	if ev.Operation == "" {
		ev.Operation = adminOperation(r.Method, r.URL.EscapedPath())
	}
	w.Header()["X-Ms-Request-Id"] = []string{ev.RequestID}
	sw := &statusWriter{ResponseWriter: w}
	serve(sw, r, ev)
	end := s.cfg.Clock.Now()
	ev.Time, ev.Phase, ev.Status, ev.Duration = end.UTC(), "outcome", sw.code(), end.Sub(start)
	if err := s.auditAdmin.Record(r.Context(), *ev); err != nil {
		s.log.Error("audit outcome record failed", "requestId", ev.RequestID, "err", err)
	}
}

// adminOperation names an admin route for the audit log and metrics.
func adminOperation(method, path string) string {
	if op := webhookOperation(method, path); op != "" {
		return op
	}
	switch {
	case path == "/admin/principals" && method == http.MethodGet:
		return "PrincipalList"
	case path == "/admin/principals" && method == http.MethodPost:
		return "PrincipalCreate"
	case strings.HasPrefix(path, "/admin/principals/") && method == http.MethodDelete:
		return "PrincipalDelete"
	case path == "/admin/ledger":
		return "LedgerList"
	case path == "/admin/ledger/verify":
		return "LedgerVerify"
	}
	return "AdminUnknown"
}

// serveAdmin answers Coffer's own /admin/... routes (interface.md §3) other than the
// time shift: ARM-audience token of the administrator unless a route says otherwise.
// Paths are matched exactly as sent, never cleaned or redirected.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request, ev *audit.Event) {
	p, ok := s.authARM(w, r)
	if !ok {
		ev.Decision = "denied: no valid management-plane token"
		return
	}
	ev.Principal = auditPrincipal(p)
	if !p.Admin {
		ev.Decision = "denied: only the administrator may use the admin routes"
		writeARMError(w, http.StatusForbidden, "Forbidden", "Only the administrator may use Coffer's admin routes.")
		return
	}
	ev.Decision = "allowed: administrator"
	path := r.URL.EscapedPath()
	switch {
	case path == "/admin/ledger":
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", "GET")
			writeARMError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Use GET /admin/ledger[?vault=V][&name=N] to read the deletion ledger.")
			return
		}
		s.listLedger(w, r)
		return
	case path == "/admin/ledger/verify":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			writeARMError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Use POST /admin/ledger/verify to check the ledger's hash chain.")
			return
		}
		s.verifyLedger(w, r)
		return
	case path == "/admin/webhooks" || strings.HasPrefix(path, "/admin/webhooks/"):
		if s.serveWebhooks(w, r, ev, path) { // webhooks.go
			return
		}
	case path == "/admin/principals":
		switch r.Method {
		case http.MethodGet:
			s.listPrincipals(w, r)
		case http.MethodPost:
			s.createPrincipal(w, r, ev)
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
			s.deletePrincipal(w, r, ev, oid)
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

func (s *Server) createPrincipal(w http.ResponseWriter, r *http.Request, ev *audit.Event) {
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
	if !s.auditRequest(w, r.Context(), *ev) {
		return
	}
	creds, p, err := s.id.CreatePrincipal(r.Context(), *in.Name)
	switch {
	case errors.Is(err, identity.ErrInvalidName):
		writeARMError(w, http.StatusBadRequest, "BadRequest", "The principal name must be 1 to 128 characters with no control characters.")
		return
	case err != nil:
		s.log.Error("create principal", "err", err)
		writeARMError(w, http.StatusInternalServerError, "InternalError", "The principal could not be created.")
		return
	}
	ev.ObjectID = "principals/" + p.ObjectID
	s.log.Info("principal created", "name", p.Name, "objectId", p.ObjectID, "clientId", p.ClientID)
	writeJSON(w, http.StatusCreated, creds)
}

func (s *Server) deletePrincipal(w http.ResponseWriter, r *http.Request, ev *audit.Event, objectID string) {
	ev.ObjectID = "principals/" + quoteID(objectID)
	if _, err := uuid.Parse(objectID); err == nil {
		ev.ObjectID = "principals/" + objectID
	}
	if !s.auditRequest(w, r.Context(), *ev) {
		return
	}
	err := s.id.DeletePrincipal(r.Context(), objectID)
	switch {
	case errors.Is(err, identity.ErrPrincipalNotFound):
		writeARMError(w, http.StatusNotFound, "PrincipalNotFound", "No principal has the object id "+quoteID(objectID)+".")
		return
	case errors.Is(err, identity.ErrAdminPrincipal):
		writeARMError(w, http.StatusConflict, "Conflict", "The administrator principal cannot be deleted.")
		return
	case err != nil:
		s.log.Error("delete principal", "err", err)
		writeARMError(w, http.StatusInternalServerError, "InternalError", "The principal could not be deleted.")
		return
	}
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

// auditRequest writes the request record of an admin change before the change; when
// it cannot be written the request is refused (503, as on the planes) and nothing
// changes.
func (s *Server) auditRequest(w http.ResponseWriter, ctx context.Context, ev audit.Event) bool {
	ev.Time, ev.Phase = s.cfg.Clock.Now().UTC(), "request"
	if err := s.auditAdmin.Record(ctx, ev); err != nil {
		s.log.Error("audit request record failed; refusing the change", "requestId", ev.RequestID, "operation", ev.Operation, "err", err)
		writeARMError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "The audit log cannot be written, so no change is allowed; nothing was changed.")
		return false
	}
	return true
}

// ledgerPage bounds GET /admin/ledger; nextLink fetches the rest.
const ledgerPage = 1000

// listLedger answers GET /admin/ledger[?vault=V][&name=N][&kind=K][&after=SEQ]: the
// deletion ledger's entries in order, {"value":[…],"nextLink":…}.
func (s *Server) listLedger(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := ledger.Filter{Vault: q.Get("vault"), Name: q.Get("name"), Kind: q.Get("kind"), Limit: ledgerPage}
	if a := q.Get("after"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n < 0 {
			writeARMError(w, http.StatusBadRequest, "BadRequest", "after must be a ledger sequence number (a whole number).")
			return
		}
		f.After = n
	}
	var out struct {
		Value    []ledger.Entry `json:"value"`
		NextLink string         `json:"nextLink,omitempty"`
	}
	var next int64
	err := s.vaults.Ledger(r.Context(), func(tx storage.Tx) error {
		var err error
		out.Value, next, err = ledger.List(tx, f)
		return err
	})
	if err != nil {
		s.log.Error("read the ledger", "err", err)
		writeARMError(w, http.StatusInternalServerError, "InternalError", "The ledger could not be read.")
		return
	}
	if next > 0 {
		q.Set("after", strconv.FormatInt(next, 10))
		out.NextLink = s.publicURL.String() + "/admin/ledger?" + q.Encode()
	}
	writeJSON(w, http.StatusOK, out)
}

// verifyLedger answers POST /admin/ledger/verify: it walks the hash chain and checks
// it against the head last copied into the audit log and against the anchors in the
// optional body ({"anchors":[{"seq":N,"hash":"…"}]}, e.g. taken from the audit log's
// LedgerCheckpoint records). 200 {"ok":true,"count":N,…}; 409 with what broke; 500 when
// the ledger cannot be read.
func (s *Server) verifyLedger(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Anchors []ledger.Anchor `json:"anchors"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		err = json.Unmarshal(body, &in)
	}
	if err != nil {
		writeARMError(w, http.StatusBadRequest, "BadRequest", `The body must be empty or {"anchors":[{"seq":N,"hash":"…"}]}.`)
		return
	}
	anchors := in.Anchors
	if a := s.anchor.Load(); a != nil {
		anchors = append(anchors, *a)
	}
	if s.startAnchor != nil {
		anchors = append(anchors, *s.startAnchor)
	}
	var res ledger.Result
	var verr error
	err = s.vaults.Ledger(r.Context(), func(tx storage.Tx) error {
		res, verr = ledger.Verify(tx, anchors...)
		return nil
	})
	var te *ledger.TamperError
	switch {
	case err == nil && verr == nil:
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "count": res.Count, "head": res.Head, "checkpoint": res.Checkpoint, "anchorsChecked": len(anchors)})
	case errors.As(verr, &te):
		s.log.Error("the deletion ledger failed verification", "seq", te.Seq, "problem", te.Problem)
		writeJSON(w, http.StatusConflict, map[string]any{"ok": false, "count": res.Count, "head": res.Head, "brokenAt": te.Seq, "problem": te.Problem,
			"error": map[string]string{"code": "LedgerTampered", "message": te.Error()}})
	default:
		if err == nil {
			err = verr
		}
		s.log.Error("verify the ledger", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]any{"ok": false,
			"error": map[string]string{"code": "InternalError", "message": "The ledger could not be read, so it was not verified."}})
	}
}
