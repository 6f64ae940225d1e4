package vault

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
)

// The recycle bin: every soft-deleted vault and object, across vaults, in the one order
// a person reads it in — soonest purged first. The admin plane (GET /admin/recycle-bin)
// and the console list it through RecycleBin, each with its own access decision.

// recycleBinPage is how many deleted objects of one kind are read at a time.
const recycleBinPage = 200

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
	in := s.Internal()
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
			for _, kind := range []Kind{KindSecret, KindKey, KindCertificate} {
				if f.Objects == nil || !f.Objects(v, kind) {
					continue
				}
				add := func(o Object) { items = append(items, BinItem{Kind: kind, Vault: v, Name: o.Name, Lifecycle: o.Lifecycle}) }
				var err error
				switch kind {
				case KindSecret:
					err = pageAllDeleted(func(after string) ([]Secret, string, error) {
						return in.Secrets().ListDeleted(ctx, v.Name, after, recycleBinPage)
					}, func(x Secret) Object { return x.Object }, add)
				case KindKey:
					err = pageAllDeleted(func(after string) ([]Key, string, error) {
						return in.Keys().ListDeleted(ctx, v.Name, after, recycleBinPage)
					}, func(x Key) Object { return x.Object }, add)
				case KindCertificate:
					err = pageAllDeleted(func(after string) ([]Certificate, string, error) {
						return in.Certificates().ListDeleted(ctx, v.Name, after, recycleBinPage)
					}, func(x Certificate) Object { return x.Object }, add)
				}
				if err != nil {
					return nil, found, err
				}
			}
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

// pageAllDeleted reads every page of a list of deleted objects, following each page's
// next (a page may be short, or empty, and not be the last). A vault deleted meanwhile
// has no objects to show.
func pageAllDeleted[T any](list func(after string) ([]T, string, error), object func(T) Object, each func(Object)) error {
	after := ""
	for {
		items, next, err := list(after)
		if errors.Is(err, ErrVaultNotFound) {
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
