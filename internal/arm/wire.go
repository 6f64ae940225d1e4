package arm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/coffer/coffer/internal/authz"
	"github.com/coffer/coffer/internal/vault"
	"github.com/coffer/coffer/internal/wiretext"
)

// ARM wire types, as Azure's Microsoft.KeyVault API defines them. They are built per
// answer and never stored.

const (
	typeVault        = "Microsoft.KeyVault/vaults"
	typeDeletedVault = "Microsoft.KeyVault/deletedVaults"
	typePolicies     = "Microsoft.KeyVault/vaults/accessPolicies"
)

type vaultJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	SystemData systemDataJSON    `json:"systemData"`
	Properties vaultPropsJSON    `json:"properties"`
}

// systemDataJSON carries the dates only: Coffer does not record who created or last
// changed a vault (the audit log does).
type systemDataJSON struct {
	CreatedAt      string `json:"createdAt"`
	LastModifiedAt string `json:"lastModifiedAt"`
}

type vaultPropsJSON struct {
	TenantID                     string          `json:"tenantId"`
	SKU                          skuJSON         `json:"sku"`
	AccessPolicies               []policyJSON    `json:"accessPolicies"`
	VaultURI                     string          `json:"vaultUri"`
	EnabledForDeployment         json.RawMessage `json:"enabledForDeployment"`
	EnabledForDiskEncryption     json.RawMessage `json:"enabledForDiskEncryption"`
	EnabledForTemplateDeployment json.RawMessage `json:"enabledForTemplateDeployment"`
	EnableSoftDelete             bool            `json:"enableSoftDelete"`
	SoftDeleteRetentionInDays    int             `json:"softDeleteRetentionInDays"`
	EnableRbacAuthorization      bool            `json:"enableRbacAuthorization"`
	EnablePurgeProtection        *bool           `json:"enablePurgeProtection,omitempty"` // only when true, as Azure
	NetworkACLs                  json.RawMessage `json:"networkAcls,omitempty"`
	PublicNetworkAccess          json.RawMessage `json:"publicNetworkAccess"`
	ProvisioningState            string          `json:"provisioningState"`
	PrivateEndpointConnections   []struct{}      `json:"privateEndpointConnections"`
}

type skuJSON struct {
	Family string `json:"family"`
	Name   string `json:"name"`
}

type policyJSON struct {
	TenantID      string          `json:"tenantId"`
	ObjectID      string          `json:"objectId"`
	ApplicationID string          `json:"applicationId,omitempty"`
	Permissions   permissionsJSON `json:"permissions"`
}

type permissionsJSON struct {
	Keys         []string `json:"keys"`
	Secrets      []string `json:"secrets"`
	Certificates []string `json:"certificates"`
	Storage      []string `json:"storage"`
}

type deletedVaultJSON struct {
	ID         string                `json:"id"`
	Name       string                `json:"name"`
	Type       string                `json:"type"`
	Properties deletedVaultPropsJSON `json:"properties"`
}

type deletedVaultPropsJSON struct {
	VaultID                string            `json:"vaultId"`
	Location               string            `json:"location"`
	Tags                   map[string]string `json:"tags"`
	DeletionDate           string            `json:"deletionDate"`
	ScheduledPurgeDate     string            `json:"scheduledPurgeDate"`
	PurgeProtectionEnabled bool              `json:"purgeProtectionEnabled"`
}

// resourceJSON is an item of GET /subscriptions/{sub}/resources.
type resourceJSON struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Type     string            `json:"type"`
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags"`
}

// listJSON is ARM's list page; nextLink is left out on the last page.
type listJSON[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"nextLink,omitempty"`
}

func vaultID(v vault.Vault) string {
	return "/subscriptions/" + v.Subscription + "/resourceGroups/" + v.ResourceGroup + "/providers/" + typeVault + "/" + v.Name
}

func deletedVaultID(v vault.Vault) string {
	return "/subscriptions/" + v.Subscription + "/providers/Microsoft.KeyVault/locations/" + v.Location + "/deletedVaults/" + v.Name
}

// vaultURI is the vault's data-plane URL: https://v.<vault-domain>:PORT/, the port of
// --public-url, left out when it is 443 (https's default). Host names are
// case-insensitive; the URI uses the lower-case form.
func (a *API) vaultURI(name string) string {
	host := lower(name) + "." + a.opts.VaultDomain
	if a.opts.PublicURL != nil {
		if p := a.opts.PublicURL.Port(); p != "" && p != "443" {
			host = net.JoinHostPort(host, p)
		}
	}
	return "https://" + host + "/"
}

func tagsOf(t map[string]string) map[string]string {
	if t == nil {
		return map[string]string{}
	}
	return t
}

// Defaults of the settings Coffer echoes but does not act on, as Azure shows them.
var settingDefaults = map[string]json.RawMessage{
	"enabledForDeployment":         json.RawMessage("false"),
	"enabledForDiskEncryption":     json.RawMessage("false"),
	"enabledForTemplateDeployment": json.RawMessage("false"),
	"publicNetworkAccess":          json.RawMessage(`"Enabled"`),
}

func (a *API) vaultJSON(v vault.Vault) vaultJSON {
	setting := func(k string) json.RawMessage {
		if b, ok := v.Settings[k]; ok {
			return b
		}
		return settingDefaults[k]
	}
	modified := v.Updated
	if modified.IsZero() {
		modified = v.Created
	}
	tenant := v.TenantID
	if tenant == "" {
		tenant = a.opts.TenantID
	}
	sku := v.SKU
	if sku == "" {
		sku = "standard"
	}
	out := vaultJSON{
		ID: vaultID(v), Name: v.Name, Type: typeVault, Location: v.Location, Tags: tagsOf(v.Tags),
		SystemData: systemDataJSON{CreatedAt: rfc3339(v.Created), LastModifiedAt: rfc3339(modified)},
		Properties: vaultPropsJSON{
			TenantID:                     tenant,
			SKU:                          skuJSON{Family: "A", Name: sku},
			AccessPolicies:               a.policiesJSON(v.AccessPolicies),
			VaultURI:                     a.vaultURI(v.Name),
			EnabledForDeployment:         setting("enabledForDeployment"),
			EnabledForDiskEncryption:     setting("enabledForDiskEncryption"),
			EnabledForTemplateDeployment: setting("enabledForTemplateDeployment"),
			EnableSoftDelete:             true,
			SoftDeleteRetentionInDays:    v.RetentionDays,
			EnableRbacAuthorization:      v.RBAC,
			NetworkACLs:                  v.Settings["networkAcls"],
			PublicNetworkAccess:          setting("publicNetworkAccess"),
			ProvisioningState:            "Succeeded",
			PrivateEndpointConnections:   []struct{}{},
		},
	}
	if v.PurgeProtection {
		t := true
		out.Properties.EnablePurgeProtection = &t
	}
	return out
}

func (a *API) policiesJSON(ps []authz.Policy) []policyJSON {
	out := make([]policyJSON, 0, len(ps))
	for _, p := range ps {
		tenant := p.TenantID
		if tenant == "" {
			tenant = a.opts.TenantID
		}
		out = append(out, policyJSON{
			TenantID: tenant, ObjectID: p.ObjectID, ApplicationID: p.ApplicationID,
			Permissions: permissionsJSON{
				Keys: orEmpty(p.Permissions.Keys), Secrets: orEmpty(p.Permissions.Secrets),
				Certificates: orEmpty(p.Permissions.Certificates), Storage: orEmpty(p.Permissions.Storage),
			},
		})
	}
	return out
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func policiesOf(in []policyJSON) []authz.Policy {
	out := make([]authz.Policy, 0, len(in))
	for _, p := range in {
		out = append(out, authz.Policy{
			TenantID: p.TenantID, ObjectID: p.ObjectID, ApplicationID: p.ApplicationID,
			Permissions: authz.Permissions{
				Keys: p.Permissions.Keys, Secrets: p.Permissions.Secrets,
				Certificates: p.Permissions.Certificates, Storage: p.Permissions.Storage,
			},
		})
	}
	return out
}

func deletedVaultJSONOf(v vault.Vault) deletedVaultJSON {
	return deletedVaultJSON{
		ID: deletedVaultID(v), Name: v.Name, Type: typeDeletedVault,
		Properties: deletedVaultPropsJSON{
			VaultID: vaultID(v), Location: v.Location, Tags: tagsOf(v.Tags),
			DeletionDate: rfc3339(v.DeletedDate), ScheduledPurgeDate: rfc3339(v.ScheduledPurgeDate),
			PurgeProtectionEnabled: v.PurgeProtection,
		},
	}
}

// Request bodies.

// vaultBody is the body of a vault PUT (VaultCreateOrUpdateParameters) and PATCH
// (VaultPatchParameters). Absent members are nil; read-only members (vaultUri,
// provisioningState, …) that az sends back on update are ignored.
type vaultBody struct {
	Location   *string            `json:"location"`
	Tags       map[string]*string `json:"tags"`
	Properties *vaultPropsIn      `json:"properties"`
}

type vaultPropsIn struct {
	TenantID                  *string       `json:"tenantId"`
	SKU                       *skuIn        `json:"sku"`
	AccessPolicies            *[]policyJSON `json:"accessPolicies"`
	CreateMode                *string       `json:"createMode"`
	EnableSoftDelete          *bool         `json:"enableSoftDelete"`
	SoftDeleteRetentionInDays *int          `json:"softDeleteRetentionInDays"`
	EnablePurgeProtection     *bool         `json:"enablePurgeProtection"`
	EnableRbacAuthorization   *bool         `json:"enableRbacAuthorization"`

	EnabledForDeployment         json.RawMessage `json:"enabledForDeployment"`
	EnabledForDiskEncryption     json.RawMessage `json:"enabledForDiskEncryption"`
	EnabledForTemplateDeployment json.RawMessage `json:"enabledForTemplateDeployment"`
	PublicNetworkAccess          json.RawMessage `json:"publicNetworkAccess"`
	NetworkACLs                  json.RawMessage `json:"networkAcls"`
}

type skuIn struct {
	Family *string `json:"family"`
	Name   *string `json:"name"`
}

type networkACLsIn struct {
	Bypass        *string `json:"bypass"`
	DefaultAction *string `json:"defaultAction"`
	IPRules       []struct {
		Value string `json:"value"`
	} `json:"ipRules"`
	VirtualNetworkRules []struct {
		ID                               string `json:"id"`
		IgnoreMissingVnetServiceEndpoint bool   `json:"ignoreMissingVnetServiceEndpoint"`
	} `json:"virtualNetworkRules"`
}

// maxBody bounds a request body: 1,024 access policies with every permission fit well
// within it.
const maxBody = 4 << 20

// decodeBody reads r's JSON body into v; what is wrong becomes a 400 that says what to
// fix. A body that is not UTF-8 JSON text is refused rather than decoded with U+FFFD in
// place of what was sent.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return badRequest(fmt.Sprintf("The request body is larger than %d bytes.", maxBody))
	case err != nil:
		return badRequest("The request body could not be read.")
	case len(bytes.TrimSpace(b)) == 0:
		return badRequest("The request body is empty; send a JSON object.")
	}
	if problem := wiretext.JSONTextProblem(b); problem != "" {
		return badRequest("The request body must be UTF-8 JSON text, as Azure Resource Manager's wire format is; " + problem + ", and such a value could not be stored as sent. Nothing was changed.")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return badRequest(jsonProblem(err))
	}
	return nil
}

func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return fmt.Sprintf("The request body is not valid: %s must be %s, not a JSON %s.", echo(te.Field), jsonKind(te.Type.Kind().String()), echo(te.Value))
	case errors.As(err, &te):
		return fmt.Sprintf("The request body must be a JSON object, not a JSON %s.", echo(te.Value))
	case errors.As(err, &se):
		return fmt.Sprintf("The request body is not valid JSON (at byte %d).", se.Offset)
	}
	return "The request body is not valid JSON."
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "a number"
	case k == "bool":
		return "true or false"
	case k == "string":
		return "a string"
	case k == "slice":
		return "an array"
	}
	return "an object"
}

func present(b json.RawMessage) bool {
	return len(b) > 0 && !bytes.Equal(bytes.TrimSpace(b), []byte("null"))
}

// settings checks and collects the properties Coffer stores and echoes without acting
// on them; nil when none is present.
func (p *vaultPropsIn) settings() (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	for name, b := range map[string]json.RawMessage{
		"enabledForDeployment":         p.EnabledForDeployment,
		"enabledForDiskEncryption":     p.EnabledForDiskEncryption,
		"enabledForTemplateDeployment": p.EnabledForTemplateDeployment,
	} {
		if !present(b) {
			continue
		}
		var x bool
		if json.Unmarshal(b, &x) != nil {
			return nil, badRequest("properties." + name + " must be true or false.")
		}
		out[name], _ = json.Marshal(x)
	}
	if present(p.PublicNetworkAccess) {
		var s string
		if json.Unmarshal(p.PublicNetworkAccess, &s) != nil || !oneOf(&s, "Enabled", "Disabled") {
			return nil, badRequest(`properties.publicNetworkAccess must be "Enabled" or "Disabled".`)
		}
		out["publicNetworkAccess"], _ = json.Marshal(s)
	}
	if present(p.NetworkACLs) {
		var n networkACLsIn
		if err := json.Unmarshal(p.NetworkACLs, &n); err != nil {
			return nil, badRequest("properties.networkAcls is not valid: " + jsonProblem(err))
		}
		if n.Bypass != nil && !oneOf(n.Bypass, "AzureServices", "None") {
			return nil, badRequest(`properties.networkAcls.bypass must be "AzureServices" or "None".`)
		}
		if n.DefaultAction != nil && !oneOf(n.DefaultAction, "Allow", "Deny") {
			return nil, badRequest(`properties.networkAcls.defaultAction must be "Allow" or "Deny".`)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, p.NetworkACLs); err != nil {
			return nil, badRequest("properties.networkAcls is not valid JSON.")
		}
		out["networkAcls"] = buf.Bytes()
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// oneOf reports whether *s is one of the values, case-insensitively, and sets *s to
// that value's spelling.
func oneOf(s *string, values ...string) bool {
	for _, v := range values {
		if strings.EqualFold(*s, v) {
			*s = v
			return true
		}
	}
	return false
}

// params turns the body into the domain's VaultParams for the vault in sub/rg.
func (b *vaultBody) params(sub, rg string) (vault.VaultParams, error) {
	p := vault.VaultParams{Subscription: sub, ResourceGroup: rg}
	if b.Location != nil {
		p.Location = *b.Location
	}
	if b.Tags != nil {
		p.Tags = map[string]string{}
		for k, v := range b.Tags {
			if v != nil {
				p.Tags[k] = *v
			} else {
				p.Tags[k] = ""
			}
		}
	}
	props := b.Properties
	if props == nil {
		return p, nil
	}
	if props.TenantID != nil {
		if *props.TenantID == "" {
			return p, badRequest("properties.tenantId must not be empty: use this server's tenant id.")
		}
		p.TenantID = *props.TenantID
	}
	if props.SKU != nil {
		if props.SKU.Family != nil && !strings.EqualFold(*props.SKU.Family, "A") {
			return p, badRequest(fmt.Sprintf(`properties.sku.family must be "A", not %q.`, echo(*props.SKU.Family)))
		}
		p.SKU = props.SKU.Name
	}
	if props.AccessPolicies != nil {
		ps := policiesOf(*props.AccessPolicies)
		p.AccessPolicies = &ps
	}
	p.SoftDelete = props.EnableSoftDelete
	p.RetentionDays = props.SoftDeleteRetentionInDays
	p.PurgeProtection = props.EnablePurgeProtection
	p.RBAC = props.EnableRbacAuthorization
	s, err := props.settings()
	if err != nil {
		return p, err
	}
	p.Settings = s
	return p, nil
}

// missingForCreate names what a create needs and the body lacks.
func (b *vaultBody) missingForCreate() []string {
	var miss []string
	if b.Location == nil || *b.Location == "" {
		miss = append(miss, "location")
	}
	if b.Properties == nil {
		return append(miss, "properties.tenantId", "properties.sku")
	}
	if b.Properties.TenantID == nil {
		miss = append(miss, "properties.tenantId")
	}
	if b.Properties.SKU == nil || b.Properties.SKU.Name == nil {
		miss = append(miss, "properties.sku")
	}
	return miss
}
