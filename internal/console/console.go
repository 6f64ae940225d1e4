// Package console is Coffer in a browser: server-rendered pages under /console/ on the
// bare address — the recycle bin across every vault, the vaults and their objects, and
// the deletion history — for a person signed in as one principal.
//
// The console is a plane like the others: a route table ([routes]) served through the
// shared adapter (package plane), which gives every request an id and one outcome record
// in the audit log (the server marks them plane "console"), and refuses a change whose
// request record cannot be written. It calls the vault domain in-process and decides
// every action as the data plane decides the same operation (access.go), so a person
// sees and may do exactly what the principal may through the API.
//
// What keeps it safe (see SECURITY.md): sessions in the storage under a random token
// whose hash only is stored (session.go), in a cookie that is HttpOnly, Secure,
// SameSite=Strict and __Host- scoped, with an idle and an absolute lifetime on the
// injected clock; a per-session CSRF token in every form that changes something; a
// Content-Security-Policy without inline script or style and with frame-ancestors
// 'none'; no secret value in any URL (a value is revealed by a POST, never a GET) or
// log; sign-in slowed down by identity's token-endpoint throttle.
//
// Pages are html/template files embedded in the binary (templates/), with one
// stylesheet and one small script (static/) that only improves them: every page works
// without JavaScript. Start reading at [Console.Serve] and the route table below it.
package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/vault"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options are what the console acts on.
type Options struct {
	Vaults *vault.Service
	// RBAC holds the role assignments that decide RBAC vaults; nil → such a vault is
	// refused to everyone but the administrator, as on the data plane.
	RBAC *rbac.Service
	// Principals checks sign-ins (with the token endpoint's throttle) and finds a
	// session's principal again on every request.
	Principals *identity.Service
	// Store keeps the sessions and sign-in links (session.go).
	Store storage.Backend
	// Clock dates sessions and links: the server's real clock, not the vault clock, so a
	// time shift (tests) does not end sessions.
	Clock clock.Clock
	// Access is the data plane's access-policy permission and RBAC data action for an
	// operation (azapi.Access): the console decides each action by them. Required.
	Access func(op string) (perm, action string, ok bool)
	// Plane is the adapter every console request goes through (its Audit is the
	// console's audit sink).
	Plane *plane.Plane
	// Anchors are the ledger heads the server trusts, checked by the history page's
	// chain verification.
	Anchors func() []ledger.Anchor
	// PendingWarnings counts the purge warnings not yet delivered per vault (lower-case
	// name); nil shows none.
	PendingWarnings func(ctx context.Context) (map[string]int, error)
	IdleTimeout     time.Duration // 0 → DefaultIdleTimeout
	MaxLifetime     time.Duration // 0 → DefaultMaxLifetime
	Log             *slog.Logger
}

// Console serves /console/.
type Console struct {
	opts    Options
	pages   map[string]*template.Template
	deletes deleteIndex // who deleted what, from the ledger (bin.go)
}

// Prefix is where the console lives on the bare address.
const Prefix = "/console/"

// staticPrefix is where its stylesheet and script are.
const staticPrefix = Prefix + "static/"

// New returns the console.
func New(opts Options) (*Console, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.MaxLifetime <= 0 {
		opts.MaxLifetime = DefaultMaxLifetime
	}
	if opts.Plane == nil {
		opts.Plane = plane.New(plane.Config{Name: "console", Clock: opts.Clock, Log: opts.Log})
	}
	if opts.Access == nil {
		return nil, errors.New("console: Options.Access is required")
	}
	if err := checkOperations(opts.Access); err != nil {
		return nil, err
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	return &Console{opts: opts, pages: pages}, nil
}

func (c *Console) now() time.Time { return c.opts.Clock.Now().UTC() }

// parsePages parses each page with the layout it is drawn in.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		out[base] = t
	}
	return out, nil
}

// route is one console route. A path ending in "/" takes the rest of the path as its
// argument.
type route struct {
	method, path string
	op           string // the audit operation of pages (actions name the data plane's)
	public       bool   // served without a session: sign-in, the link, the static files
	handle       func(c *Console, w http.ResponseWriter, r *http.Request, req *call) error
}

var routes = []route{
	{http.MethodGet, "/console/", "ConsoleHome", true, (*Console).home},
	{http.MethodGet, "/console/sign-in", "ConsoleSignInPage", true, (*Console).signInPage},
	{http.MethodPost, "/console/sign-in", "ConsoleSignIn", true, (*Console).signIn},
	{http.MethodGet, "/console/link", "ConsoleSignInLink", true, (*Console).useLinkPage},
	{http.MethodPost, "/console/sign-out", "ConsoleSignOut", false, (*Console).signOut},
	{http.MethodGet, "/console/recycle-bin", "ConsoleRecycleBin", false, (*Console).recycleBin},
	{http.MethodPost, "/console/recycle-bin/recover", "ConsoleRecover", false, (*Console).recover},
	{http.MethodPost, "/console/recycle-bin/purge", "ConsolePurge", false, (*Console).purge},
	{http.MethodGet, "/console/vaults", "ConsoleVaults", false, (*Console).vaults},
	{http.MethodGet, "/console/vaults/", "ConsoleVault", false, (*Console).vaultPages},
	{http.MethodPost, "/console/vaults/", "ConsoleVaultAction", false, (*Console).vaultActions},
	{http.MethodGet, "/console/history", "ConsoleHistory", false, (*Console).history},
}

// call is one console request: the adapter's call, and once signed in, the session and
// the access decider.
type call struct {
	*plane.Call
	session session
	token   string
	name    string // the principal's display name
	access  access
	arg     string // the rest of the path of a route ending in "/"
}

// ServeHTTP serves one console request through the plane adapter.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	if name, ok := strings.CutPrefix(r.URL.EscapedPath(), staticPrefix); ok && r.Method == http.MethodGet {
		// The stylesheet and the script are the same for everyone and act on nothing:
		// served without a session or an audit record.
		c.static(w, r, name)
		return
	}
	c.opts.Plane.Serve(w, r, func(w http.ResponseWriter, r *http.Request, pc *plane.Call) error {
		c.serve(w, r, &call{Call: pc})
		return nil
	})
}

// securityHeaders are set on every console answer: no script or style but the
// console's own files, no framing, no sniffing, no referrer (a page's URL names vaults
// and objects), and nothing cached (a page may show a secret's value).
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// cookieName is the session cookie: the __Host- prefix makes the browser refuse it
// unless it is Secure, for this host only and for every path.
const cookieName = "__Host-coffer-console"

func (c *Console) serve(w http.ResponseWriter, r *http.Request, req *call) {
	path := r.URL.EscapedPath()
	var rt *route
	methodOK := false
	for i := range routes {
		x := &routes[i]
		rest, ok := strings.CutPrefix(path, x.path)
		if !ok || (rest != "" && !strings.HasSuffix(x.path, "/")) || (x.path == "/console/" && rest != "") {
			continue
		}
		if rt == nil || x.method == r.Method {
			rt, req.arg = x, rest
			methodOK = x.method == r.Method
		}
		if methodOK {
			break
		}
	}
	if rt == nil {
		req.Event.Operation = "ConsoleUnknown"
		c.errorPage(w, r, req, http.StatusNotFound, "Page not found", "The console has no page at this address.")
		return
	}
	req.Event.Operation = rt.op
	if !rt.public {
		if !c.authenticate(w, r, req) {
			return
		}
	}
	if !methodOK {
		w.Header().Set("Allow", rt.method)
		c.errorPage(w, r, req, http.StatusMethodNotAllowed, "Not allowed here", "This page is not used with "+r.Method+".")
		return
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			c.errorPage(w, r, req, http.StatusBadRequest, "The form could not be read", "The form was too large or malformed; nothing was changed.")
			return
		}
		// Every change carries the session's CSRF token; the sign-in form (which has
		// no session yet) is guarded by SameSite and the Origin check.
		if !sameOrigin(r) {
			req.Event.Decision = "denied: the form came from another site"
			c.errorPage(w, r, req, http.StatusForbidden, "Refused", "The form was sent from another site; nothing was changed.")
			return
		}
		if !rt.public && !csrfOK(req.session, r.PostForm.Get("csrf")) {
			req.Event.Decision = "denied: missing or wrong CSRF token"
			c.errorPage(w, r, req, http.StatusForbidden, "Refused: the form has expired",
				"The form did not carry this session's security token, so nothing was changed. Reload the page and try again.")
			return
		}
	}
	if err := rt.handle(c, w, r, req); err != nil {
		c.renderError(w, r, req, err)
	}
}

// maxForm bounds a form: a secret value is at most 25,600 characters.
const maxForm = 256 << 10

// sameOrigin rejects a POST a browser says came from another site: by Sec-Fetch-Site
// when it sends one (a browser under Referrer-Policy no-referrer sends "Origin: null"
// for its own forms, so Origin alone cannot tell), else by Origin.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	o := r.Header.Get("Origin")
	return o == "" || o == "null" || strings.EqualFold(o, "https://"+r.Host)
}

// authenticate finds the request's session and principal; without one, a page asks
// the person to sign in and an action is refused.
func (c *Console) authenticate(w http.ResponseWriter, r *http.Request, req *call) bool {
	ck, err := r.Cookie(cookieName)
	var s session
	if err == nil {
		s, err = c.loadSession(r.Context(), ck.Value)
	}
	var p identity.Principal
	if err == nil {
		p, err = c.opts.Principals.PrincipalByClientID(r.Context(), s.ClientID)
		if errors.Is(err, identity.ErrPrincipalNotFound) {
			err = errNoSession
		}
	}
	if err != nil {
		if !errors.Is(err, errNoSession) && !errors.Is(err, http.ErrNoCookie) {
			c.opts.Log.Error("console: read session", "err", err)
			c.errorPage(w, r, req, http.StatusServiceUnavailable, "Try again", "The console could not read its sessions; retry in a moment.")
			return false
		}
		req.Event.Decision = "denied: not signed in"
		if r.Method == http.MethodGet {
			http.Redirect(w, r, "/console/sign-in", http.StatusSeeOther)
			return false
		}
		c.errorPage(w, r, req, http.StatusUnauthorized, "Signed out", "Your session has ended; sign in again. Nothing was changed.")
		return false
	}
	req.session, req.token, req.name = s, ck.Value, p.Name
	req.Principal = plane.Principal{TenantID: p.TenantID, ClientID: p.ClientID, ObjectID: p.ObjectID, Admin: p.Admin}
	req.Event.Principal = req.Principal.Audit()
	req.access = access{who: req.Principal, rules: c.opts.Access}
	if !p.Admin && c.opts.RBAC != nil {
		view, err := c.opts.RBAC.View(r.Context())
		if err != nil {
			c.opts.Log.Error("console: read role assignments", "err", err)
			c.errorPage(w, r, req, http.StatusServiceUnavailable, "Try again", "The console could not read the role assignments; retry in a moment.")
			return false
		}
		req.access.view = view
	}
	return true
}

// setSessionCookie hands the browser its session token.
func (c *Console) setSessionCookie(w http.ResponseWriter, tok string) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: tok, Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(c.opts.MaxLifetime / time.Second)})
}

func clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// actor is who a change is recorded against in the deletion ledger.
func (req *call) actor() vault.Actor {
	who := req.Principal.ObjectID
	if who == "" {
		who = req.Principal.ClientID
	}
	return vault.Actor{Principal: who, ClientID: req.Principal.ClientID, RequestID: req.Event.RequestID}
}
