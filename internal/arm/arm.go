// Package arm is the Azure Resource Manager surface of Coffer: Microsoft.KeyVault vaults,
// deleted vaults, purge, access policies, name checks, the few generic ARM endpoints
// (subscriptions, tenants, resource groups, /resources, the resource provider
// documents) that armkeyvault and the az CLI call, and the two Microsoft Graph reads of
// az's Graph stand-in. It decodes ARM wire JSON, calls the vault domain, and encodes ARM
// answers; the vault lifecycle rules (one-way settings, soft delete, recover, purge,
// purge protection, name reservation) live in vault. It must not import server, azapi,
// identity, barrier or a storage backend: it is served through the plane adapter (package
// plane), which has authenticated every request before [API.Serve] sees it.
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

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/storage"
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
	// Directory lets the Graph stand-in find principals other than the caller, and role
	// assignments check the principals they name; nil → only the caller's own client id
	// is found, and no principal can be assigned a role.
	Directory Directory
	// RBAC holds the role definitions and assignments (Microsoft.Authorization) and
	// decides with them; nil → Microsoft.Authorization is not served.
	RBAC *rbac.Service
}

// Directory finds principals. found is false for an unknown id; err is for failures
// only.
type Directory interface {
	// ObjectID finds a principal's object id by its client (application) id.
	ObjectID(ctx context.Context, clientID string) (objectID string, found bool, err error)
	// Lookup finds a principal by its object id.
	Lookup(ctx context.Context, objectID string) (e DirectoryEntry, found bool, err error)
}

// DirectoryEntry is a principal as the directory knows it.
type DirectoryEntry struct {
	ObjectID, ClientID, Name string
}

// Caller is the authenticated principal of an ARM request.
type Caller struct {
	TenantID, ClientID, ObjectID string
	Admin                        bool

	vaults vault.Request // the vault domain acting as this caller (set by Serve)
	call   *plane.Call   // the request's outcome record and request record
	// view is the role assignments this request is decided on, read once (allow);
	// filtered: a list shows only the items the caller may read (listOnly).
	view     *viewRef
	filtered bool
}

// viewRef holds the request's view of the role assignments once it is read.
type viewRef struct{ v *rbac.View }

// who is the caller as records name it: the object id, else the client id.
func (c Caller) who() string {
	if c.ObjectID != "" {
		return c.ObjectID
	}
	return c.ClientID
}

// API serves the management plane.
type API struct {
	opts Options
	log  *slog.Logger
}

// New returns the management plane.
func New(opts Options) *API {
	a := &API{opts: opts, log: opts.Log}
	if a.log == nil {
		a.log = slog.Default()
	}
	return a
}

// Serve answers one management-plane request (a plane.Handler: the plane has
// authenticated it with an ARM-audience token).
func (a *API) Serve(w http.ResponseWriter, r *http.Request, pc *plane.Call) error {
	c := a.caller(pc)
	ev := pc.Event
	segs, err := segments(r.URL.EscapedPath())
	if err != nil {
		return err
	}
	rt, p, isAuthz, err := matchAuthorization(r.Method, segs)
	if err != nil {
		return err
	}
	if !isAuthz {
		if rt, p, err = match(r.Method, segs); err != nil {
			return err
		}
		ev.Vault = p["name"] // {name} is a vault's name wherever a route has it
	}
	ev.Operation = rt.action
	switch {
	case c.Admin:
		ev.Decision = "allowed: administrator"
	case rt.open:
		ev.Decision = "allowed: open to every principal"
	case rt.selfDecides:
		// decided by the handler, on what the request names
	case isAuthz:
		if err := a.allow(r, c, rt.action, p["scope"], ""); err != nil {
			return err
		}
	case a.opts.RBAC == nil:
		ev.Decision = "denied: only the administrator may use the management plane"
		return &armError{http.StatusForbidden, "AuthorizationFailed",
			"The client '" + c.ClientID + "' with object id '" + c.ObjectID + "' does not have authorization to perform action '" +
				rt.action + "' over scope '" + echo(r.URL.Path) + "' or the scope is invalid. In Coffer only the administrator " +
				"(the principal of bootstrap-credentials.json) may use the management plane; other principals use a vault's " +
				"data plane through its access policies."}
	default:
		// Decided by the caller's role assignments, at the resource the path names. A
		// list the caller may not read as a whole shows what it may read of it, as
		// Resource Manager filters a collection.
		err := a.allow(r, c, rt.action, rt.scopeOf(p), "")
		var ae *armError
		if rt.filtered && errors.As(err, &ae) && ae.status == http.StatusForbidden {
			c.filtered = true
			ev.Decision = "allowed: a list, filtered to what the caller's role assignments let it read"
			err = nil
		}
		if err != nil {
			return err
		}
	}
	if err := checkAPIVersion(rt.api, r.URL.Query()); err != nil {
		return err
	}
	if rt.method != http.MethodGet && !rt.selfDecides {
		if err := pc.BeforeChange(r.Context()); err != nil {
			return err
		}
	}
	return rt.handle(a, w, r, p, c)
}

// caller is the request's principal with the vault domain acting as it. The plane
// decides access before routing (it admits the administrator only), so the domain may
// act on every vault; it records who acted.
func (a *API) caller(pc *plane.Call) Caller {
	p := pc.Principal
	who := p.ObjectID
	if who == "" {
		who = p.ClientID
	}
	return Caller{TenantID: p.TenantID, ClientID: p.ClientID, ObjectID: p.ObjectID, Admin: p.Admin, call: pc, view: &viewRef{},
		vaults: a.opts.Vaults.As(vault.Actor{Principal: who, ClientID: p.ClientID, RequestID: pc.Event.RequestID}, nil)}
}

// Render is the management plane's error table for the plane adapter: its own answers
// as they are, the vault domain's errors as ARM words them (errors.go).
func (a *API) Render(r *http.Request, requestID string, err error) *plane.Error {
	if errors.Is(err, storage.ErrBusy) {
		// Conflicting writers (several servers on PostgreSQL): nothing was written;
		// azcore retries a 503 after Retry-After.
		return &plane.Error{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", RetryAfter: "1",
			Message: "The vault service is busy with conflicting changes; nothing was changed. Retry the request."}
	}
	if errors.Is(err, storage.ErrUnavailable) {
		// A full disk, a database restarting: nothing was written; the server's log
		// says which, and the storage carries on by itself once it passes.
		return &plane.Error{Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable", RetryAfter: plane.RetryAfterUnavailable,
			Message: "The vault service's storage cannot take this request for now; nothing was changed. Retry the request later."}
	}
	var ae *armError
	if !errors.As(err, &ae) {
		ae = a.fromDomain(r, requestID, err)
	}
	return &plane.Error{Status: ae.status, Code: ae.code, Message: ae.msg}
}

// lower is the case-insensitive form of a name, location or id.
func lower(s string) string { return strings.ToLower(s) }

// sameLocation compares ARM locations as ARM does: "West US" is "westus".
func sameLocation(a, b string) bool {
	norm := func(s string) string { return strings.ReplaceAll(lower(s), " ", "") }
	return norm(a) == norm(b)
}
