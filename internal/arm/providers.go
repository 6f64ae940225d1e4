package arm

import (
	"net/http"
	"strings"
)

// The resource provider documents. Clients that are not bound to one api-version read
// them to choose one: `az resource show|update --id` GETs
// /subscriptions/{sub}/providers/{namespace} and sends the first stable apiVersions
// entry of the resource type it addresses (for a location-scoped id such as a deleted
// vault's, the type is "locations"). So the document lists exactly what Coffer serves,
// with versions Coffer accepts.

const nsKeyVault = "Microsoft.KeyVault"

// cofferLocation is the location Coffer gives resource groups and the default vault.
// Coffer accepts any location name; the provider document lists only its own.
const cofferLocation = "local"

// providerJSON is Resource Manager's Provider. registrationState and
// registrationPolicy belong to a subscription's view; the tenant-level document has
// neither.
type providerJSON struct {
	ID                 string             `json:"id"`
	Namespace          string             `json:"namespace"`
	RegistrationState  string             `json:"registrationState,omitempty"`
	RegistrationPolicy string             `json:"registrationPolicy,omitempty"`
	ResourceTypes      []providerTypeJSON `json:"resourceTypes"`
}

// providerTypeJSON is Resource Manager's ProviderResourceType.
type providerTypeJSON struct {
	ResourceType string   `json:"resourceType"`
	Locations    []string `json:"locations"`
	APIVersions  []string `json:"apiVersions"`
	Capabilities string   `json:"capabilities,omitempty"`
}

// keyVaultTypes are the Microsoft.KeyVault resource types Coffer serves (see the route
// table), in the order Azure lists them. Vaults cannot be moved between groups or
// subscriptions in Coffer, so the move capabilities Azure lists for vaults are left
// out. managedHSMs and deletedManagedHSMs are not listed: Coffer has no managed HSMs
// and answers their lists empty only so that az's vault commands work.
var keyVaultTypes = []providerTypeJSON{
	{ResourceType: "vaults", Locations: []string{cofferLocation}, APIVersions: keyVaultVersions, Capabilities: "SupportsTags, SupportsLocation"},
	{ResourceType: "vaults/accessPolicies", Locations: []string{cofferLocation}, APIVersions: keyVaultVersions, Capabilities: "None"},
	{ResourceType: "deletedVaults", Locations: []string{cofferLocation}, APIVersions: keyVaultVersions, Capabilities: "None"},
	{ResourceType: "locations", Locations: []string{}, APIVersions: keyVaultVersions, Capabilities: "None"},
	{ResourceType: "locations/deletedVaults", Locations: []string{cofferLocation}, APIVersions: keyVaultVersions, Capabilities: "None"},
	{ResourceType: "locations/operationResults", Locations: []string{cofferLocation}, APIVersions: keyVaultVersions, Capabilities: "None"},
	{ResourceType: "checkNameAvailability", Locations: []string{}, APIVersions: keyVaultVersions, Capabilities: "None"},
}

// providers are the namespaces Coffer serves a document for, in the order listed.
// Resource Manager's own reads (subscriptions, tenants, resource groups, resources)
// have none: no client Coffer serves resolves their api-version from a document.
var providers = []struct {
	namespace string
	types     []providerTypeJSON
}{
	{nsKeyVault, keyVaultTypes},
}

// providerDoc is the document of providers[i] as seen from subscription sub, or from
// the tenant when sub is "".
func providerDoc(i int, sub string) providerJSON {
	ns := providers[i].namespace
	p := providerJSON{ID: "/providers/" + ns, Namespace: ns, ResourceTypes: providers[i].types}
	if sub != "" {
		p.ID = "/subscriptions/" + sub + p.ID
		// Registered always: Coffer never asks a client to register a provider.
		p.RegistrationState, p.RegistrationPolicy = "Registered", "RegistrationRequired"
	}
	return p
}

// findProvider returns the index in providers of namespace ns, matched
// case-insensitively as Resource Manager matches it, or a 404 InvalidResourceNamespace.
func findProvider(ns string) (int, error) {
	names := make([]string, 0, len(providers))
	for i, p := range providers {
		if strings.EqualFold(p.namespace, ns) {
			return i, nil
		}
		names = append(names, p.namespace)
	}
	return 0, &armError{http.StatusNotFound, "InvalidResourceNamespace",
		"The resource namespace '" + echo(ns) + "' is invalid. Coffer serves the resource provider " + strings.Join(names, ", ") + " only."}
}

// getProvider is GET /subscriptions/{sub}/providers/{ns} and GET /providers/{ns}.
func (a *API) getProvider(w http.ResponseWriter, _ *http.Request, p params, _ Caller) error {
	i, err := findProvider(p["ns"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, providerDoc(i, p["sub"]))
}

// listProviders is GET /subscriptions/{sub}/providers and GET /providers.
func (a *API) listProviders(w http.ResponseWriter, r *http.Request, p params, _ Caller) error {
	items := make([]providerJSON, 0, len(providers))
	for i := range providers {
		items = append(items, providerDoc(i, p["sub"]))
	}
	return writePage(a, w, r, items)
}
