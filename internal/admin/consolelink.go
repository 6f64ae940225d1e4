package admin

import (
	"net/http"

	"github.com/coffer/coffer/internal/plane"
)

// consoleLink answers POST /admin/console-link: a single-use sign-in link to the browser
// console for the caller's own principal, valid for about a minute
// ({"url":…,"expires":…}). `coffer console` asks for it and opens it. Any principal may
// ask, for itself only: the link signs in as exactly the principal whose token asked.
func (a *Admin) consoleLink(w http.ResponseWriter, r *http.Request, c *plane.Call, _ string) error {
	if a.opts.ConsoleLink == nil {
		return errorf(http.StatusNotFound, "NotFound", "This server has no browser console.")
	}
	if err := c.BeforeChange(r.Context()); err != nil {
		return err
	}
	url, expires, err := a.opts.ConsoleLink(r.Context(), c.Principal)
	if err != nil {
		return a.internal("console link", err, "The sign-in link could not be made.")
	}
	return writeJSON(w, http.StatusOK, map[string]any{"url": url, "expires": expires.UTC()})
}
