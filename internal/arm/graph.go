package arm

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/coffer/coffer/internal/plane"
)

// The Graph stand-in: `az keyvault create` without --no-self-perms asks
// Microsoft Graph who it is, to grant itself an access policy. A service principal has
// no /me, so az falls back to looking itself up by client id.

// IsGraphPath reports whether an escaped path belongs to the Graph stand-in, which
// [API.ServeGraph] answers for tokens of the Graph audience (the bare address).
func IsGraphPath(escaped string) bool {
	return strings.HasPrefix(escaped, "/v1.0/") || escaped == "/v1.0"
}

var spFilter = regexp.MustCompile(`^\s*(?:servicePrincipalNames/any\(\s*(\w+)\s*:\s*(\w+)\s+eq\s+'([^']*)'\s*\)|appId\s+eq\s+'([^']*)')\s*$`)

// ServeGraph answers one Graph stand-in request; the server has authenticated it with a
// Graph-audience token.
//
//	GET /v1.0/me                                                                → 400, as Graph answers an application token
//	GET /v1.0/servicePrincipals?$filter=servicePrincipalNames/any(c:c eq 'ID')  → {"value":[{"id":"<objectId>",…}]}
//	GET /v1.0/servicePrincipals?$filter=appId eq 'ID'                           → the same
//
// A principal finds itself; the administrator finds anyone the [Directory] knows.
// Unknown client ids give an empty list, as in Graph.
func (a *API) ServeGraph(w http.ResponseWriter, r *http.Request, pc *plane.Call) error {
	c := a.caller(pc)
	ev := pc.Event
	ev.Operation, ev.Decision = "Microsoft.Graph/"+strings.TrimPrefix(r.URL.Path, "/v1.0/")+"/read", "allowed: a principal may look itself up"
	if c.Admin {
		ev.Decision = "allowed: administrator"
	}
	return a.serveGraph(w, r, c)
}

func (a *API) serveGraph(w http.ResponseWriter, r *http.Request, c Caller) error {
	segs, err := segments(r.URL.EscapedPath())
	if err != nil || len(segs) != 2 || !strings.EqualFold(segs[0], "v1.0") {
		return &armError{http.StatusNotFound, "Request_ResourceNotFound", "Coffer's Graph stand-in serves only GET /v1.0/me and GET /v1.0/servicePrincipals?$filter=…."}
	}
	if r.Method != http.MethodGet {
		return &armError{http.StatusMethodNotAllowed, "Request_BadRequest", "Coffer's Graph stand-in is read-only: use GET."}
	}
	switch {
	case strings.EqualFold(segs[1], "me"):
		return &armError{http.StatusBadRequest, "Request_BadRequest", "/me request is only valid with delegated authentication flow."}
	case strings.EqualFold(segs[1], "servicePrincipals"):
		return a.graphServicePrincipals(w, r, c)
	default:
		return &armError{http.StatusNotFound, "Request_ResourceNotFound", "Resource '" + echo(segs[1]) + "' does not exist in Coffer's Graph stand-in."}
	}
}

func (a *API) graphServicePrincipals(w http.ResponseWriter, r *http.Request, c Caller) error {
	m := spFilter.FindStringSubmatch(r.URL.Query().Get("$filter"))
	if m == nil || m[1] != "" && m[1] != m[2] {
		return &armError{http.StatusBadRequest, "Request_UnsupportedQuery", "Coffer's Graph stand-in needs $filter=servicePrincipalNames/any(c:c eq '<client id>') or $filter=appId eq '<client id>'."}
	}
	clientID := m[3] + m[4]
	items := []map[string]any{}
	objectID := ""
	switch {
	case clientID != "" && strings.EqualFold(clientID, c.ClientID):
		objectID, clientID = c.ObjectID, c.ClientID
	case c.Admin && a.opts.Directory != nil && clientID != "":
		oid, found, err := a.opts.Directory.ObjectID(r.Context(), clientID)
		if err != nil {
			a.log.Error("graph stand-in: principal lookup failed", "err", err)
			return &armError{http.StatusInternalServerError, "InternalServerError", "Coffer could not look the principal up; the server log has the details."}
		}
		if found {
			objectID = oid
		}
	}
	if objectID != "" {
		items = append(items, map[string]any{
			"id": objectID, "appId": clientID, "servicePrincipalNames": []string{clientID},
			"appOwnerOrganizationId": a.opts.TenantID, "servicePrincipalType": "Application", "accountEnabled": true,
		})
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals",
		"value":          items,
	})
}
