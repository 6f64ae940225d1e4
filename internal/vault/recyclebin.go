package vault

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/storage"
)

// The recycle bin: every soft-deleted vault and object, across vaults, in the one order
// a person reads it in — soonest purged first. The admin plane (GET /admin/recycle-bin)
// and the console list it through RecycleBin, each with its own access decision.

// BinItem is one soft-deleted vault, secret, key or certificate.
type BinItem struct {
	Kind  Kind  // "vault", "secret", "key" or "certificate"
	Vault Vault // the vault (for a deleted vault, its own record)
	Name  string
	Lifecycle
}

// KindVault is the Kind of a deleted vault in the recycle bin.
const KindVault = kindVault

// RecycleBinFilter says what RecycleBin lists.
type RecycleBinFilter struct {
	// Vault, when set, lists only that vault (any case); Found then says whether it
	// exists, live or deleted.
	Vault string
	// Vaults says whether a deleted vault is listed; nil lists none.
	Vaults func(Vault) bool
	// Objects says whether the deleted objects of kind in a live vault are listed.
	Objects func(v Vault, kind Kind) bool
}

// RecycleBin lists the soft-deleted vaults and objects f lets through, ordered by
// scheduled purge date, then kind (vault, secret, key, certificate), vault and name.
// found says whether f.Vault names a vault, live or deleted.
func (s *Service) RecycleBin(ctx context.Context, f RecycleBinFilter) (items []BinItem, found bool, err error) {
	vaults, err := s.AllVaults(ctx)
	if err != nil {
		return nil, false, err
	}
	now := s.Now()
	for _, v := range vaults {
		if f.Vault != "" && !strings.EqualFold(v.Name, f.Vault) {
			continue
		}
		found = true
		switch v.State(now) {
		case Deleted:
			if f.Vaults != nil && f.Vaults(v) {
				items = append(items, BinItem{Kind: kindVault, Vault: v, Name: v.Name, Lifecycle: v.Lifecycle})
			}
		case Active:
			var kinds []Kind
			for _, kind := range objectKinds {
				if f.Objects != nil && f.Objects(v, kind) {
					kinds = append(kinds, kind)
				}
			}
			got, err := s.deletedInVault(ctx, v, kinds, now)
			if err != nil {
				return nil, found, err
			}
			items = append(items, got...)
		}
	}
	for i := range items {
		items[i].DeletedDate = items[i].DeletedDate.UTC()
		items[i].ScheduledPurgeDate = items[i].ScheduledPurgeDate.UTC()
	}
	order := map[Kind]int{kindVault: 0, KindSecret: 1, KindKey: 2, KindCertificate: 3}
	slices.SortFunc(items, func(a, b BinItem) int {
		return cmp.Or(a.ScheduledPurgeDate.Compare(b.ScheduledPurgeDate), cmp.Compare(order[a.Kind], order[b.Kind]),
			cmp.Compare(strings.ToLower(a.Vault.Name), strings.ToLower(b.Vault.Name)), cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)))
	})
	return items, found, nil
}

// deletedInVault lists the recoverable deleted objects of these kinds in a live vault
// from their heads alone (no version is read: the bin shows names and dates). As the
// data plane's lists, it leaves out the key and secret behind a deleted certificate
// (listed with it) and a certificate whose first issuance never finished.
func (s *Service) deletedInVault(ctx context.Context, v Vault, kinds []Kind, now time.Time) ([]BinItem, error) {
	var out []BinItem
	err := s.st.View(ctx, func(tx storage.Tx) error {
		heads, err := deletedHeads(tx, v.Name, kinds)
		if err != nil {
			return err
		}
		out = out[:0]
		for _, o := range heads {
			if o.State(now) == Purged || o.backsCertificate() || o.Latest == "" {
				continue
			}
			out = append(out, BinItem{Kind: o.Kind, Vault: v, Name: o.Name, Lifecycle: o.Lifecycle})
		}
		return nil
	})
	return out, err
}

// TimeLeft is a duration until a purge as a person reads it: "89d 23h", "5h 12m", "7m",
// or "<1m" — the recycle bin's column, in the admin plane's answer and the console.
func TimeLeft(d time.Duration) string {
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
