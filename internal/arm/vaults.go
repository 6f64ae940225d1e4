package arm

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/coffer/coffer/internal/vault"
)

// inScope reports whether v lives in subscription sub and, when rg is not "", in
// resource group rg (ARM compares both case-insensitively).
func inScope(v vault.Vault, sub, rg string) bool {
	return strings.EqualFold(v.Subscription, sub) && (rg == "" || strings.EqualFold(v.ResourceGroup, rg))
}

func vaultNotFound(p params) error {
	return &armError{http.StatusNotFound, "ResourceNotFound",
		"The Resource '" + typeVault + "/" + p.shown("name") + "' under resource group '" + p.shown("rg") +
			"' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"}
}

// liveVault returns the live vault of the path, or 404 when there is none in its
// subscription and group.
func (a *API) liveVault(r *http.Request, p params, c Caller) (vault.Vault, error) {
	v, err := c.vaults.GetVault(r.Context(), p["name"])
	if errors.Is(err, vault.ErrVaultNotFound) || err == nil && !inScope(v, p["sub"], p["rg"]) {
		return v, vaultNotFound(p)
	}
	return v, err
}

func (a *API) getVault(w http.ResponseWriter, r *http.Request, p params, c Caller) error {
	v, err := a.liveVault(r, p, c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.vaultJSON(v))
}

// putVault creates (201) or updates (200) a vault, or recovers a deleted one with
// createMode "recover" (200). An update keeps what the body leaves out.
func (a *API) putVault(w http.ResponseWriter, r *http.Request, p params, c Caller) error {
	var b vaultBody
	if err := decodeBody(w, r, &b); err != nil {
		return err
	}
	if b.Properties != nil && b.Properties.CreateMode != nil {
		switch mode := *b.Properties.CreateMode; {
		case strings.EqualFold(mode, "recover"):
			return a.recoverVault(w, r, p, c, &b)
		case strings.EqualFold(mode, "default"):
		default:
			return badRequest(fmt.Sprintf(`properties.createMode must be "default" or "recover", not %q.`, echo(mode)))
		}
	}
	vp, err := b.params(p["sub"], p["rg"])
	if err != nil {
		return err
	}
	// A body without what a create needs can only update: if the vault is gone by the
	// time the domain looks, that is the 400 below, never a half-specified vault.
	missing := b.missingForCreate()
	vp.MustExist = len(missing) > 0
	vp.RBACByDefault = rbacByDefault(r.URL.Query().Get("api-version"))
	if b.Location != nil {
		cur, err := c.vaults.GetVault(r.Context(), p["name"])
		if err == nil && inScope(cur, p["sub"], p["rg"]) && !sameLocation(cur.Location, *b.Location) {
			return &armError{http.StatusBadRequest, "InvalidResourceLocation",
				fmt.Sprintf("The resource '%s' already exists in location '%s' in resource group '%s'. A resource with the same name cannot be created in location '%s'. Please select a new resource name.",
					cur.Name, cur.Location, cur.ResourceGroup, echo(*b.Location))}
		}
	}
	v, created, err := c.vaults.CreateOrUpdateVault(r.Context(), p["name"], vp)
	if vp.MustExist && errors.Is(err, vault.ErrVaultNotFound) {
		return badRequest("To create the vault '" + p.shown("name") + "', the body needs location, properties.tenantId and properties.sku " +
			"({\"family\":\"A\",\"name\":\"standard\"}); it lacks " + strings.Join(missing, ", ") + ".")
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, a.vaultJSON(v))
}

// recoverVault is PUT with createMode "recover": the deleted vault of this subscription
// and group comes back with its contents and its own settings (the rest of the body is
// not applied, as in Azure). A vault already live here answers 200 too, so a retried
// recover succeeds.
func (a *API) recoverVault(w http.ResponseWriter, r *http.Request, p params, c Caller, b *vaultBody) error {
	ctx := r.Context()
	name := p["name"]
	notDeleted := func() error {
		if v, err := c.vaults.GetVault(ctx, name); err == nil && inScope(v, p["sub"], p["rg"]) {
			return writeJSON(w, http.StatusOK, a.vaultJSON(v))
		}
		return &armError{http.StatusNotFound, "ResourceNotFound",
			"There is no deleted vault '" + echo(name) + "' in resource group '" + p.shown("rg") + "' of subscription '" + p.shown("sub") +
				"' to recover. GET /subscriptions/{sub}/providers/Microsoft.KeyVault/deletedVaults lists the deleted vaults."}
	}
	d, err := a.opts.Vaults.GetDeletedVault(ctx, name)
	if errors.Is(err, vault.ErrVaultNotFound) || err == nil && !inScope(d, p["sub"], p["rg"]) {
		return notDeleted()
	}
	if err != nil {
		return err
	}
	if b.Location != nil && !sameLocation(d.Location, *b.Location) {
		return &armError{http.StatusBadRequest, "InvalidResourceLocation",
			fmt.Sprintf("The deleted vault '%s' was in location '%s'; recover it there, not in '%s'.", d.Name, d.Location, echo(*b.Location))}
	}
	v, err := c.vaults.RecoverVault(ctx, name)
	a.rolesMoved()
	if errors.Is(err, vault.ErrVaultNotFound) {
		return notDeleted() // recovered or purged meanwhile
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.vaultJSON(v))
}

// rolesMoved: a vault's delete or recover moved its role assignments (in the vault
// domain's transaction): this server's view of them is stale at once, not in a second.
func (a *API) rolesMoved() {
	if a.opts.RBAC != nil {
		a.opts.RBAC.Invalidate()
	}
}

// patchVault updates a live vault under the same rules as PUT; it never creates one.
func (a *API) patchVault(w http.ResponseWriter, r *http.Request, p params, c Caller) error {
	var b vaultBody
	if err := decodeBody(w, r, &b); err != nil {
		return err
	}
	if b.Properties != nil && b.Properties.CreateMode != nil && !strings.EqualFold(*b.Properties.CreateMode, "default") {
		return badRequest(`PATCH cannot recover a vault: send PUT with properties.createMode "recover".`)
	}
	if _, err := a.liveVault(r, p, c); err != nil {
		return err
	}
	b.Location = nil // PATCH has no location; the vault keeps its own
	vp, err := b.params(p["sub"], p["rg"])
	if err != nil {
		return err
	}
	vp.MustExist = true
	v, _, err := c.vaults.CreateOrUpdateVault(r.Context(), p["name"], vp)
	if errors.Is(err, vault.ErrVaultNotFound) || errors.Is(err, vault.ErrVaultDeletedName) {
		return vaultNotFound(p) // deleted meanwhile
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.vaultJSON(v))
}

// deleteVault soft-deletes a vault with everything in it: 200, or 204 when there is no
// such vault here.
func (a *API) deleteVault(w http.ResponseWriter, r *http.Request, p params, c Caller) error {
	_, err := a.liveVault(r, p, c)
	var ae *armError
	if errors.As(err, &ae) && ae.status == http.StatusNotFound {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	_, existed, err := c.vaults.DeleteVault(r.Context(), p["name"])
	a.rolesMoved()
	if err != nil {
		return err
	}
	if !existed {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// updateAccessPolicies is PUT …/accessPolicies/{add|replace|remove}: add merges
// permissions into each object id's entry, replace sets them, remove takes them away.
// The answer echoes the policies sent, as Azure does.
func (a *API) updateAccessPolicies(w http.ResponseWriter, r *http.Request, p params, c Caller) error {
	op := lower(p["op"])
	if op != "add" && op != "replace" && op != "remove" {
		return badRequest("The access policy operation must be add, replace or remove, not '" + p.shown("op") + "'.")
	}
	var b struct {
		Properties *struct {
			AccessPolicies *[]policyJSON `json:"accessPolicies"`
		} `json:"properties"`
	}
	if err := decodeBody(w, r, &b); err != nil {
		return err
	}
	if b.Properties == nil || b.Properties.AccessPolicies == nil {
		return badRequest(`The body must be {"properties":{"accessPolicies":[...]}}.`)
	}
	if _, err := a.liveVault(r, p, c); err != nil {
		return err
	}
	ps := policiesOf(*b.Properties.AccessPolicies)
	v, err := c.vaults.UpdateAccessPolicies(r.Context(), p["name"], op, ps)
	if errors.Is(err, vault.ErrVaultNotFound) {
		return vaultNotFound(p)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"id": vaultID(v) + "/accessPolicies/" + op, "name": op, "type": typePolicies, "location": v.Location,
		"properties": map[string]any{"accessPolicies": a.policiesJSON(ps)},
	})
}

func (a *API) listVaultsByGroup(w http.ResponseWriter, r *http.Request, p params, c Caller) error {
	return a.listVaults(w, r, c, p["sub"], p["rg"])
}

func (a *API) listVaultsBySubscription(w http.ResponseWriter, r *http.Request, p params, c Caller) error {
	return a.listVaults(w, r, c, p["sub"], "")
}

// listVaults lists the live vaults of a subscription or group: those the caller may
// read, when it may not read the whole list.
func (a *API) listVaults(w http.ResponseWriter, r *http.Request, c Caller, sub, rg string) error {
	vs, err := a.opts.Vaults.ListVaults(r.Context(), sub, rg)
	if err != nil {
		return err
	}
	items := make([]vaultJSON, 0, len(vs))
	for _, v := range vs {
		ok, err := a.mayRead(r, c, "Microsoft.KeyVault/vaults/read", vaultID(v))
		if err != nil {
			return err
		}
		if ok {
			items = append(items, a.vaultJSON(v))
		}
	}
	return writePage(a, w, r, items)
}

// checkName is POST …/checkNameAvailability: whether a new vault could take the name,
// and if not why.
func (a *API) checkName(w http.ResponseWriter, r *http.Request, _ params, _ Caller) error {
	var b struct {
		Name *string `json:"name"`
		Type *string `json:"type"`
	}
	if err := decodeBody(w, r, &b); err != nil {
		return err
	}
	if b.Name == nil {
		return badRequest(`The body must be {"name":"<vault name>","type":"Microsoft.KeyVault/vaults"}.`)
	}
	if b.Type != nil && !strings.EqualFold(*b.Type, typeVault) {
		return badRequest(fmt.Sprintf(`type must be "%s", not %q.`, typeVault, echo(*b.Type)))
	}
	ok, reason, msg, err := a.opts.Vaults.NameAvailability(r.Context(), *b.Name)
	if err != nil {
		return err
	}
	out := map[string]any{"nameAvailable": ok}
	if !ok {
		out["reason"], out["message"] = reason, msg
	}
	return writeJSON(w, http.StatusOK, out)
}
