package arm

import (
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The generic ARM endpoints az and armkeyvault call besides Microsoft.KeyVault: Coffer
// accepts any subscription id and resource group name with no prior creation.

type subscriptionJSON struct {
	ID                   string            `json:"id"`
	SubscriptionID       string            `json:"subscriptionId"`
	TenantID             string            `json:"tenantId"`
	DisplayName          string            `json:"displayName"`
	State                string            `json:"state"`
	AuthorizationSource  string            `json:"authorizationSource"`
	ManagedByTenants     []struct{}        `json:"managedByTenants"`
	SubscriptionPolicies map[string]string `json:"subscriptionPolicies"`
}

func (a *API) subscriptionJSON(sub string) subscriptionJSON {
	name := sub
	if strings.EqualFold(sub, DefaultSubscription) {
		sub, name = DefaultSubscription, DefaultSubscriptionName
	}
	return subscriptionJSON{
		ID: "/subscriptions/" + sub, SubscriptionID: sub, TenantID: a.opts.TenantID, DisplayName: name,
		State: "Enabled", AuthorizationSource: "RoleBased", ManagedByTenants: []struct{}{},
		SubscriptionPolicies: map[string]string{"locationPlacementId": "Public_2014-09-01", "quotaId": "Coffer", "spendingLimit": "Off"},
	}
}

// listSubscriptions lists the default subscription first, then, for the administrator,
// every other subscription that holds a vault, live or deleted, and for another
// principal every other subscription it holds a role in, in id order.
func (a *API) listSubscriptions(w http.ResponseWriter, r *http.Request, _ params, c Caller) error {
	subs := []string{DefaultSubscription}
	if !c.Admin && a.opts.RBAC != nil && c.ObjectID != "" {
		v, err := a.opts.RBAC.View(r.Context())
		if err != nil {
			return err
		}
		var more []string
		for _, s := range v.Subscriptions(c.ObjectID) {
			if !strings.EqualFold(s, DefaultSubscription) {
				more = append(more, s)
			}
		}
		sort.Slice(more, func(i, j int) bool { return lower(more[i]) < lower(more[j]) })
		subs = append(subs, more...)
	}
	if c.Admin {
		vs, err := a.opts.Vaults.AllVaults(r.Context())
		if err != nil {
			return err
		}
		seen := map[string]bool{lower(DefaultSubscription): true}
		var more []string
		for _, v := range vs {
			if k := lower(v.Subscription); v.Subscription != "" && !seen[k] {
				seen[k] = true
				more = append(more, v.Subscription)
			}
		}
		sort.Slice(more, func(i, j int) bool { return lower(more[i]) < lower(more[j]) })
		subs = append(subs, more...)
	}
	items := make([]subscriptionJSON, 0, len(subs))
	for _, s := range subs {
		items = append(items, a.subscriptionJSON(s))
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"value": items,
		"count": map[string]any{"type": "Total", "value": len(items)},
	})
}

func (a *API) getSubscription(w http.ResponseWriter, _ *http.Request, p params, _ Caller) error {
	return writeJSON(w, http.StatusOK, a.subscriptionJSON(p["sub"]))
}

// listTenants is GET /tenants: the server's one tenant.
func (a *API) listTenants(w http.ResponseWriter, _ *http.Request, _ params, _ Caller) error {
	t := a.opts.TenantID
	return writeJSON(w, http.StatusOK, map[string]any{
		"value": []map[string]string{{"id": "/tenants/" + t, "tenantId": t, "tenantCategory": "Home", "displayName": DefaultSubscriptionName}},
	})
}

// getResourceGroup answers for any group, with location "local" (az asks when -l is
// omitted and creates the vault there).
func (a *API) getResourceGroup(w http.ResponseWriter, _ *http.Request, p params, _ Caller) error {
	return writeJSON(w, http.StatusOK, map[string]any{
		"id":         "/subscriptions/" + p["sub"] + "/resourceGroups/" + p["rg"],
		"name":       p["rg"],
		"type":       "Microsoft.Resources/resourceGroups",
		"location":   "local",
		"properties": map[string]string{"provisioningState": "Succeeded"},
	})
}

// listResources is GET /subscriptions/{sub}/resources: Coffer's only resources are
// vaults. $filter may test resourceType, name and resourceGroup with eq, joined by and.
func (a *API) listResources(w http.ResponseWriter, r *http.Request, p params, _ Caller) error {
	f, err := parseFilter(r.URL.Query().Get("$filter"))
	if err != nil {
		return err
	}
	items := []resourceJSON{}
	if t, ok := f["resourcetype"]; !ok || strings.EqualFold(t, typeVault) {
		vs, err := a.opts.Vaults.ListVaults(r.Context(), p["sub"], f["resourcegroup"])
		if err != nil {
			return err
		}
		for _, v := range vs {
			if n, ok := f["name"]; ok && !strings.EqualFold(n, v.Name) {
				continue
			}
			items = append(items, resourceJSON{ID: vaultID(v), Name: v.Name, Type: typeVault, Location: v.Location, Tags: tagsOf(v.Tags)})
		}
	}
	return writePage(a, w, r, items)
}

var (
	filterAnd    = regexp.MustCompile(`(?i)\s+and\s+`)
	filterClause = regexp.MustCompile(`^\s*([A-Za-z]+)\s+eq\s+'([^']*)'\s*$`)
)

// parseFilter reads an OData $filter of "field eq 'value'" clauses joined by "and";
// keys are lower-cased field names.
func parseFilter(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, c := range filterAnd.Split(s, -1) {
		m := filterClause.FindStringSubmatch(c)
		if m == nil {
			return nil, &armError{http.StatusBadRequest, "InvalidFilterInQueryString",
				"The $filter '" + echo(s) + "' is not supported: use clauses like resourceType eq 'Microsoft.KeyVault/vaults' joined by and."}
		}
		k := lower(m[1])
		switch k {
		case "resourcetype", "name", "resourcegroup":
			out[k] = m[2]
		default:
			return nil, &armError{http.StatusBadRequest, "InvalidFilterInQueryString",
				"The $filter field '" + echo(m[1]) + "' is not supported: Coffer filters resources by resourceType, name and resourceGroup."}
		}
	}
	return out, nil
}

func (a *API) emptyList(w http.ResponseWriter, _ *http.Request, _ params, _ Caller) error {
	return writeJSON(w, http.StatusOK, listJSON[struct{}]{Value: []struct{}{}})
}

// maxTop bounds $top, as ARM's list APIs do.
const maxTop = 1000

// writePage answers a list: all of it, or with $top the page at $skiptoken and a
// nextLink (absolute, with the query the pager must send back verbatim) while more
// remain.
func writePage[T any](a *API, w http.ResponseWriter, r *http.Request, items []T) error {
	q := r.URL.Query()
	top := len(items)
	if s := q.Get("$top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxTop {
			return badRequest("$top must be a whole number from 1 to " + strconv.Itoa(maxTop) + ", not '" + echo(s) + "'.")
		}
		top = n
	}
	off := 0
	if s := q.Get("$skiptoken"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return badRequest("The $skiptoken '" + echo(s) + "' is not one Coffer issued; start the list again without it.")
		}
		off = min(n, len(items))
	}
	end := min(off+top, len(items))
	out := listJSON[T]{Value: items[off:end]}
	if out.Value == nil {
		out.Value = []T{}
	}
	if end < len(items) {
		q.Set("$skiptoken", strconv.Itoa(end))
		out.NextLink = a.publicBase() + r.URL.EscapedPath() + "?" + q.Encode()
	}
	return writeJSON(w, http.StatusOK, out)
}
