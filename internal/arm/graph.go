package arm

import (
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/coffer/coffer/internal/plane"
)

// The Graph stand-in: `az keyvault create` without --no-self-perms asks
// Microsoft Graph who it is, to grant itself an access policy. A service principal has
// no /me, so az falls back to looking itself up by client id. az's role commands look
// the --assignee up the same way, or by object id (directoryObjects/getByIds, which also
// names the principals of a role assignment list).

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
//	POST /v1.0/directoryObjects/getByIds {"ids":[object ids],"types":[…]}     → the service principals found
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
	if err == nil && len(segs) == 3 && strings.EqualFold(segs[0], "v1.0") && strings.EqualFold(segs[1], "directoryObjects") && strings.EqualFold(segs[2], "getByIds") {
		if r.Method != http.MethodPost {
			return &armError{http.StatusMethodNotAllowed, "Request_BadRequest", "Use POST for directoryObjects/getByIds."}
		}
		return a.graphGetByIDs(w, r, c)
	}
	if err != nil || len(segs) != 2 || !strings.EqualFold(segs[0], "v1.0") {
		return &armError{http.StatusNotFound, "Request_ResourceNotFound", "Coffer's Graph stand-in serves only GET /v1.0/me, GET /v1.0/servicePrincipals?$filter=… and POST /v1.0/directoryObjects/getByIds."}
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

// maxGetByIDs bounds the ids of one getByIds request, as Graph does.
const maxGetByIDs = 1000

// graphGetByIDs is POST /v1.0/directoryObjects/getByIds: the service principals among
// ids, in Graph's shape (an unknown id is left out, as in Graph). The administrator
// finds anyone; another principal, itself.
func (a *API) graphGetByIDs(w http.ResponseWriter, r *http.Request, c Caller) error {
	var b struct {
		IDs   []string `json:"ids"`
		Types []string `json:"types"`
	}
	if err := decodeBody(w, r, &b); err != nil {
		var ae *armError
		if errors.As(err, &ae) {
			return &armError{http.StatusBadRequest, "Request_BadRequest", ae.msg}
		}
		return err
	}
	if len(b.IDs) == 0 || len(b.IDs) > maxGetByIDs {
		return &armError{http.StatusBadRequest, "Request_BadRequest", "ids must name 1 to 1000 directory objects."}
	}
	if len(b.Types) > 0 && !slices.ContainsFunc(b.Types, func(t string) bool { return strings.EqualFold(t, "servicePrincipal") }) {
		return writeJSON(w, http.StatusOK, map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects", "value": []any{}})
	}
	items := []map[string]any{}
	for _, id := range b.IDs {
		var e DirectoryEntry
		found := false
		switch {
		case strings.EqualFold(id, c.ObjectID):
			e, found = DirectoryEntry{ObjectID: c.ObjectID, ClientID: c.ClientID}, true
			if a.opts.Directory != nil {
				if full, ok, err := a.opts.Directory.Lookup(r.Context(), id); err == nil && ok {
					e = full
				}
			}
		case c.Admin && a.opts.Directory != nil:
			var err error
			if e, found, err = a.opts.Directory.Lookup(r.Context(), id); err != nil {
				a.log.Error("graph stand-in: principal lookup failed", "err", err)
				return &armError{http.StatusInternalServerError, "InternalServerError", "Coffer could not look the principal up; the server log has the details."}
			}
		}
		if !found {
			continue
		}
		items = append(items, map[string]any{
			"@odata.type": "#microsoft.graph.servicePrincipal",
			"id":          e.ObjectID, "appId": e.ClientID, "displayName": e.Name, "servicePrincipalNames": []string{e.ClientID},
			"appOwnerOrganizationId": a.opts.TenantID, "servicePrincipalType": "Application", "accountEnabled": true,
		})
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#directoryObjects",
		"value":          items,
	})
}
