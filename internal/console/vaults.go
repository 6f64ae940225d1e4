package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/vault"
)

// objectPage is how many objects (or versions) one page of a vault shows.
const objectPage = 25

type vaultRow struct {
	Name, Model                   string
	RetentionDays                 int
	PurgeProtection               bool
	Created                       time.Time
	MaySecrets, MayKeys, MayCerts bool
}

type vaultsData struct{ Vaults []vaultRow }

// vaults lists the live vaults the principal may list anything in.
func (c *Console) vaults(w http.ResponseWriter, r *http.Request, req *call) error {
	req.Event.Decision = "allowed: the list holds what the principal may list"
	all, err := c.opts.Vaults.AllVaults(r.Context())
	if err != nil {
		return err
	}
	now := c.opts.Vaults.Now()
	var d vaultsData
	for _, v := range all {
		if v.State(now) != vault.Active || !req.access.sees(v) {
			continue
		}
		d.Vaults = append(d.Vaults, vaultRow{Name: v.Name, Model: model(v), RetentionDays: v.RetentionDays, PurgeProtection: v.PurgeProtection,
			Created: v.Created, MaySecrets: req.access.may(v, ops["secrets"]["list"], ""), MayKeys: req.access.may(v, ops["keys"]["list"], ""),
			MayCerts: req.access.may(v, ops["certificates"]["list"], "")})
	}
	slices.SortFunc(d.Vaults, func(a, b vaultRow) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	c.render(w, req, http.StatusOK, "vaults", page{Title: "Vaults", Nav: "vaults", Data: d})
	return nil
}

func model(v vault.Vault) string {
	if v.RBAC {
		return "Azure RBAC (role assignments)"
	}
	return "Access policies"
}

// objRow is one object (or one version) in a list.
type objRow struct {
	Name, Version, ContentType string
	Enabled                    bool
	Created, Updated           time.Time
	NotBefore, Expires         time.Time
	Tags                       map[string]string
	Managed                    bool
}

type policyRow struct{ ObjectID, Name, Secrets, Keys, Certificates string }
type assignmentRow struct{ Principal, Role, Scope string }

type vaultData struct {
	Vault                  vault.Vault
	Model                  string
	Collection             string
	Collections            []string
	Objects                []objRow
	Next                   string
	ListRefused            string // why this collection is not shown
	MaySet                 bool
	Policies               []policyRow
	Assignments            []assignmentRow
	AssignmentsUnavailable bool
}

// vaultPages serves GET /console/vaults/{vault} and /console/vaults/{vault}/{kind}/{name}.
func (c *Console) vaultPages(w http.ResponseWriter, r *http.Request, req *call) error {
	parts := strings.Split(req.arg, "/")
	switch {
	case len(parts) == 1 && parts[0] != "":
		return c.vaultPage(w, r, req, parts[0])
	case len(parts) == 3 && ops[parts[1]] != nil && parts[2] != "":
		return c.objectPage(w, r, req, parts[0], parts[1], parts[2], nil)
	}
	c.errorPage(w, r, req, http.StatusNotFound, "Page not found", "The console has no page at this address.")
	return nil
}

// vaultPage shows a vault's settings, one page of its objects of one kind, and who may
// use it.
func (c *Console) vaultPage(w http.ResponseWriter, r *http.Request, req *call, name string) error {
	ctx := r.Context()
	coll := r.URL.Query().Get("kind")
	if ops[coll] == nil {
		coll = "secrets"
	}
	req.Event.Vault = name
	o := ops[coll]["list"]
	req.Event.Operation = o.name
	var listWhy string
	// The page is shown to a principal that may list anything in the vault; the
	// decision recorded is the one for the list shown.
	vr := c.opts.Vaults.As(req.actor(), func(v vault.Vault) error {
		if !req.access.sees(v) {
			_, why := req.access.decide(v, o, "")
			req.Event.Decision = "denied: " + why
			return hiddenVault(name)
		}
		ok, why := req.access.decide(v, o, "")
		if !ok {
			listWhy = why
			req.Event.Decision = "denied: " + why
		} else {
			req.Event.Decision = "allowed: " + why
		}
		return nil
	})
	v, err := vr.GetVault(ctx, name)
	if err != nil {
		return err
	}
	d := vaultData{Vault: v, Model: model(v), Collection: coll, Collections: collections,
		MaySet: req.access.may(v, ops["secrets"]["set"], "")}
	if listWhy != "" {
		d.ListRefused = "You may not list the " + coll + " of this vault. Reason: " + listWhy + "."
	} else {
		after := r.URL.Query().Get("after")
		var next string
		d.Objects, next, err = objects[coll].list(ctx, vr, v.Name, after)
		if err != nil {
			return err
		}
		if next != "" {
			d.Next = "/console/vaults/" + url.PathEscape(v.Name) + "?" + url.Values{"kind": {coll}, "after": {next}}.Encode()
		}
	}
	if err := c.whoMay(ctx, v, &d); err != nil {
		return err
	}
	c.render(w, req, http.StatusOK, "vault", page{Title: "Vault " + v.Name, Nav: "vaults", Data: d})
	return nil
}

func row(o vault.Object, version, ct string, a vault.Attributes) objRow {
	return objRow{Name: o.Name, Version: version, ContentType: ct, Enabled: a.Enabled, Created: a.Created, Updated: a.Updated,
		NotBefore: a.NotBefore, Expires: a.Expires, Tags: a.Tags, Managed: o.Managed}
}

// whoMay fills in the vault's access policies, or its role assignments, read-only.
func (c *Console) whoMay(ctx context.Context, v vault.Vault, d *vaultData) error {
	names := map[string]string{}
	if ps, err := c.opts.Principals.ListPrincipals(ctx); err == nil {
		for _, p := range ps {
			names[strings.ToLower(p.ObjectID)] = p.Name
		}
	}
	named := func(oid string) string {
		if n := names[strings.ToLower(oid)]; n != "" {
			return n + " (" + oid + ")"
		}
		return oid
	}
	if !v.RBAC {
		for _, p := range v.AccessPolicies {
			d.Policies = append(d.Policies, policyRow{ObjectID: p.ObjectID, Name: named(p.ObjectID),
				Secrets: perms(p.Permissions.Secrets), Keys: perms(p.Permissions.Keys), Certificates: perms(p.Permissions.Certificates)})
		}
		return nil
	}
	if c.opts.RBAC == nil {
		d.AssignmentsUnavailable = true
		return nil
	}
	as, err := c.opts.RBAC.Assignments(ctx)
	if err != nil {
		return err
	}
	scope := rbac.VaultScope(v.Subscription, v.ResourceGroup, v.Name)
	view, err := c.opts.RBAC.View(ctx)
	if err != nil {
		return err
	}
	for _, a := range as {
		if !rbac.Within(scope, a.Scope) && !rbac.Within(a.Scope, scope) {
			continue
		}
		role := a.RoleDefinitionID
		if def, ok := view.Role(a.RoleDefinitionID); ok {
			role = def.RoleName
		}
		d.Assignments = append(d.Assignments, assignmentRow{Principal: named(a.PrincipalID), Role: role, Scope: a.Scope})
	}
	return nil
}

func perms(p []string) string {
	if len(p) == 0 {
		return "none"
	}
	return strings.Join(p, ", ")
}

// objectData is an object's page.
type objectData struct {
	Vault          vault.Vault
	Collection     string
	Kind           string // secret, key, certificate
	Name           string
	Versions       []objRow
	Next           string
	Revealed       *revealed
	MayGet, MaySet bool
	MayUpdate      bool
	MayDelete      bool
	Managed        bool
	// VersionsRefused: the principal may not list the versions (it was shown a value).
	VersionsRefused bool
}

type revealed struct{ Version, Value, ContentType string }

// objectPage shows an object's versions and attributes. rv, when set, is a secret value
// the person asked to see (by POST: a value never travels in a URL).
func (c *Console) objectPage(w http.ResponseWriter, r *http.Request, req *call, vname, coll, name string, rv *revealed) error {
	ctx := r.Context()
	o := ops[coll]["list"]
	if rv == nil {
		req.Event.Operation = map[string]string{"secrets": "ListSecretVersions", "keys": "ListKeyVersions", "certificates": "ListCertificateVersions"}[coll]
		req.Event.Vault, req.Event.ObjectID = vname, coll+"/"+name
	}
	decide := req.decider(o, name, "see the versions of "+strings.TrimSuffix(coll, "s")+" "+name+" in vault "+vname)
	if rv != nil {
		decide = func(vault.Vault) error { return nil } // the reveal was decided and recorded already
	}
	vr := c.opts.Vaults.As(req.actor(), decide)
	v, err := vr.GetVault(ctx, vname)
	if err != nil {
		return err
	}
	d := objectData{Vault: v, Collection: coll, Kind: strings.TrimSuffix(coll, "s"), Name: name, Revealed: rv,
		MayGet: coll == "secrets" && req.access.may(v, ops["secrets"]["get"], name), MaySet: coll == "secrets" && req.access.may(v, ops["secrets"]["set"], name),
		MayUpdate: req.access.may(v, ops[coll]["update"], name), MayDelete: req.access.may(v, ops[coll]["delete"], name)}
	if rv != nil && !req.access.may(v, o, name) {
		// A principal that may read the value but not list the versions sees the value
		// alone, as through the API.
		d.VersionsRefused = true
		c.render(w, req, http.StatusOK, "object", page{Title: d.Kind + " " + d.Name, Nav: "vaults", Data: d})
		return nil
	}
	after := r.URL.Query().Get("after")
	var next string
	d.Versions, next, err = objects[coll].versions(ctx, vr, vname, name, after)
	if n := len(d.Versions); n > 0 {
		d.Name, d.Managed = d.Versions[n-1].Name, d.Versions[n-1].Managed
	}
	if err != nil {
		return err
	}
	if len(d.Versions) == 0 && after == "" {
		return &vault.Error{Kind: vault.ErrNotFound, ObjectKind: vault.Kind(d.Kind), Name: name}
	}
	if d.Managed {
		d.MaySet, d.MayUpdate, d.MayDelete = false, false, false
	}
	if next != "" {
		d.Next = "/console/vaults/" + url.PathEscape(v.Name) + "/" + coll + "/" + url.PathEscape(name) + "?" + url.Values{"after": {next}}.Encode()
	}
	c.render(w, req, http.StatusOK, "object", page{Title: d.Kind + " " + d.Name, Nav: "vaults", Data: d})
	return nil
}
