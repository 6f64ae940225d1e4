package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/spf13/pflag"
)

// permFlags are az's --key-permissions, --secret-permissions, --certificate-permissions
// and --storage-permissions. Each takes a list: comma-separated, space-separated in one
// argument, or the flag repeated.
type permFlags struct {
	Keys, Secrets, Certificates, Storage []string
	fs                                   *pflag.FlagSet
}

func (o *permFlags) AddFlags(fs *pflag.FlagSet) {
	o.fs = fs
	fs.StringSliceVar(&o.Keys, "key-permissions", nil, "key permissions: "+enumList(armkeyvault.PossibleKeyPermissionsValues()))
	fs.StringSliceVar(&o.Secrets, "secret-permissions", nil, "secret permissions: "+enumList(armkeyvault.PossibleSecretPermissionsValues()))
	fs.StringSliceVar(&o.Certificates, "certificate-permissions", nil, "certificate permissions: "+enumList(armkeyvault.PossibleCertificatePermissionsValues()))
	fs.StringSliceVar(&o.Storage, "storage-permissions", nil, "storage permissions: "+enumList(armkeyvault.PossibleStoragePermissionsValues()))
}

// permSet is a parsed set of permissions; a nil list is a type the command did not name.
type permSet struct {
	perms armkeyvault.Permissions
}

// parse validates the permissions against armkeyvault's enums (case-insensitively, as
// Azure does), keeps the first of duplicates (as az does) and writes them
// in the enum's spelling. A flag given with no value means "no permissions of this type".
func (o *permFlags) parse() (permSet, error) {
	var s permSet
	for _, p := range []struct {
		flag  string
		parse func(flag string) error
	}{
		{"key-permissions", permsInto(&s.perms.Keys, o.Keys, armkeyvault.PossibleKeyPermissionsValues())},
		{"secret-permissions", permsInto(&s.perms.Secrets, o.Secrets, armkeyvault.PossibleSecretPermissionsValues())},
		{"certificate-permissions", permsInto(&s.perms.Certificates, o.Certificates, armkeyvault.PossibleCertificatePermissionsValues())},
		{"storage-permissions", permsInto(&s.perms.Storage, o.Storage, armkeyvault.PossibleStoragePermissionsValues())},
	} {
		if o.fs != nil && o.fs.Changed(p.flag) {
			if err := p.parse(p.flag); err != nil {
				return s, err
			}
		}
	}
	return s, nil
}

// accessPolicies reads the vault's resource group, tenant and access policies, for
// set-policy and delete-policy.
func (r *vaultRun) accessPolicies(ref *vaultRef) (rg, tenant string, policies []*armkeyvault.AccessPolicyEntry, err error) {
	if rg, err = ref.group(r.ctx, r.vc); err != nil {
		return "", "", nil, err
	}
	got, err := r.vc.Get(r.ctx, rg, ref.Name, nil)
	if err != nil {
		return "", "", nil, err
	}
	if p := got.Properties; p != nil {
		tenant, policies = deref(p.TenantID), p.AccessPolicies
	}
	return rg, tenant, policies, nil
}

// updateAccessPolicies sends one UpdateAccessPolicy, reads the vault back, has check
// confirm that it shows the change, and prints the vault with its access policies.
func (r *vaultRun) updateAccessPolicies(ref *vaultRef, rg string, kind armkeyvault.AccessPolicyUpdateKind, entries []*armkeyvault.AccessPolicyEntry, check func(after *armkeyvault.VaultProperties) error) error {
	if _, err := r.vc.UpdateAccessPolicy(r.ctx, rg, ref.Name, kind, armkeyvault.VaultAccessPolicyParameters{
		Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: entries},
	}, nil); err != nil {
		return err
	}
	after, err := r.vc.Get(r.ctx, rg, ref.Name, nil)
	if err != nil {
		return err
	}
	if err := check(after.Properties); err != nil {
		return err
	}
	return printOut(r.cmd.OutOrStdout(), r.output, after.Vault, vaultTable(after.Vault))
}

// permsInto parses the permissions of one flag into dst.
func permsInto[T ~string](dst *[]*T, raw []string, valid []T) func(flag string) error {
	return func(flag string) (err error) {
		*dst, err = parsePerms(flag, raw, valid)
		return err
	}
}

func parsePerms[T ~string](flag string, raw []string, valid []T) ([]*T, error) {
	out := []*T{}
	seen := map[T]bool{}
	for _, r := range raw {
		for _, w := range strings.Fields(r) {
			i := slices.IndexFunc(valid, func(v T) bool { return strings.EqualFold(string(v), w) })
			if i < 0 {
				return nil, &hintError{code: exitUsage, err: fmt.Errorf("--%s: unknown permission %q", flag, w),
					hints: []string{"valid: " + enumList(valid)}}
			}
			if v := valid[i]; !seen[v] {
				seen[v] = true
				out = append(out, &v)
			}
		}
	}
	return out, nil
}

func enumList[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// findPolicy returns the index of the entry az would pick for objectID: same object id
// and tenant (case-insensitive), no application id; -1 when there is none.
func findPolicy(ps []*armkeyvault.AccessPolicyEntry, tenant, objectID string) int {
	return slices.IndexFunc(ps, func(p *armkeyvault.AccessPolicyEntry) bool {
		return p != nil && strings.EqualFold(deref(p.ObjectID), objectID) &&
			strings.EqualFold(deref(p.TenantID), tenant) && deref(p.ApplicationID) == ""
	})
}

// planSetPolicy decides the UpdateAccessPolicy call that gives objectID, as az's
// set-policy does, the permission lists of s for the types s names, keeping the types it
// does not name. A new entry is an add. A change that only grants is an add of the whole
// new entry (Azure's add merges, so the result is the new entry). A change that takes
// permissions away is a replace of the vault's whole list with that entry changed: the
// same result whether replace swaps the named entries or the whole list.
func planSetPolicy(ps []*armkeyvault.AccessPolicyEntry, tenant, objectID string, s permSet) (armkeyvault.AccessPolicyUpdateKind, []*armkeyvault.AccessPolicyEntry) {
	i := findPolicy(ps, tenant, objectID)
	if i < 0 {
		p := s.perms
		return armkeyvault.AccessPolicyUpdateKindAdd, []*armkeyvault.AccessPolicyEntry{{
			TenantID: &tenant, ObjectID: &objectID, Permissions: &p,
		}}
	}
	old := armkeyvault.Permissions{}
	if ps[i].Permissions != nil {
		old = *ps[i].Permissions
	}
	next := old
	grantsOnly := true
	if s.perms.Keys != nil {
		next.Keys, grantsOnly = s.perms.Keys, grantsOnly && superset(s.perms.Keys, old.Keys)
	}
	if s.perms.Secrets != nil {
		next.Secrets, grantsOnly = s.perms.Secrets, grantsOnly && superset(s.perms.Secrets, old.Secrets)
	}
	if s.perms.Certificates != nil {
		next.Certificates, grantsOnly = s.perms.Certificates, grantsOnly && superset(s.perms.Certificates, old.Certificates)
	}
	if s.perms.Storage != nil {
		next.Storage, grantsOnly = s.perms.Storage, grantsOnly && superset(s.perms.Storage, old.Storage)
	}
	entry := &armkeyvault.AccessPolicyEntry{TenantID: ps[i].TenantID, ObjectID: ps[i].ObjectID, Permissions: &next}
	if grantsOnly {
		return armkeyvault.AccessPolicyUpdateKindAdd, []*armkeyvault.AccessPolicyEntry{entry}
	}
	all := make([]*armkeyvault.AccessPolicyEntry, 0, len(ps))
	for j, p := range ps {
		if p == nil {
			continue
		}
		if j == i {
			p = entry
		}
		all = append(all, p)
	}
	return armkeyvault.AccessPolicyUpdateKindReplace, all
}

// superset reports whether every permission in b is in a (case-insensitive).
func superset[T ~string](a, b []*T) bool {
	for _, y := range b {
		if y == nil {
			continue
		}
		if !slices.ContainsFunc(a, func(x *T) bool { return x != nil && strings.EqualFold(string(*x), string(*y)) }) {
			return false
		}
	}
	return true
}

// sameSet reports whether a and b hold the same permissions (case-insensitive).
func sameSet[T ~string](a, b []*T) bool { return superset(a, b) && superset(b, a) }

// applied reports whether the vault's entry for objectID has the lists s names.
func applied(ps []*armkeyvault.AccessPolicyEntry, tenant, objectID string, s permSet) bool {
	i := findPolicy(ps, tenant, objectID)
	if i < 0 {
		return false
	}
	got := armkeyvault.Permissions{}
	if ps[i].Permissions != nil {
		got = *ps[i].Permissions
	}
	return (s.perms.Keys == nil || sameSet(got.Keys, s.perms.Keys)) &&
		(s.perms.Secrets == nil || sameSet(got.Secrets, s.perms.Secrets)) &&
		(s.perms.Certificates == nil || sameSet(got.Certificates, s.perms.Certificates)) &&
		(s.perms.Storage == nil || sameSet(got.Storage, s.perms.Storage))
}
