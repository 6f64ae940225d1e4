// Package arm is the Azure Resource Manager surface of Coffer: Microsoft.KeyVault vaults,
// deleted vaults, purge, access policies, name checks, the few generic ARM endpoints
// (subscriptions, tenants, resource groups, /resources, the resource provider
// documents) that armkeyvault and the az CLI call, and the two Microsoft Graph reads of
// az's Graph stand-in. It decodes ARM wire JSON, calls the vault domain, and encodes ARM
// answers; the vault lifecycle rules (one-way settings, soft delete, recover, purge,
// purge protection, name reservation) live in vault. It must not import server, azapi,
// identity, barrier or a storage backend: the server authenticates every request and
// hands [API.Serve] the [Caller].
//
// # Who may call
//
// Only the administrator (the principal of bootstrap-credentials.json) manages vaults:
// every Microsoft.KeyVault route and every read of Coffer's subscriptions, groups and
// resources answers any other principal 403 AuthorizationFailed. Other principals get
// rights on a vault's data plane through that vault's access policies, never on the
// management plane, which has no role assignments. Two reads are open to every
// authenticated principal, because `az login` needs them to finish: GET /subscriptions
// (which then lists the default subscription only) and GET /tenants. On the Graph
// stand-in ([API.ServeGraph]) a principal may look up itself; the administrator may look
// up anyone.
//
// # Request order
//
// Path (case-insensitive literals, as in ARM) → method → caller → api-version → body.
// Microsoft.KeyVault routes accept any YYYY-MM-DD (optionally -preview) from 2022-07-01 on;
// the generic routes any well-formed date. Errors have the ARM shape
// {"error":{"code","message"}} and an x-ms-error-code header; a client's mistake is a
// 4xx, and a failure inside Coffer a 500 with a fixed message (details only logged).
//
// # Synchronous
//
// Every change is done when the answer is sent: a vault PUT answers 201 or 200 with
// provisioningState Succeeded and no polling header. A purge answers 202 with the
// absolute Location of an operation URL (and Retry-After: 1), as Azure does; that URL
// answers 200 at once, because the purge is already done. The operation id carries its
// outcome, so any server sharing the storage answers it.
//
// # Audit
//
// Every request gets an x-ms-request-id and an outcome record in [Options.Audit]; a
// change (any method but GET) also gets a request record after the caller and the
// api-version are checked and before anything changes. If that record cannot be
// written the change is refused with 503 and nothing changes.
package arm

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/audit"
	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/vault"
)

// DefaultSubscription is the subscription of the default vault, listed first by
// GET /subscriptions.
const DefaultSubscription = "c0ffe000-0000-4000-8000-000000000000"

// DefaultSubscriptionName is the display name of [DefaultSubscription].
const DefaultSubscriptionName = "Coffer"

// Options configure the management plane.
type Options struct {
	Vaults      *vault.Service
	PublicURL   *url.URL // vaultUri and other absolute URLs are built from it
	VaultDomain string
	TenantID    string
	Clock       clock.Clock // the vault clock (ARM dates)
	Log         *slog.Logger
	Audit       audit.Sink // nil: audit.Discard
	// Directory lets the Graph stand-in find principals other than the caller; nil →
	// only the caller's own client id is found.
	Directory Directory
}

// Directory finds a principal's object id by its client (application) id. found is
// false for an unknown client id; err is for failures only.
type Directory interface {
	ObjectID(ctx context.Context, clientID string) (objectID string, found bool, err error)
}

// Caller is the authenticated principal of an ARM request.
type Caller struct {
	TenantID, ClientID, ObjectID string
	Admin                        bool

	vaults vault.Request // the vault domain acting as this caller (set by Serve)
}

// API serves the management plane.
type API struct {
	opts  Options
	log   *slog.Logger
	audit audit.Sink
	real  clock.Clock // audit times and durations: the real clock, never the shifted one
}

// New returns the management plane.
func New(opts Options) *API {
	a := &API{opts: opts, log: opts.Log, audit: opts.Audit, real: clock.Real{}}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.audit == nil {
		a.audit = audit.Discard{}
	}
	return a
}

// Serve answers one management-plane request; the server has authenticated it with an
// ARM-audience token.
func (a *API) Serve(w http.ResponseWriter, r *http.Request, c Caller) {
	a.audited(w, r, c, func(w http.ResponseWriter, ev *audit.Event) error {
		who := c.ObjectID
		if who == "" {
			who = c.ClientID
		}
		// The plane decided access before routing (it admits the administrator only), so
		// the domain acts for the caller on every vault, recording who acted.
		c.vaults = a.opts.Vaults.As(vault.Actor{Principal: who, ClientID: c.ClientID, RequestID: ev.RequestID}, nil)
		return a.serve(w, r, c, ev)
	})
}

func (a *API) audited(w http.ResponseWriter, r *http.Request, c Caller, serve func(http.ResponseWriter, *audit.Event) error) {
	start := a.real.Now()
	reqID := uuid.NewString()
	w.Header()["X-Ms-Request-Id"] = []string{reqID}
	ev := audit.Event{RequestID: reqID, Principal: audit.Principal{TenantID: c.TenantID, ClientID: c.ClientID, ObjectID: c.ObjectID}, Source: r.RemoteAddr}
	sw := &statusWriter{ResponseWriter: w}
	if err := serve(sw, &ev); err != nil {
		var ae *armError
		if !errors.As(err, &ae) {
			ae = a.fromDomain(r, reqID, err)
		}
		writeError(sw, ae.status, ae.code, ae.msg)
	}
	end := a.real.Now()
	ev.Time, ev.Phase, ev.Status, ev.Duration = end, "outcome", sw.status, end.Sub(start)
	if err := a.audit.Record(r.Context(), ev); err != nil {
		a.log.Error("audit outcome record failed", "requestId", reqID, "err", err)
	}
}

func (a *API) serve(w http.ResponseWriter, r *http.Request, c Caller, ev *audit.Event) error {
	segs, err := segments(r.URL.EscapedPath())
	if err != nil {
		return err
	}
	rt, p, err := match(r.Method, segs)
	if err != nil {
		return err
	}
	ev.Operation = rt.action
	ev.Vault = p["name"] // {name} is a vault's name wherever a route has it
	switch {
	case c.Admin:
		ev.Decision = "allowed: administrator"
	case rt.open:
		ev.Decision = "allowed: open to every principal"
	default:
		ev.Decision = "denied: only the administrator may use the management plane"
		return &armError{http.StatusForbidden, "AuthorizationFailed",
			"The client '" + c.ClientID + "' with object id '" + c.ObjectID + "' does not have authorization to perform action '" +
				rt.action + "' over scope '" + r.URL.Path + "' or the scope is invalid. In Coffer only the administrator " +
				"(the principal of bootstrap-credentials.json) may use the management plane; other principals use a vault's " +
				"data plane through its access policies."}
	}
	if err := checkAPIVersion(rt.api, r.URL.Query()); err != nil {
		return err
	}
	if rt.method != http.MethodGet {
		ev.Time, ev.Phase = a.real.Now(), "request"
		if err := a.audit.Record(r.Context(), *ev); err != nil {
			a.log.Error("audit request record failed; refusing the change", "requestId", ev.RequestID, "err", err)
			return &armError{http.StatusServiceUnavailable, "ServiceUnavailable", "The audit log cannot be written, so no change is allowed; nothing was changed."}
		}
	}
	return rt.handle(a, w, r, p, c)
}

// statusWriter remembers the status of the answer, for the outcome record.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// lower is the case-insensitive form of a name, location or id.
func lower(s string) string { return strings.ToLower(s) }

// sameLocation compares ARM locations as ARM does: "West US" is "westus".
func sameLocation(a, b string) bool {
	norm := func(s string) string { return strings.ReplaceAll(lower(s), " ", "") }
	return norm(a) == norm(b)
}
