package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/authz"
	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/kvjson"
)

// This file is the vaults' own lifecycle (the ARM management plane's domain): create and
// update under Azure's one-way rules, soft-delete with everything inside, recover,
// purge (by hand, or by the scheduler when the retention ends) and access policies.

// VaultParams are the inputs of CreateOrUpdateVault; nil fields keep their value on
// update (az and the SDK update with a full PUT, so absence means "keep").
type VaultParams struct {
	Subscription, ResourceGroup, Location string
	TenantID                              string // "" → the server's
	SKU                                   *string
	Tags                                  map[string]string
	RetentionDays                         *int
	PurgeProtection                       *bool
	SoftDelete                            *bool
	RBAC                                  *bool
	AccessPolicies                        *[]authz.Policy
	Settings                              map[string]json.RawMessage // merged key by key
	// MustExist makes the call update only: a missing (or purged) vault is
	// ErrVaultNotFound instead of being created (ARM PATCH, and a PUT that lacks what a
	// create needs).
	MustExist bool
	// RBACByDefault makes a vault created without RBAC an RBAC vault (newer ARM
	// api-versions do so).
	RBACByDefault bool
}

// ValidVaultName applies Azure's vault name rule: 3–24 characters, a letter first, a
// letter or digit last, letters, digits and single hyphens between.
func ValidVaultName(s string) bool {
	if len(s) < 3 || len(s) > 24 || strings.Contains(s, "--") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		letter := c >= 'a' && c <= 'z'
		digit := s[i] >= '0' && s[i] <= '9'
		switch {
		case i == 0 && !letter:
			return false
		case i == len(s)-1 && !letter && !digit:
			return false
		case !letter && !digit && s[i] != '-':
			return false
		}
	}
	return true
}

func invalidVault(name, format string, args ...any) error {
	return &Error{Kind: ErrInvalidVault, ObjectKind: kindVault, Name: name, Detail: fmt.Sprintf(format, args...)}
}

// apply merges p into v (a new vault when created) under the one-way rules.
func (p VaultParams) apply(v *Vault, created bool, serverTenant string) error {
	name := v.Name
	if p.SoftDelete != nil && !*p.SoftDelete {
		return invalidVault(name, "Soft delete is always on in Coffer and cannot be turned off: leave enableSoftDelete true or absent.")
	}
	switch {
	case p.RBAC != nil:
		v.RBAC = *p.RBAC // either way, as often as asked: the access policies are kept
	case created && p.RBACByDefault:
		v.RBAC = true
	}
	if p.PurgeProtection != nil && !*p.PurgeProtection {
		return invalidVault(name, `The property "enablePurgeProtection" cannot be set to false. Enabling the purge protection for a vault is an irreversible action: leave it absent to keep purge protection off.`)
	}
	if p.TenantID != "" && !strings.EqualFold(p.TenantID, serverTenant) {
		return invalidVault(name, "The tenantId %s is not this server's tenant %s.", p.TenantID, serverTenant)
	}
	if p.RetentionDays != nil {
		d := *p.RetentionDays
		if d < MinRetentionDays || d > MaxRetentionDays {
			return invalidVault(name, "softDeleteRetentionInDays must be from %d to %d, not %d.", MinRetentionDays, MaxRetentionDays, d)
		}
		if !created && d != v.RetentionDays {
			return invalidVault(name, "softDeleteRetentionInDays is fixed when the vault is created (it is %d); it cannot be changed to %d.", v.RetentionDays, d)
		}
		v.RetentionDays = d
	}
	if p.PurgeProtection != nil {
		v.PurgeProtection = true
	}
	if p.SKU != nil {
		sku := strings.ToLower(*p.SKU)
		if sku != "standard" && sku != "premium" {
			return invalidVault(name, "sku.name must be standard or premium, not %q.", *p.SKU)
		}
		v.SKU = sku
	}
	if p.Tags != nil {
		if len(p.Tags) > 50 {
			return invalidVault(name, "A vault can have at most 50 tags.")
		}
		v.Tags = p.Tags
	}
	if p.AccessPolicies != nil {
		if err := checkPolicies(name, *p.AccessPolicies, serverTenant); err != nil {
			return err
		}
		v.AccessPolicies = *p.AccessPolicies
	}
	if p.Settings != nil {
		settings := maps.Clone(v.Settings) // v may share its maps with the decode cache
		if settings == nil {
			settings = map[string]json.RawMessage{}
		}
		maps.Copy(settings, p.Settings)
		v.Settings = settings
	}
	return nil
}

func checkPolicies(name string, ps []authz.Policy, serverTenant string) error {
	if len(ps) > 1024 {
		return invalidVault(name, "A vault can have at most 1024 access policies.")
	}
	for _, p := range ps {
		if p.ObjectID == "" {
			return invalidVault(name, "Every access policy needs an objectId.")
		}
		if p.TenantID != "" && !strings.EqualFold(p.TenantID, serverTenant) {
			return invalidVault(name, "The access policy for %s names tenant %s; it must be this server's tenant %s.", p.ObjectID, p.TenantID, serverTenant)
		}
		if err := p.Permissions.Check(); err != nil {
			return invalidVault(name, "The access policy for %s is invalid: %v.", p.ObjectID, err)
		}
	}
	return nil
}

// CreateOrUpdateVault creates the vault name, or updates it when it exists in the same
// subscription and resource group. created says which.
func (s Request) CreateOrUpdateVault(ctx context.Context, name string, p VaultParams) (v Vault, created bool, err error) {
	if !ValidVaultName(name) {
		return v, false, &Error{Kind: ErrVaultNameInvalid, ObjectKind: kindVault, Name: name,
			Detail: "The vault name should be string of 3 to 24 characters, start with a letter, end with a letter or digit, and contain only letters, digits and single hyphens."}
	}
	err = s.st.Update(ctx, func(tx storage.Tx) error {
		now := s.Now()
		cur, err := getVaultRecordForUpdate(tx, name)
		created = errors.Is(err, ErrVaultNotFound)
		if err != nil && !created {
			return err
		}
		if !created {
			if err := cur.CheckNameFree(now); err != nil {
				return err
			}
			switch cur.State(now) {
			case Purged: // its retention has ended: purge it now and take the name
				if err := purgeVaultTx(tx, ledger.ActionAutoPurge, autoPurge(nameReuse), cur, now); err != nil {
					return err
				}
				created = true
			default:
				if !strings.EqualFold(cur.Subscription, p.Subscription) || !strings.EqualFold(cur.ResourceGroup, p.ResourceGroup) {
					return &Error{Kind: ErrVaultNameTaken, ObjectKind: kindVault, Name: cur.Name}
				}
			}
		}
		if created {
			if err := checkNotImporting(tx, name, s.clk.Now()); err != nil {
				return err
			}
		}
		if created && p.MustExist {
			return &Error{Kind: ErrVaultNotFound, ObjectKind: kindVault, Name: name}
		}
		if created {
			cur = Vault{Name: name, RetentionDays: DefaultRetentionDays, Created: now, SKU: "standard",
				Subscription: p.Subscription, ResourceGroup: p.ResourceGroup, Location: p.Location, TenantID: s.tenant}
		}
		if err := p.apply(&cur, created, s.tenant); err != nil {
			return err
		}
		cur.Updated = now
		v = cur
		return tx.Put(vaultKey(name), mustJSON(cur))
	})
	return v, created, err
}

// ListVaults lists the live vaults of a subscription, and of a resource group when
// group is not "".
func (s *Service) ListVaults(ctx context.Context, subscription, group string) ([]Vault, error) {
	return s.listVaults(ctx, func(v Vault, now time.Time) bool {
		return v.State(now) == Active && strings.EqualFold(v.Subscription, subscription) &&
			(group == "" || strings.EqualFold(v.ResourceGroup, group))
	})
}

// ListDeletedVaults lists the soft-deleted vaults of a subscription.
func (s *Service) ListDeletedVaults(ctx context.Context, subscription string) ([]Vault, error) {
	return s.listVaults(ctx, func(v Vault, now time.Time) bool {
		return v.State(now) == Deleted && strings.EqualFold(v.Subscription, subscription)
	})
}

// AllVaults lists every vault record that is not purged, live or deleted.
func (s *Service) AllVaults(ctx context.Context) ([]Vault, error) {
	return s.listVaults(ctx, func(v Vault, now time.Time) bool { return v.State(now) != Purged })
}

func (s *Service) listVaults(ctx context.Context, keep func(Vault, time.Time) bool) ([]Vault, error) {
	var out []Vault
	err := s.st.View(ctx, func(tx storage.Tx) error {
		now := s.Now()
		es, err := tx.Scan(vaultsPrefix, "", 0)
		if err != nil {
			return err
		}
		out = out[:0]
		for _, e := range es {
			var v Vault
			if err := kvjson.Decode(e, &v); err != nil {
				return err
			}
			if keep(v, now) {
				out = append(out, v)
			}
		}
		return nil
	})
	return out, err
}

// GetDeletedVault returns a soft-deleted vault.
func (s *Service) GetDeletedVault(ctx context.Context, name string) (Vault, error) {
	var v Vault
	err := s.st.View(ctx, func(tx storage.Tx) error {
		var err error
		v, err = deletedVault(tx, name, s.Now())
		return err
	})
	return v, err
}

func deletedVault(tx storage.Tx, name string, now time.Time) (Vault, error) {
	v, err := getVaultRecordForUpdate(tx, name)
	if err == nil && v.State(now) != Deleted {
		err = &Error{Kind: ErrVaultNotFound, ObjectKind: kindVault, Name: name, Detail: "deleted"}
	}
	return v, err
}

// DeleteVault soft-deletes a vault with everything in it: its data plane stops
// answering, and objects keep their own states and dates for when it is recovered.
// existed is false when there was no live vault of that name.
func (s Request) DeleteVault(ctx context.Context, name string) (v Vault, existed bool, err error) {
	err = s.st.Update(ctx, func(tx storage.Tx) error {
		now := s.Now()
		var err error
		v, err = s.vault(tx, name)
		existed = err == nil
		if errors.Is(err, ErrVaultNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := v.SoftDelete(now); err != nil {
			return err
		}
		if err := tx.Put(vaultKey(name), mustJSON(v)); err != nil {
			return err
		}
		return vaultChange(ledger.ActionDelete, s.actor.entry(), v).after(tx, now)
	})
	return v, existed, err
}

// RecoverVault brings a deleted vault back with all its objects, live and deleted, with
// their own dates, its settings and its access policies.
func (s Request) RecoverVault(ctx context.Context, name string) (Vault, error) {
	var v Vault
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		now := s.Now()
		var err error
		v, err = deletedVault(tx, name, now)
		if err != nil {
			return err
		}
		c := vaultChange(ledger.ActionRecover, s.actor.entry(), v) // with the dates it undoes
		if err := v.Recover(now); err != nil {
			return err
		}
		v.Updated = now
		if err := tx.Put(vaultKey(name), mustJSON(v)); err != nil {
			return err
		}
		return c.after(tx, now)
	})
	return v, err
}

// PurgeVault removes a deleted vault and everything in it for good, freeing its name;
// purge protection refuses it until the retention ends.
func (s Request) PurgeVault(ctx context.Context, name string) error {
	return s.st.Update(ctx, func(tx storage.Tx) error {
		now := s.Now()
		v, err := deletedVault(tx, name, now)
		if err != nil {
			return err
		}
		if err := v.CheckPurge(now); err != nil {
			return err
		}
		return purgeVaultTx(tx, ledger.ActionPurge, s.actor.entry(), v, now)
	})
}

// purgeVaultTx purges the deleted vault v for good: its record and every key under it,
// the deleted objects inside with it (their notices and purge entries go with the
// vault's own, in its change). Other scheduler entries of objects inside (rotation,
// renewal, warnings) become stale and are dropped when they come due.
func purgeVaultTx(tx storage.Tx, action string, who ledger.Entry, v Vault, now time.Time) error {
	c := vaultChange(action, who, v)
	var err error
	if c.inside, err = deletedHeads(tx, v.Name, objectKinds); err != nil {
		return err
	}
	if err := c.after(tx, now); err != nil {
		return err
	}
	es, err := tx.Scan("v/"+lower(v.Name)+"/", "", 0)
	if err != nil {
		return err
	}
	for _, e := range es {
		if err := tx.Delete(e.Key); err != nil {
			return err
		}
	}
	return tx.Delete(vaultKey(v.Name))
}

// duePurgeVault purges a deleted vault whose retention has ended.
func (s *Service) duePurgeVault(tx storage.Tx, e dueEntry, now time.Time) (bool, error) {
	v, err := getVaultRecordForUpdate(tx, e.vault)
	if errors.Is(err, ErrVaultNotFound) || err == nil && v.ScheduledPurgeDate.Unix() != e.at {
		return false, tx.Delete(e.key) // recovered, purged by hand, or re-deleted later
	}
	if err != nil {
		return false, err
	}
	if v.State(now) != Purged {
		return false, nil
	}
	s.log.Info("purged a deleted vault at the end of its retention", "vault", v.Name, "scheduledPurgeDate", v.ScheduledPurgeDate)
	return true, purgeVaultTx(tx, ledger.ActionAutoPurge, autoPurge(""), v, now)
}

// UpdateAccessPolicies changes a live vault's access policies: "add" merges the given
// permissions into the entry of each object id (creating it), "replace" sets them,
// "remove" takes the given permissions away (and the entry when none is left).
func (s Request) UpdateAccessPolicies(ctx context.Context, name, op string, ps []authz.Policy) (Vault, error) {
	var v Vault
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		var err error
		v, err = s.vault(tx, name)
		if err != nil {
			return err
		}
		if op != "add" && op != "replace" && op != "remove" {
			return invalidVault(v.Name, "The access policy operation must be add, replace or remove, not %q.", op)
		}
		if err := checkPolicies(v.Name, ps, s.tenant); err != nil {
			return err
		}
		v.AccessPolicies = slices.Clone(v.AccessPolicies) // shared with the decode cache
		for _, p := range ps {
			v.AccessPolicies = applyPolicy(v.AccessPolicies, op, p)
		}
		v.Updated = s.Now()
		return tx.Put(vaultKey(name), mustJSON(v))
	})
	return v, err
}

func applyPolicy(list []authz.Policy, op string, p authz.Policy) []authz.Policy {
	i := -1
	for j := range list {
		if strings.EqualFold(list[j].ObjectID, p.ObjectID) {
			i = j
		}
	}
	if i < 0 {
		if op == "remove" {
			return list
		}
		return append(list, p)
	}
	cur := &list[i]
	switch op {
	case "replace":
		cur.Permissions = p.Permissions
	case "add":
		cur.Permissions.Keys = union(cur.Permissions.Keys, p.Permissions.Keys)
		cur.Permissions.Secrets = union(cur.Permissions.Secrets, p.Permissions.Secrets)
		cur.Permissions.Certificates = union(cur.Permissions.Certificates, p.Permissions.Certificates)
		cur.Permissions.Storage = union(cur.Permissions.Storage, p.Permissions.Storage)
	case "remove":
		cur.Permissions.Keys = minus(cur.Permissions.Keys, p.Permissions.Keys)
		cur.Permissions.Secrets = minus(cur.Permissions.Secrets, p.Permissions.Secrets)
		cur.Permissions.Certificates = minus(cur.Permissions.Certificates, p.Permissions.Certificates)
		cur.Permissions.Storage = minus(cur.Permissions.Storage, p.Permissions.Storage)
		pp := cur.Permissions
		if len(pp.Keys)+len(pp.Secrets)+len(pp.Certificates)+len(pp.Storage) == 0 {
			return append(list[:i], list[i+1:]...)
		}
	}
	return list
}

func union(a, b []string) []string {
	for _, x := range b {
		if !containsFold(a, x) {
			a = append(a, x)
		}
	}
	return a
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !containsFold(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// NameAvailability answers checkNameAvailability: whether name could be used by a new
// vault, and if not, why ("AccountNameInvalid" or "AlreadyExists") and what to do.
func (s *Service) NameAvailability(ctx context.Context, name string) (ok bool, reason, message string, err error) {
	if !ValidVaultName(name) {
		return false, "AccountNameInvalid", "The vault name should be string of 3 to 24 characters, start with a letter, end with a letter or digit, and contain only letters, digits and single hyphens.", nil
	}
	err = s.st.View(ctx, func(tx storage.Tx) error {
		v, err := getVaultRecord(tx, name)
		if errors.Is(err, ErrVaultNotFound) {
			ok = true
			return nil
		}
		if err != nil {
			return err
		}
		switch v.State(s.Now()) {
		case Purged:
			ok = true
		case Deleted:
			reason, message = "AlreadyExists", fmt.Sprintf("The vault name '%s' is in use by a soft-deleted vault, kept until %s: recover it (PUT with createMode recover) or purge it to free the name.", v.Name, v.ScheduledPurgeDate.Format(time.RFC3339))
		default:
			reason, message = "AlreadyExists", fmt.Sprintf("The vault name '%s' is already in use.", v.Name)
		}
		return nil
	})
	return ok, reason, message, err
}
