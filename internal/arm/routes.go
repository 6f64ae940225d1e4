package arm

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// apiKind selects the api-version rule of a route.
type apiKind int

const (
	apiKeyVault apiKind = iota + 1 // Microsoft.KeyVault: dates from 2022-07-01 on
	apiGeneric                     // Microsoft.Resources and the subscription API: any date
)

// params are the values a route's {placeholders} captured, unescaped.
type params map[string]string

// route is one management-plane operation. Literal segments of the pattern match
// case-insensitively, as ARM matches them; {name} captures a segment.
type route struct {
	method  string
	pattern string
	api     apiKind
	action  string // the Azure action it performs, named in a 403
	open    bool   // any authenticated principal, not only the administrator
	// selfDecides: the handler decides access itself, on what the request names (the
	// role a role assignment names), then writes the request record.
	selfDecides bool
	// filtered: a list that a caller who may not read it as a whole gets filtered to
	// the items it may read, instead of 403.
	filtered bool
	handle   func(a *API, w http.ResponseWriter, r *http.Request, p params, c Caller) error
	segs     []string
}

const (
	kvVault    = "subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name}"
	kvProvider = "subscriptions/{sub}/providers/Microsoft.KeyVault"
)

// routes is the management plane's route table.
var routes = compile([]*route{
	{method: "GET", pattern: "subscriptions", api: apiGeneric, action: "Microsoft.Resources/subscriptions/read", open: true, handle: (*API).listSubscriptions},
	{method: "GET", pattern: "tenants", api: apiGeneric, action: "Microsoft.Resources/tenants/read", open: true, handle: (*API).listTenants},
	{method: "GET", pattern: "subscriptions/{sub}", api: apiGeneric, action: "Microsoft.Resources/subscriptions/read", handle: (*API).getSubscription},
	{method: "GET", pattern: "subscriptions/{sub}/resourceGroups/{rg}", api: apiGeneric, action: "Microsoft.Resources/subscriptions/resourceGroups/read", handle: (*API).getResourceGroup},
	{method: "GET", pattern: "subscriptions/{sub}/resources", api: apiGeneric, action: "Microsoft.Resources/subscriptions/resources/read", handle: (*API).listResources},
	{method: "GET", pattern: "subscriptions/{sub}/providers", api: apiGeneric, action: "Microsoft.Resources/subscriptions/providers/read", handle: (*API).listProviders},
	{method: "GET", pattern: "subscriptions/{sub}/providers/{ns}", api: apiGeneric, action: "Microsoft.Resources/subscriptions/providers/read", handle: (*API).getProvider},
	{method: "GET", pattern: "providers", api: apiGeneric, action: "Microsoft.Resources/providers/read", handle: (*API).listProviders},
	{method: "GET", pattern: "providers/{ns}", api: apiGeneric, action: "Microsoft.Resources/providers/read", handle: (*API).getProvider},

	{method: "GET", pattern: "subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults", api: apiKeyVault, action: "Microsoft.KeyVault/vaults/read", filtered: true, handle: (*API).listVaultsByGroup},
	{method: "GET", pattern: kvProvider + "/vaults", api: apiKeyVault, action: "Microsoft.KeyVault/vaults/read", filtered: true, handle: (*API).listVaultsBySubscription},
	{method: "GET", pattern: kvVault, api: apiKeyVault, action: "Microsoft.KeyVault/vaults/read", handle: (*API).getVault},
	{method: "PUT", pattern: kvVault, api: apiKeyVault, action: "Microsoft.KeyVault/vaults/write", handle: (*API).putVault},
	{method: "PATCH", pattern: kvVault, api: apiKeyVault, action: "Microsoft.KeyVault/vaults/write", handle: (*API).patchVault},
	{method: "DELETE", pattern: kvVault, api: apiKeyVault, action: "Microsoft.KeyVault/vaults/delete", handle: (*API).deleteVault},
	{method: "PUT", pattern: kvVault + "/accessPolicies/{op}", api: apiKeyVault, action: "Microsoft.KeyVault/vaults/accessPolicies/write", handle: (*API).updateAccessPolicies},
	{method: "POST", pattern: kvProvider + "/checkNameAvailability", api: apiKeyVault, action: "Microsoft.KeyVault/checkNameAvailability/read", handle: (*API).checkName},

	{method: "GET", pattern: kvProvider + "/deletedVaults", api: apiKeyVault, action: "Microsoft.KeyVault/deletedVaults/read", handle: (*API).listDeletedVaults},
	{method: "GET", pattern: kvProvider + "/locations/{loc}/deletedVaults/{name}", api: apiKeyVault, action: "Microsoft.KeyVault/locations/deletedVaults/read", handle: (*API).getDeletedVault},
	{method: "POST", pattern: kvProvider + "/locations/{loc}/deletedVaults/{name}/purge", api: apiKeyVault, action: "Microsoft.KeyVault/locations/deletedVaults/purge/action", handle: (*API).purgeDeletedVault},
	{method: "GET", pattern: kvProvider + "/locations/{loc}/operationResults/{id}", api: apiKeyVault, action: "Microsoft.KeyVault/locations/operationResults/read", handle: (*API).getOperation},

	{method: "GET", pattern: kvProvider + "/managedHSMs", api: apiKeyVault, action: "Microsoft.KeyVault/managedHSMs/read", filtered: true, handle: (*API).emptyList},
	{method: "GET", pattern: "subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/managedHSMs", api: apiKeyVault, action: "Microsoft.KeyVault/managedHSMs/read", filtered: true, handle: (*API).emptyList},
	{method: "GET", pattern: kvProvider + "/deletedManagedHSMs", api: apiKeyVault, action: "Microsoft.KeyVault/deletedManagedHSMs/read", filtered: true, handle: (*API).emptyList},
})

// scopeOf is the resource id a request on rt names, at which it is decided: a deleted
// vault or an operation (under a location), a vault, a resource group, a subscription,
// or the root.
func (rt *route) scopeOf(p params) string {
	sub := "/subscriptions/" + p["sub"]
	switch {
	case p["loc"] != "" && p["name"] != "":
		return sub + "/providers/Microsoft.KeyVault/locations/" + p["loc"] + "/deletedVaults/" + p["name"]
	case p["loc"] != "" && p["id"] != "":
		return sub + "/providers/Microsoft.KeyVault/locations/" + p["loc"] + "/operationResults/" + p["id"]
	case p["rg"] != "" && p["name"] != "":
		return sub + "/resourceGroups/" + p["rg"] + "/providers/Microsoft.KeyVault/vaults/" + p["name"]
	case p["rg"] != "":
		return sub + "/resourceGroups/" + p["rg"]
	case p["sub"] != "":
		return sub
	}
	return "/"
}

func compile(rs []*route) []*route {
	for _, rt := range rs {
		rt.segs = strings.Split(rt.pattern, "/")
	}
	return rs
}

// segments splits an escaped path into unescaped segments. One trailing "/" is
// ignored; the path is never redirected or cleaned otherwise.
func segments(escaped string) ([]string, error) {
	p := strings.TrimPrefix(escaped, "/")
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return nil, nil
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, &armError{http.StatusBadRequest, "InvalidRequestUri", "The request path has a malformed escape in segment '" + echo(s) + "'."}
		}
		segs[i] = u
	}
	return segs, nil
}

// match finds the route of method and path segments: 404 when no pattern matches the
// path, 405 (with the allowed methods) when one matches another method.
func match(method string, segs []string) (*route, params, error) {
	var allowed []string
	for _, rt := range routes {
		p, ok := rt.match(segs)
		if !ok {
			continue
		}
		if rt.method == method {
			return rt, p, nil
		}
		if !slices.Contains(allowed, rt.method) {
			allowed = append(allowed, rt.method)
		}
	}
	if len(allowed) > 0 {
		return nil, nil, &armError{http.StatusMethodNotAllowed, "MethodNotAllowed",
			"The method '" + echo(method) + "' is not supported here; use " + strings.Join(allowed, " or ") + "."}
	}
	return nil, nil, &armError{http.StatusNotFound, "NotFound",
		"Coffer has no resource or operation at /" + echo(strings.Join(segs, "/")) + ". It serves Microsoft.KeyVault vaults and deleted vaults, " +
			"its provider document, subscriptions, resource groups and /resources."}
}

func (rt *route) match(segs []string) (params, bool) {
	if len(segs) != len(rt.segs) {
		return nil, false
	}
	var p params
	for i, want := range rt.segs {
		if name, ok := strings.CutPrefix(want, "{"); ok {
			if segs[i] == "" {
				return nil, false
			}
			if p == nil {
				p = params{}
			}
			p[strings.TrimSuffix(name, "}")] = segs[i]
			continue
		}
		if !strings.EqualFold(want, segs[i]) {
			return nil, false
		}
	}
	return p, true
}
