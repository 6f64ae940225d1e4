package admin

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/authz"
	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/vault"
)

// recycleBinPage is how many deleted objects of one kind are read at a time.
const recycleBinPage = 200

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
	ctx := r.Context()
	vaults, err := a.opts.Vaults.AllVaults(ctx)
	if err != nil {
		return a.internal("recycle bin: list vaults", err, "The vaults could not be read.")
	}
	now := a.opts.Vaults.Now()
	who := authz.Principal{ObjectID: p.ObjectID, Admin: p.Admin}
	items := []recycleBinItem{}
	found := false
	for _, v := range vaults {
		if only != "" && !strings.EqualFold(v.Name, only) {
			continue
		}
		found = true
		switch v.State(now) {
		case vault.Deleted:
			if p.Admin {
				items = append(items, recycleBinItem{
					Kind: "vault", Vault: v.Name, Name: v.Name,
					DeletedDate: v.DeletedDate, ScheduledPurgeDate: v.ScheduledPurgeDate,
					PurgeAllowed: !v.PurgeProtection,
					RecoveryID: "/subscriptions/" + v.Subscription + "/providers/Microsoft.KeyVault/locations/" + v.Location +
						"/deletedVaults/" + v.Name,
				})
			}
		case vault.Active:
			got, err := a.deletedObjects(r, v, who)
			if err != nil {
				a.opts.Log.Error("recycle bin: list deleted objects", "vault", v.Name, "err", err)
				return storageFailed(err, "The deleted objects of vault "+v.Name+" could not be read.")
			}
			items = append(items, got...)
		}
	}
	if only != "" && !found && p.Admin {
		// Only the administrator is told: anyone else gets the empty list a vault it may
		// not list answers, so that a name tells nothing about the vaults there are.
		return errorf(http.StatusNotFound, "VaultNotFound", "There is no vault "+quoteID(only)+", live or deleted.")
	}
	for i := range items {
		items[i].DeletedDate = items[i].DeletedDate.UTC()
		items[i].ScheduledPurgeDate = items[i].ScheduledPurgeDate.UTC()
		items[i].TimeLeft = timeLeft(items[i].ScheduledPurgeDate.Sub(now))
	}
	order := map[string]int{"vault": 0, "secret": 1, "key": 2, "certificate": 3}
	slices.SortFunc(items, func(a, b recycleBinItem) int {
		return cmp.Or(a.ScheduledPurgeDate.Compare(b.ScheduledPurgeDate), cmp.Compare(order[a.Kind], order[b.Kind]),
			cmp.Compare(strings.ToLower(a.Vault), strings.ToLower(b.Vault)), cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)))
	})
	return writeJSON(w, http.StatusOK, map[string]any{"value": items})
}

// deletedObjects lists the soft-deleted secrets, keys and certificates of a live vault,
// of the kinds the caller may list there.
func (a *Admin) deletedObjects(r *http.Request, v vault.Vault, who authz.Principal) ([]recycleBinItem, error) {
	ctx := r.Context()
	base := strings.TrimSuffix(a.opts.VaultURL(strings.ToLower(v.Name)), "/")
	var out []recycleBinItem
	add := func(kind, perms string, o vault.Object) {
		mayPurge, _ := authz.Decide(who, v.AccessPolicies, perms+"/purge")
		out = append(out, recycleBinItem{
			Kind: kind, Vault: v.Name, Name: o.Name,
			DeletedDate: o.DeletedDate, ScheduledPurgeDate: o.ScheduledPurgeDate,
			PurgeAllowed: !v.PurgeProtection && mayPurge,
			RecoveryID:   base + "/deleted" + kind + "s/" + o.Name,
		})
	}
	may := func(perms string) bool {
		ok, _ := authz.Decide(who, v.AccessPolicies, perms+"/list")
		return ok
	}
	if may("secrets") {
		if err := pageAll(func(after string) ([]vault.Secret, string, error) {
			return a.opts.Vaults.Internal().Secrets().ListDeleted(ctx, v.Name, after, recycleBinPage)
		}, func(x vault.Secret) vault.Object { return x.Object }, func(o vault.Object) { add("secret", "secrets", o) }); err != nil {
			return out, err
		}
	}
	if may("keys") {
		if err := pageAll(func(after string) ([]vault.Key, string, error) {
			return a.opts.Vaults.Internal().Keys().ListDeleted(ctx, v.Name, after, recycleBinPage)
		}, func(x vault.Key) vault.Object { return x.Object }, func(o vault.Object) { add("key", "keys", o) }); err != nil {
			return out, err
		}
	}
	if may("certificates") {
		if err := pageAll(func(after string) ([]vault.Certificate, string, error) {
			return a.opts.Vaults.Internal().Certificates().ListDeleted(ctx, v.Name, after, recycleBinPage)
		}, func(x vault.Certificate) vault.Object { return x.Object }, func(o vault.Object) { add("certificate", "certificates", o) }); err != nil {
			return out, err
		}
	}
	return out, nil
}

// pageAll reads every page of a list of deleted objects, following each page's next (a
// page may be short, or empty, and not be the last). A vault deleted meanwhile has no
// objects to show.
func pageAll[T any](list func(after string) ([]T, string, error), object func(T) vault.Object, each func(vault.Object)) error {
	after := ""
	for {
		items, next, err := list(after)
		if errors.Is(err, vault.ErrVaultNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, it := range items {
			each(object(it))
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

// timeLeft is a duration until a purge as a person reads it: "89d 23h", "5h 12m", "7m",
// "<1m".
func timeLeft(d time.Duration) string {
	if d < time.Minute {
		return "<1m"
	}
	days, rest := d/(24*time.Hour), d%(24*time.Hour)
	hours, mins := rest/time.Hour, (rest%time.Hour)/time.Minute
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh %dm", hours, mins)
	}
	return fmt.Sprintf("%dm", mins)
}
