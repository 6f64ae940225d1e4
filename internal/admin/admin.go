// Package admin is Coffer's own administration plane: the /admin/… routes that Azure has
// no equivalent for — principals, the recycle bin across every vault, the deletion
// ledger, purge-warning webhooks and the test-only time shift. It is a route table
// ([routes]) served through the shared plane adapter (package plane), which has already
// authenticated the request with a management-plane token; every route but the recycle
// bin is for the administrator only.
//
// Start reading at [Admin.Serve] and the route table below it. GET /admin/snapshot, an
// online snapshot of the whole storage streamed to the administrator, is in snapshot.go.
package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/vault"
	"github.com/coffer/coffer/internal/wiretext"
)

// Options are what the admin plane acts on.
type Options struct {
	Vaults     *vault.Service
	Principals *identity.Service
	// PublicURL is the server's bare address, for nextLinks.
	PublicURL string
	// VaultURL is a vault's data-plane URL, for the recycle bin's recovery ids.
	VaultURL func(name string) string
	// ShiftTime moves the vault clock forward by seconds and answers the total shift and
	// the vault clock's new time; nil turns the time-shift route off (404).
	ShiftTime func(r *http.Request, seconds int64) (total time.Duration, now time.Time, err error)
	// Snapshot streams an online snapshot of the whole storage to w at most rate bytes a
	// second (0: unpaced; GET /admin/snapshot, snapshot.go) and returns how many records
	// it holds; nil turns the route off (404).
	Snapshot func(ctx context.Context, w io.Writer, rate int64) (records int64, err error)
	// SnapshotRate is the pace of a snapshot whose request names none, in bytes a second.
	SnapshotRate int64
	// Anchors are the ledger heads the server trusts (copied into the audit log), checked
	// by ledger verification besides those the caller sends.
	Anchors func() []ledger.Anchor
	// ConsoleLink makes a single-use sign-in link to the browser console for a principal
	// and says when it expires; nil turns POST /admin/console-link off (404).
	ConsoleLink func(ctx context.Context, p plane.Principal) (url string, expires time.Time, err error)
	Log         *slog.Logger
}

// Admin serves the admin routes.
type Admin struct{ opts Options }

// New returns the admin plane.
func New(opts Options) *Admin {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &Admin{opts: opts}
}

// maxBody bounds the body of an admin request: a principal name is at most 128
// characters, 12 bytes each when JSON-escaped as a surrogate pair.
const maxBody = 16 << 10

// route is one admin route. A path ending in "/" takes one more segment, the {id}.
type route struct {
	method, path, op string
	open             bool   // any principal may call it, not only the administrator
	misuse           string // the 405 message for this path (the same on each of its routes)
	handle           func(a *Admin, w http.ResponseWriter, r *http.Request, c *plane.Call, id string) error
}

var routes = []route{
	{http.MethodPost, "/admin/time-shift", "TimeShift", false, `Use POST with {"seconds": N}.`, (*Admin).timeShift},
	{http.MethodGet, "/admin/snapshot", "SnapshotSave", false, "Use GET /admin/snapshot[?rate=MiB/s] to stream an online snapshot of the whole storage (coffer snapshot save).", (*Admin).snapshot},
	{http.MethodGet, "/admin/recycle-bin", "RecycleBinList", true, "Use GET /admin/recycle-bin[?vault=V] to list the soft-deleted vaults and objects.", (*Admin).recycleBin},
	{http.MethodGet, "/admin/principals", "PrincipalList", false, principalsMisuse, (*Admin).listPrincipals},
	{http.MethodPost, "/admin/principals", "PrincipalCreate", false, principalsMisuse, (*Admin).createPrincipal},
	{http.MethodDelete, "/admin/principals/", "PrincipalDelete", false, "Use DELETE /admin/principals/{objectId} to delete a principal.", (*Admin).deletePrincipal},
	{http.MethodGet, "/admin/ledger", "LedgerList", false, "Use GET /admin/ledger[?vault=V][&name=N] to read the deletion ledger.", (*Admin).listLedger},
	{http.MethodPost, "/admin/ledger/verify", "LedgerVerify", false, "Use POST /admin/ledger/verify to check the ledger's hash chain.", (*Admin).verifyLedger},
	{http.MethodGet, "/admin/webhooks", "WebhookList", false, webhooksMisuse, (*Admin).listWebhooks},
	{http.MethodPost, "/admin/webhooks", "WebhookCreate", false, webhooksMisuse, (*Admin).createWebhook},
	{http.MethodPost, "/admin/console-link", "ConsoleLinkCreate", true, "Use POST /admin/console-link to get a single-use sign-in link to the console for yourself.", (*Admin).consoleLink},
	{http.MethodDelete, "/admin/webhooks/", "WebhookDelete", false, "Use DELETE /admin/webhooks/{id} to delete a webhook subscription.", (*Admin).deleteWebhook},
	{http.MethodGet, "/admin/export/", "VaultExport", false, "Use GET /admin/export/{vault} to export a vault.", (*Admin).exportVault},
	{http.MethodPost, "/admin/import/", "VaultImport", false, "Use POST /admin/import/{vault}[?dryRun=true] with an export as the body to import it as a new vault.", (*Admin).importVault},
}

const (
	principalsMisuse = `Use GET to list the principals or POST {"name": "N"} to create one.`
	webhooksMisuse   = `Use GET to list the webhook subscriptions or POST {"vault": "V", "url": "https://…", "before": "72h"} to create one.`
)

// Serve answers one admin request (a plane.Handler). Paths are matched exactly as sent,
// never cleaned or redirected. Access is decided before the method is checked, so that
// only the administrator learns how a route is used.
func (a *Admin) Serve(w http.ResponseWriter, r *http.Request, c *plane.Call) error {
	path := r.URL.EscapedPath()
	var same []route // the routes of this path
	var id string
	for _, rt := range routes {
		if rest, ok := strings.CutPrefix(path, rt.path); ok && (rest == "" || strings.HasSuffix(rt.path, "/") && !strings.Contains(rest, "/")) {
			if rest == "" && strings.HasSuffix(rt.path, "/") {
				continue
			}
			same, id = append(same, rt), rest
		}
	}
	if len(same) == 0 {
		c.Event.Operation = "AdminUnknown"
		if !c.Principal.Admin {
			return forbidden(c)
		}
		c.Event.Decision = "allowed: administrator"
		return errorf(http.StatusNotFound, "NotFound", "Coffer has no admin route at "+wiretext.Echo(r.URL.Path)+".")
	}
	rt := same[0]
	allow := make([]string, 0, len(same))
	for _, s := range same {
		allow = append(allow, s.method)
		if s.method == r.Method {
			rt = s
		}
	}
	c.Event.Operation = rt.op
	switch {
	case c.Principal.Admin:
		c.Event.Decision = "allowed: administrator"
	case rt.open:
		c.Event.Decision = "allowed: any principal; the list holds what its access policies let it list"
		if rt.op == "ConsoleLinkCreate" {
			c.Event.Decision = "allowed: any principal, for a sign-in link of its own"
		}
	default:
		return forbidden(c)
	}
	if rt.path == "/admin/time-shift" && a.opts.ShiftTime == nil {
		return errorf(http.StatusNotFound, "NotFound", "The time shift is off: start coffer server with --allow-time-shift to enable it (for tests only).")
	}
	if rt.method != r.Method {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		return errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", rt.misuse)
	}
	return rt.handle(a, w, r, c, id)
}

func forbidden(c *plane.Call) error {
	c.Event.Decision = "denied: only the administrator may use the admin routes"
	return errorf(http.StatusForbidden, "Forbidden", "Only the administrator may use Coffer's admin routes.")
}

func errorf(status int, code, msg string) *plane.Error {
	return &plane.Error{Status: status, Code: code, Message: msg}
}

// internal is the answer of a route whose storage failed; the log has the cause. msg
// says what could not be done.
func (a *Admin) internal(what string, err error, msg string) *plane.Error {
	a.opts.Log.Error(what, "err", err)
	return storageFailed(err, msg)
}

// storageFailed is a 503 with Retry-After when the storage refused the work for now and
// wrote nothing (conflicting writers, a full disk: storage.Temporary), else a 500.
func storageFailed(err error, msg string) *plane.Error {
	if !storage.Temporary(err) {
		return errorf(http.StatusInternalServerError, "InternalError", msg)
	}
	e := errorf(http.StatusServiceUnavailable, "ServiceUnavailable", msg+" Coffer's storage cannot take the request for now; nothing was changed. Retry the request later.")
	e.RetryAfter = "1"
	if errors.Is(err, storage.ErrUnavailable) {
		e.RetryAfter = plane.RetryAfterUnavailable
	}
	return e
}

// readJSON decodes a bounded body into v; an empty body leaves v as it is when emptyOK. A
// body that is not UTF-8 JSON text is a *plane.Error saying so (see badBody), rather than
// decoded with U+FFFD in place of what was sent.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64, v any, emptyOK bool) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return err
	}
	if emptyOK && len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if problem := wiretext.JSONTextProblem(body); problem != "" {
		return errorf(http.StatusBadRequest, "BadRequest", "The request body must be UTF-8 JSON text; "+problem+", and such a value could not be stored as sent. Nothing was changed.")
	}
	return json.Unmarshal(body, v)
}

// badBody is the 400 of a body readJSON refused or whose values are wrong: readJSON's own
// answer when it has one, else usage, which says what the body must be.
func badBody(err error, usage string) error {
	var pe *plane.Error
	if errors.As(err, &pe) {
		return pe
	}
	return errorf(http.StatusBadRequest, "BadRequest", usage)
}

// writeJSON answers v as JSON with status.
var writeJSON = plane.WriteJSON

// quoteID shows a client-sent id or name in a message, bounded (wiretext.Echo) and quoted.
func quoteID(s string) string {
	b, _ := json.Marshal(wiretext.Echo(s))
	return string(b)
}
