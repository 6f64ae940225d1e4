package console

import (
	"errors"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/coffer/coffer/internal/identity"
)

// home sends a signed-in person to the recycle bin and anyone else to sign in.
func (c *Console) home(w http.ResponseWriter, r *http.Request, req *call) error {
	req.Event.Decision = "allowed: any visitor"
	if ck, err := r.Cookie(cookieName); err == nil {
		if _, err := c.loadSession(r.Context(), ck.Value); err == nil {
			http.Redirect(w, r, "/console/recycle-bin", http.StatusSeeOther)
			return nil
		}
	}
	http.Redirect(w, r, "/console/sign-in", http.StatusSeeOther)
	return nil
}

// signInData is the sign-in page's content.
type signInData struct {
	ClientID string
	Problem  string
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request, req *call) error {
	req.Event.Decision = "allowed: any visitor"
	c.render(w, nil, http.StatusOK, "signin", page{Title: "Sign in", Data: signInData{}})
	return nil
}

// signIn checks a client id and secret (identity.SignIn: the token endpoint's check and
// throttle) and starts a session. The secret is never logged or echoed; the client id is
// shown again only when it is GUID-shaped.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request, req *call) error {
	clientID := strings.TrimSpace(r.PostForm.Get("client_id"))
	p, err := c.opts.Principals.SignIn(r.Context(), r.RemoteAddr, clientID, r.PostForm.Get("client_secret"))
	shown := ""
	if len(clientID) == 36 && strings.Count(clientID, "-") == 4 {
		shown = clientID
		req.Event.Principal.ClientID = strings.ToLower(clientID)
	}
	var slow *identity.SlowDownError
	switch {
	case errors.As(err, &slow):
		req.Event.Decision = "denied: too many failed sign-ins, slowed down"
		secs := int(slow.Wait.Seconds() + 0.999)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		c.render(w, nil, http.StatusTooManyRequests, "signin", page{Title: "Sign in", Data: signInData{ClientID: shown,
			Problem: "Too many failed sign-ins for this client id or from this address. Wait " + strconv.Itoa(secs) + " seconds and try again."}})
		return nil
	case errors.Is(err, identity.ErrSignInRefused):
		req.Event.Decision = "denied: unknown client or wrong secret"
		c.render(w, nil, http.StatusUnauthorized, "signin", page{Title: "Sign in", Data: signInData{ClientID: shown,
			Problem: "The client id or the secret is wrong."}})
		return nil
	case err != nil:
		return err
	}
	return c.startSession(w, r, req, p, "secret")
}

// startSession stores a session for p, sets its cookie and goes to the recycle bin.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, req *call, p identity.Principal, via string) error {
	req.Event.Principal.TenantID, req.Event.Principal.ClientID, req.Event.Principal.ObjectID = p.TenantID, p.ClientID, p.ObjectID
	req.Event.Decision = "allowed: signed in with " + map[string]string{"secret": "the client secret", "link": "a single-use link"}[via]
	if err := req.BeforeChange(r.Context()); err != nil {
		return err
	}
	tok, _, err := c.createSession(r.Context(), p.ClientID, via)
	if err != nil {
		return err
	}
	c.setSessionCookie(w, tok)
	http.Redirect(w, r, "/console/recycle-bin", http.StatusSeeOther)
	return nil
}

// useLinkPage signs in with a single-use link from `coffer console`. The link is used up
// by this request whatever follows; the redirect takes its token out of the address bar.
func (c *Console) useLinkPage(w http.ResponseWriter, r *http.Request, req *call) error {
	clientID, err := c.useLink(r.Context(), r.URL.Query().Get("t"))
	if errors.Is(err, errLinkUsed) {
		req.Event.Decision = "denied: the sign-in link is unknown, used or expired"
		c.errorPage(w, r, nil, http.StatusUnauthorized, "This sign-in link cannot be used",
			"A sign-in link works once, for a minute. Run coffer console again for a new one, or sign in with a client id and secret.")
		return nil
	}
	if err != nil {
		return err
	}
	p, err := c.opts.Principals.PrincipalByClientID(r.Context(), clientID)
	if errors.Is(err, identity.ErrPrincipalNotFound) {
		req.Event.Decision = "denied: the link's principal no longer exists"
		c.errorPage(w, r, nil, http.StatusUnauthorized, "This sign-in link cannot be used", "Its principal has been deleted.")
		return nil
	}
	if err != nil {
		return err
	}
	return c.startSession(w, r, req, p, "link")
}

// signOut ends the session everywhere (it is removed from the storage).
func (c *Console) signOut(w http.ResponseWriter, r *http.Request, req *call) error {
	req.Event.Decision = "allowed: the session's own principal"
	if err := c.endSession(r.Context(), req.token); err != nil {
		return err
	}
	clearSessionCookie(w)
	http.Redirect(w, r, "/console/sign-in", http.StatusSeeOther)
	return nil
}

// static serves the stylesheet and the script.
func (c *Console) static(w http.ResponseWriter, r *http.Request, name string) {
	b, err := fs.ReadFile(staticFS, "static/"+name)
	if err != nil || strings.Contains(name, "/") {
		c.errorPage(w, r, nil, http.StatusNotFound, "Page not found", "The console has no file at this address.")
		return
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}
