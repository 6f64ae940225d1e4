// Package plane is the one HTTP adapter every plane of Coffer is served through: the
// Azure Key Vault data plane (azapi), the management plane (arm), the Graph stand-in and
// Coffer's own administration routes (admin). It holds what they must all do the same
// way, so that each plane is only a route table and its handlers:
//
//   - authenticate first: a bearer token checked by the plane's Verify, or the plane's own
//     401 answer and a "denied" outcome record, before any routing or body check;
//   - give every request an id (x-ms-request-id) and exactly one outcome record in the
//     audit log, with the status the client got;
//   - the fail-closed rule: a change writes its request record (Call.BeforeChange) before
//     it changes anything, and is refused with 503 when the record cannot be written;
//   - handlers return errors; one place renders them, through the plane's own error table
//     (Render), in Azure's error shape.
//
// Start reading at [Plane.Serve]. plane knows no tokens and no vaults: the server hands
// each plane a Verify function, and the planes hand it their error tables.
package plane

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/audit"
	"github.com/coffer/coffer/internal/clock"
)

// Principal is who an authenticated request comes from.
type Principal struct {
	TenantID, ClientID, ObjectID string
	Admin                        bool // the bootstrap administrator
}

// Audit is the principal as the audit log records it.
func (p Principal) Audit() audit.Principal {
	return audit.Principal{TenantID: p.TenantID, ClientID: p.ClientID, ObjectID: p.ObjectID}
}

// Error is an answer in Azure's error shape: {"error":{"code","message"[,"innererror"]}}.
// Handlers return one for what the client got wrong; any other error goes through the
// plane's Render.
type Error struct {
	Status  int
	Code    string
	Inner   string // innererror.code, when the plane has one
	Message string
	// RetryAfter, when set, is sent as Retry-After (seconds): azcore retries 429 and 503
	// after it.
	RetryAfter string
}

func (e *Error) Error() string { return strconv.Itoa(e.Status) + " " + e.Code + ": " + e.Message }

// RetryAfterUnavailable is the Retry-After (seconds) of a 503 for a condition that
// passes without the client's help but not within a second — a full disk under the
// storage or the audit log: azcore waits this long before each of its retries.
const RetryAfterUnavailable = "5"

// errAuditDown refuses a change whose request record could not be written.
var errAuditDown = &Error{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", RetryAfter: RetryAfterUnavailable,
	Message: "The audit log cannot be written, so no change is allowed; nothing was changed. Retry the request later."}

// Config is what a plane brings to the adapter.
type Config struct {
	// Name is the plane's name in logs.
	Name string
	// Verify checks a bearer token (without "Bearer ") for this plane. An error means
	// the request is not authenticated; nil Verify serves requests without a token (the
	// Principal is then the zero value).
	Verify func(ctx context.Context, token string) (Principal, error)
	// Unauthorized writes the plane's 401 answer.
	Unauthorized func(w http.ResponseWriter, r *http.Request)
	// Denied is the decision recorded for a request without a valid token.
	Denied string
	// Render maps an error that is not an *Error to one (the plane's domain error
	// table); nil or a nil result is a 500 whose details go to the log only.
	Render func(r *http.Request, requestID string, err error) *Error
	// Header is set on every error answer (e.g. the data plane's Cache-Control).
	Header http.Header
	Audit  audit.Sink
	Clock  clock.Clock // request times and durations; nil → the real clock
	Log    *slog.Logger
}

// Plane serves requests through one Config.
type Plane struct{ cfg Config }

// New returns the adapter for cfg.
func New(cfg Config) *Plane {
	if cfg.Audit == nil {
		cfg.Audit = audit.Discard{}
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Plane{cfg: cfg}
}

// Call is one authenticated request: who makes it, and the outcome record its handler
// fills in (Operation, Vault, ObjectID, Decision).
type Call struct {
	Principal Principal
	Event     *audit.Event
	plane     *Plane
}

// BeforeChange writes the request record of a change. The handler must call it after
// deciding access and before changing anything; an error (503) must end the request.
func (c *Call) BeforeChange(ctx context.Context) error { return c.before(ctx, false) }

// BeforeStoredChange is BeforeChange for a change that the storage alone makes (every
// effect of the request is in a storage transaction that follows): where the audit log
// shares the storage's durable writes, the record is durable with that transaction
// rather than by a sync of its own (audit.Event.Stored). A request whose effect leaves
// the server otherwise (a snapshot, an export, a link) uses BeforeChange.
func (c *Call) BeforeStoredChange(ctx context.Context) error { return c.before(ctx, true) }

func (c *Call) before(ctx context.Context, stored bool) error {
	ev := *c.Event
	ev.Time, ev.Phase, ev.Stored = c.plane.cfg.Clock.Now().UTC(), "request", stored
	if err := c.plane.cfg.Audit.Record(ctx, ev); err != nil {
		c.plane.cfg.Log.Error("audit request record failed; refusing the change", "plane", c.plane.cfg.Name,
			"requestId", ev.RequestID, "operation", ev.Operation, "err", err)
		return errAuditDown
	}
	return nil
}

// Handler serves one authenticated request. An error it returns is rendered by the plane
// (nothing may have been written to w then).
type Handler func(w http.ResponseWriter, r *http.Request, c *Call) error

// Serve authenticates r, runs h and writes the outcome record.
func (p *Plane) Serve(w http.ResponseWriter, r *http.Request, h Handler) {
	start := p.cfg.Clock.Now()
	ev := &audit.Event{RequestID: uuid.NewString(), Source: r.RemoteAddr}
	w.Header()["X-Ms-Request-Id"] = []string{ev.RequestID}
	sw := &StatusWriter{ResponseWriter: w}
	c := &Call{Event: ev, plane: p}
	if p.cfg.Verify != nil {
		tok, ok := Bearer(r)
		var err error
		if ok {
			c.Principal, err = p.cfg.Verify(r.Context(), tok)
		}
		if !ok || err != nil {
			ev.Operation, ev.Decision = "Authenticate", p.cfg.Denied
			p.cfg.Unauthorized(sw, r)
			p.outcome(r, ev, sw, start)
			return
		}
		ev.Principal = c.Principal.Audit()
	}
	if err := h(sw, r, c); err != nil {
		p.writeError(sw, r, ev.RequestID, err)
	}
	p.outcome(r, ev, sw, start)
}

func (p *Plane) outcome(r *http.Request, ev *audit.Event, sw *StatusWriter, start time.Time) {
	end := p.cfg.Clock.Now()
	ev.Time, ev.Phase, ev.Status, ev.Duration = end.UTC(), "outcome", sw.Code(), end.Sub(start)
	if err := p.cfg.Audit.Record(r.Context(), *ev); err != nil {
		p.cfg.Log.Error("audit outcome record failed", "plane", p.cfg.Name, "requestId", ev.RequestID, "err", err)
	}
}

// writeError renders err: an *Error as it is, anything else through the plane's table,
// and what no table knows as a 500 that names the request id (the log has the rest).
func (p *Plane) writeError(w http.ResponseWriter, r *http.Request, requestID string, err error) {
	var e *Error
	if !errors.As(err, &e) && p.cfg.Render != nil {
		e = p.cfg.Render(r, requestID, err)
	}
	if e == nil {
		p.cfg.Log.Error("request failed", "plane", p.cfg.Name, "requestId", requestID, "method", r.Method, "path", r.URL.Path, "err", err)
		e = &Error{Status: http.StatusInternalServerError, Code: "InternalError",
			Message: "The server failed to carry out the request; nothing was changed. Request id " + requestID + "."}
	}
	for k, v := range p.cfg.Header {
		w.Header()[k] = v
	}
	WriteError(w, e)
}

// WriteError writes e in Azure's error shape with the x-ms-error-code header.
func WriteError(w http.ResponseWriter, e *Error) {
	type inner struct {
		Code string `json:"code"`
	}
	body := struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError *inner `json:"innererror,omitempty"`
		} `json:"error"`
	}{}
	body.Error.Code, body.Error.Message = e.Code, e.Message
	if e.Inner != "" {
		body.Error.InnerError = &inner{Code: e.Inner}
	}
	b, _ := json.Marshal(body)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("x-ms-error-code", e.Code)
	if e.RetryAfter != "" {
		h.Set("Retry-After", e.RetryAfter)
	}
	w.WriteHeader(e.Status)
	w.Write(b) // a failed write means the client went away: nothing left to answer
}

// WriteJSON answers v as JSON with status. An error means v could not be encoded and
// nothing was written; a failed write means the client went away and is not reported.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
	return nil
}

// Bearer returns the token of an "Authorization: Bearer …" header.
func Bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", false
}

// StatusWriter remembers the status of the answer, for the outcome record.
type StatusWriter struct {
	http.ResponseWriter
	status int
}

func (w *StatusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the writer underneath (write deadlines, flushes).
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Code is the status sent, 200 when the handler wrote nothing.
func (w *StatusWriter) Code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
