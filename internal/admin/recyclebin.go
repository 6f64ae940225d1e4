package admin

import (
	"net/http"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/authz"
	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/vault"
)

// recycleBinItem is one soft-deleted vault, secret, key or certificate as
// GET /admin/recycle-bin lists it.
type recycleBinItem struct {
	Kind               string    `json:"kind"` // vault, secret, key, certificate
	Vault              string    `json:"vault"`
	Name               string    `json:"name"`
	DeletedDate        time.Time `json:"deletedDate"`
	ScheduledPurgeDate time.Time `json:"scheduledPurgeDate"`
	TimeLeft           string    `json:"timeLeft"`     // until scheduledPurgeDate, e.g. "89d 23h"
	PurgeAllowed       bool      `json:"purgeAllowed"` // no purge protection, and the caller may purge it
	RecoveryID         string    `json:"recoveryId"`   // the deleted object's URL; a deleted vault's ARM id
}

// recycleBin answers GET /admin/recycle-bin[?vault=V]: for any principal with a
// management-plane token, the soft-deleted vaults (administrator only) and the
// soft-deleted secrets, keys and certificates of the live vaults whose access policies
// let the caller list that kind, in one list by scheduledPurgeDate. A vault named by
// ?vault= that does not exist, live or deleted, is 404 VaultNotFound for the
// administrator; anyone else gets an empty list, as for a vault it may not list.
func (a *Admin) recycleBin(w http.ResponseWriter, r *http.Request, c *plane.Call, _ string) error {
	p := c.Principal
	only := r.URL.Query().Get("vault")
	c.Event.Vault = only
	who := authz.Principal{ObjectID: p.ObjectID, Admin: p.Admin}
	perms := map[vault.Kind]string{vault.KindSecret: "secrets", vault.KindKey: "keys", vault.KindCertificate: "certificates"}
	bin, found, err := a.opts.Vaults.RecycleBin(r.Context(), vault.RecycleBinFilter{
		Vault:  only,
		Vaults: func(vault.Vault) bool { return p.Admin },
		Objects: func(v vault.Vault, kind vault.Kind) bool {
			ok, _ := authz.Decide(who, v.AccessPolicies, perms[kind]+"/list")
			return ok
		},
	})
	if err != nil {
		a.opts.Log.Error("recycle bin: list deleted vaults and objects", "err", err)
		return storageFailed(err, "The deleted vaults and objects could not be read.")
	}
	if only != "" && !found && p.Admin {
		// Only the administrator is told: anyone else gets the empty list a vault it may
		// not list answers, so that a name tells nothing about the vaults there are.
		return errorf(http.StatusNotFound, "VaultNotFound", "There is no vault "+quoteID(only)+", live or deleted.")
	}
	now := a.opts.Vaults.Now()
	items := make([]recycleBinItem, 0, len(bin))
	for _, d := range bin {
		it := recycleBinItem{Kind: string(d.Kind), Vault: d.Vault.Name, Name: d.Name,
			DeletedDate: d.DeletedDate, ScheduledPurgeDate: d.ScheduledPurgeDate,
			TimeLeft: vault.TimeLeft(d.ScheduledPurgeDate.Sub(now))}
		if d.Kind == vault.KindVault {
			it.PurgeAllowed = !d.Vault.PurgeProtection
			it.RecoveryID = "/subscriptions/" + d.Vault.Subscription + "/providers/Microsoft.KeyVault/locations/" + d.Vault.Location +
				"/deletedVaults/" + d.Vault.Name
		} else {
			mayPurge, _ := authz.Decide(who, d.Vault.AccessPolicies, perms[d.Kind]+"/purge")
			it.PurgeAllowed = !d.Vault.PurgeProtection && mayPurge
			it.RecoveryID = strings.TrimSuffix(a.opts.VaultURL(strings.ToLower(d.Vault.Name)), "/") + "/deleted" + string(d.Kind) + "s/" + d.Name
		}
		items = append(items, it)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"value": items})
}
