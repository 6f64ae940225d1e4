package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/vault"
	"github.com/coffer/coffer/internal/webhook"
)

// funcs are the helpers the templates use.
var funcs = template.FuncMap{
	"utc":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"utcText":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"timeLeft": timeLeft,
	"zero":     func(t time.Time) bool { return t.IsZero() },
	"dur":      func(d webhook.Duration) string { return time.Duration(d).String() },
}

// timeLeft is a duration until a purge as a person reads it, in words where the
// recycle bin's short form would be a symbol.
func timeLeft(d time.Duration) string {
	if d < time.Minute {
		return "less than a minute"
	}
	return vault.TimeLeft(d)
}

// page is what the layout draws around a page's own data.
type page struct {
	Title  string
	Nav    string // the navigation entry to mark current
	User   string // the principal's name and client id; "" when signed out
	Admin  bool
	CSRF   string
	Notice string // a line shown above the page (what was just done)
	// Now is the vault clock's time (which a test server may shift): the script counts
	// down from it, not from the browser's clock.
	Now  time.Time
	Data any
}

// render writes one page with status.
func (c *Console) render(w http.ResponseWriter, req *call, status int, name string, p page) {
	if req != nil && req.token != "" {
		p.User, p.Admin, p.CSRF = req.name+" ("+req.Principal.ClientID+")", req.Principal.Admin, req.session.CSRF
	}
	if c.opts.Vaults != nil {
		p.Now = c.opts.Vaults.Now()
	}
	var buf bytes.Buffer
	if err := c.pages[name].Execute(&buf, p); err != nil {
		c.opts.Log.Error("console: render page", "page", name, "err", err)
		http.Error(w, "The page could not be drawn.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorData is the error page's content.
type errorData struct{ Message string }

// errorPage answers a plain page saying what went wrong; nothing was changed.
func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, req *call, status int, title, msg string) {
	c.render(w, req, status, "error", page{Title: title, Data: errorData{Message: msg}})
}

// refusal is an action the principal may not carry out: the page says which and why.
type refusal struct{ what, why string }

func (e *refusal) Error() string { return e.what + ": " + e.why }

// renderError answers an error a handler returned: a refusal or a domain error as what
// the person can read, anything else as a failure the log explains.
func (c *Console) renderError(w http.ResponseWriter, r *http.Request, req *call, err error) {
	var rf *refusal
	var ve *vault.Error
	switch {
	case errors.As(err, &rf):
		c.errorPage(w, r, req, http.StatusForbidden, "Not allowed",
			"You ("+req.Principal.ClientID+") may not "+rf.what+". "+rf.why+" Ask the vault's administrator for access.")
	case errors.Is(err, vault.ErrVaultNotFound) && errors.As(err, &ve) && !req.Principal.Admin:
		req.Event.Decision = "denied: the vault does not exist or is deleted (answered as a refusal, so that its existence is not revealed)"
		c.renderError(w, r, req, hiddenVault(ve.Name))
	case errors.Is(err, vault.ErrVaultNotFound):
		c.errorPage(w, r, req, http.StatusNotFound, "No such vault", "There is no live vault of that name.")
	case errors.Is(err, vault.ErrPurgeProtected), errors.Is(err, vault.ErrVaultPurgeProtected):
		c.errorPage(w, r, req, http.StatusForbidden, "Purge refused", "The vault has purge protection: it cannot be purged by hand; it is purged automatically at its scheduled purge date. Nothing was changed.")
	case errors.As(err, &ve) && (errors.Is(err, vault.ErrNotFound) || errors.Is(err, vault.ErrDeletedNotFound)):
		c.errorPage(w, r, req, http.StatusNotFound, "Not found", fmt.Sprintf("There is no %s %q here (it may have been changed meanwhile).", ve.ObjectKind, ve.Name))
	case errors.As(err, &ve):
		c.errorPage(w, r, req, http.StatusBadRequest, "Not done", ve.Error()+". Nothing was changed.")
	case storage.Temporary(err):
		c.errorPage(w, r, req, http.StatusServiceUnavailable, "Try again", "The storage cannot take the request for now; nothing was changed. Retry in a moment.")
	default:
		var fe formError
		if errors.As(err, &fe) {
			c.errorPage(w, r, req, http.StatusBadRequest, "Check the form", string(fe)+" Nothing was changed.")
			return
		}
		c.opts.Log.Error("console request failed", "requestId", req.Event.RequestID, "operation", req.Event.Operation, "err", err)
		c.errorPage(w, r, req, http.StatusInternalServerError, "Something went wrong",
			"The console could not carry out the request. Request id "+req.Event.RequestID+" (the server's log has the details).")
	}
}

// formError is a form filled in wrong, in words for the person.
type formError string

func (e formError) Error() string { return string(e) }
