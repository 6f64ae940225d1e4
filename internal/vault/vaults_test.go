package vault_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/authz"
	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/vault"
)

const tenant = "00000000-0000-0000-0000-00000000000a"

// armHarness is a harness whose service has a tenant, as the ARM plane's has.
func armHarness(t *testing.T) *harness {
	h := newHarness(t)
	s, err := vault.Open(bg, vault.Options{Storage: h.st, Clock: h.clk, TenantID: tenant, Log: discardLogger()})
	must(t, err)
	h.s = s
	return h
}

var sub1 = vault.VaultParams{Subscription: "sub1", ResourceGroup: "rg", Location: "westeurope"}

// armVault creates a vault in sub1 through the management plane's operation.
func (h *harness) armVault(name string, days int, protected bool) vault.Vault {
	h.t.Helper()
	p := sub1
	p.RetentionDays = &days
	if protected {
		p.PurgeProtection = &protected
	}
	v, _, err := h.s.Internal().CreateOrUpdateVault(bg, name, p)
	must(h.t, err)
	return v
}

func TestCreateOrUpdateVault(t *testing.T) {
	h := armHarness(t)
	r := h.s.Internal()
	v, created, err := r.CreateOrUpdateVault(bg, "Vault-1", sub1)
	must(t, err)
	if !created || v.Name != "Vault-1" || v.RetentionDays != 90 || v.SKU != "standard" || v.TenantID != tenant || v.PurgeProtection ||
		!v.Created.Equal(t0) || !v.Updated.Equal(t0) || v.Location != "westeurope" || v.RecoveryLevel() != "Recoverable+Purgeable" {
		t.Fatalf("created %+v", v)
	}
	if got, err := r.GetVault(bg, "vault-1"); err != nil || got.Name != "Vault-1" {
		t.Fatalf("get %+v %v", got, err)
	}

	// An update keeps what it is not given and applies the one-way rules.
	h.advance(time.Hour)
	p := sub1
	p.SKU, p.PurgeProtection, p.Tags = ptr("Premium"), ptr(true), map[string]string{"env": "test"}
	p.Settings = map[string]json.RawMessage{"enabledForDeployment": json.RawMessage("true")}
	p.AccessPolicies = &[]authz.Policy{{ObjectID: "alice", Permissions: authz.Permissions{Secrets: []string{"get"}}}}
	v, created, err = r.CreateOrUpdateVault(bg, "VAULT-1", p)
	must(t, err)
	if created || v.SKU != "premium" || !v.PurgeProtection || v.Tags["env"] != "test" || string(v.Settings["enabledForDeployment"]) != "true" ||
		len(v.AccessPolicies) != 1 || !v.Created.Equal(t0) || !v.Updated.Equal(h.s.Now()) || v.Name != "Vault-1" {
		t.Fatalf("updated %+v", v)
	}
	p = sub1
	p.Settings = map[string]json.RawMessage{"publicNetworkAccess": json.RawMessage(`"Disabled"`)}
	v, _, err = r.CreateOrUpdateVault(bg, "vault-1", p)
	must(t, err)
	if !v.PurgeProtection || v.SKU != "premium" || len(v.Settings) != 2 || len(v.AccessPolicies) != 1 {
		t.Fatalf("update without those fields %+v", v)
	}

	tooManyTags := map[string]string{}
	for i := range 51 {
		tooManyTags[strings.Repeat("t", i+1)] = "x"
	}
	for _, tc := range []struct {
		name, vault string
		p           vault.VaultParams
		want        error
	}{
		{"bad-name", "1abc", sub1, vault.ErrVaultNameInvalid},
		{"double-hyphen", "ab--cd", sub1, vault.ErrVaultNameInvalid},
		{"too-long", strings.Repeat("a", 25), sub1, vault.ErrVaultNameInvalid},
		{"taken", "vault-1", vault.VaultParams{Subscription: "sub2", ResourceGroup: "rg"}, vault.ErrVaultNameTaken},
		{"must-exist", "vault-2", vault.VaultParams{Subscription: "sub1", ResourceGroup: "rg", MustExist: true}, vault.ErrVaultNotFound},
		{"soft-delete-off", "vault-2", withP(func(p *vault.VaultParams) { p.SoftDelete = ptr(false) }), vault.ErrInvalidVault},
		{"protection-off", "vault-1", withP(func(p *vault.VaultParams) { p.PurgeProtection = ptr(false) }), vault.ErrInvalidVault},
		{"other-tenant", "vault-2", withP(func(p *vault.VaultParams) { p.TenantID = "other" }), vault.ErrInvalidVault},
		{"retention-short", "vault-2", withP(func(p *vault.VaultParams) { p.RetentionDays = ptr(6) }), vault.ErrInvalidVault},
		{"retention-long", "vault-2", withP(func(p *vault.VaultParams) { p.RetentionDays = ptr(91) }), vault.ErrInvalidVault},
		{"retention-change", "vault-1", withP(func(p *vault.VaultParams) { p.RetentionDays = ptr(30) }), vault.ErrInvalidVault},
		{"sku", "vault-2", withP(func(p *vault.VaultParams) { p.SKU = ptr("gold") }), vault.ErrInvalidVault},
		{"tags", "vault-2", withP(func(p *vault.VaultParams) { p.Tags = tooManyTags }), vault.ErrInvalidVault},
		{"policy-no-object", "vault-2", withPolicies(authz.Policy{}), vault.ErrInvalidVault},
		{"policy-tenant", "vault-2", withPolicies(authz.Policy{ObjectID: "a", TenantID: "other"}), vault.ErrInvalidVault},
		{"policy-permission", "vault-2", withPolicies(authz.Policy{ObjectID: "a", Permissions: authz.Permissions{Keys: []string{"fly"}}}), vault.ErrInvalidVault},
	} {
		_, _, err := r.CreateOrUpdateVault(bg, tc.vault, tc.p)
		var ve *vault.Error
		if !errors.Is(err, tc.want) || !errors.As(err, &ve) || tc.want == vault.ErrInvalidVault && ve.Detail == "" {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := r.GetVault(bg, "vault-2"); !errors.Is(err, vault.ErrVaultNotFound) {
		t.Fatalf("a refused create stored a vault: %v", err)
	}
	// Retention is fixed at creation, and may be given again unchanged.
	p = sub1
	p.RetentionDays = ptr(7)
	v, _, err = r.CreateOrUpdateVault(bg, "vault-2", p)
	must(t, err)
	if v.RetentionDays != 7 || v.RecoveryLevel() != "CustomizedRecoverable+Purgeable" {
		t.Fatalf("vault-2 %+v", v)
	}
	_, _, err = r.CreateOrUpdateVault(bg, "vault-2", p)
	must(t, err)
}

func withP(f func(*vault.VaultParams)) vault.VaultParams {
	p := sub1
	f(&p)
	return p
}

func withPolicies(ps ...authz.Policy) vault.VaultParams {
	return withP(func(p *vault.VaultParams) { p.AccessPolicies = &ps })
}

// TestVaultLifecycle: a deleted vault stops answering with everything in it kept, its
// name reserved; recovered, its objects come back with their own states; purged, its
// name is free.
func TestVaultLifecycle(t *testing.T) {
	h := armHarness(t)
	r := h.s.Internal()
	h.armVault("kv1", 7, false)
	_, err := r.SetSecret(bg, "kv1", "live", vault.SecretParams{Value: "x"})
	must(t, err)
	_, err = r.SetSecret(bg, "kv1", "gone", vault.SecretParams{Value: "y"})
	must(t, err)
	gone, err := r.Secrets().Delete(bg, "kv1", "gone")
	must(t, err)

	_, err = r.RecoverVault(bg, "kv1")
	wantErr(t, err, vault.ErrVaultNotFound)
	wantErr(t, r.PurgeVault(bg, "kv1"), vault.ErrVaultNotFound)
	if _, err := h.s.GetDeletedVault(bg, "kv1"); !errors.Is(err, vault.ErrVaultNotFound) {
		t.Fatalf("a live vault is not deleted: %v", err)
	}

	h.advance(time.Hour)
	v, existed, err := r.DeleteVault(bg, "KV1")
	must(t, err)
	if !existed || !v.DeletedDate.Equal(h.s.Now()) || !v.ScheduledPurgeDate.Equal(h.s.Now().Add(7*24*time.Hour)) || v.State(h.s.Now()) != vault.Deleted {
		t.Fatalf("deleted %+v", v)
	}
	if _, existed, err := r.DeleteVault(bg, "kv1"); existed || err != nil {
		t.Fatalf("second delete: %v %v", existed, err)
	}
	if _, err := r.GetSecret(bg, "kv1", "live", ""); !errors.Is(err, vault.ErrVaultNotFound) {
		t.Fatalf("the data plane of a deleted vault answers: %v", err)
	}
	if _, err := r.GetVault(bg, "kv1"); !errors.Is(err, vault.ErrVaultNotFound) {
		t.Fatalf("get of a deleted vault: %v", err)
	}
	if d, err := h.s.GetDeletedVault(bg, "kv1"); err != nil || !d.DeletedDate.Equal(v.DeletedDate) {
		t.Fatalf("get deleted %+v %v", d, err)
	}
	_, _, err = r.CreateOrUpdateVault(bg, "kv1", sub1)
	var ve *vault.Error
	if !errors.Is(err, vault.ErrVaultDeletedName) || !errors.As(err, &ve) || !ve.ScheduledPurgeDate.Equal(v.ScheduledPurgeDate) {
		t.Fatalf("create over a deleted vault: %v", err)
	}
	if ok, reason, msg, err := h.s.NameAvailability(bg, "kv1"); ok || reason != "AlreadyExists" || !strings.Contains(msg, "soft-deleted") || err != nil {
		t.Fatalf("availability %v %q %q %v", ok, reason, msg, err)
	}

	h.advance(time.Hour)
	rec, err := r.RecoverVault(bg, "kv1")
	must(t, err)
	if !rec.DeletedDate.IsZero() || !rec.Updated.Equal(h.s.Now()) {
		t.Fatalf("recovered %+v", rec)
	}
	if s, err := r.GetSecret(bg, "kv1", "live", ""); err != nil || s.Value != "x" {
		t.Fatalf("live secret after recover %v", err)
	}
	if d, err := r.Secrets().GetDeleted(bg, "kv1", "gone"); err != nil || !d.Object.ScheduledPurgeDate.Equal(gone.Object.ScheduledPurgeDate) {
		t.Fatalf("deleted secret keeps its own dates: %v", err)
	}

	_, _, err = r.DeleteVault(bg, "kv1")
	must(t, err)
	must(t, r.PurgeVault(bg, "kv1"))
	if ks := h.keys("v/kv1/"); len(ks) != 0 {
		t.Fatalf("purge left %v", ks)
	}
	if _, err := h.s.GetDeletedVault(bg, "kv1"); !errors.Is(err, vault.ErrVaultNotFound) {
		t.Fatalf("purged vault: %v", err)
	}
	if ok, _, _, err := h.s.NameAvailability(bg, "kv1"); !ok || err != nil {
		t.Fatalf("name not free: %v", err)
	}
	if _, created, err := r.CreateOrUpdateVault(bg, "kv1", sub1); !created || err != nil {
		t.Fatalf("create after purge: %v %v", created, err)
	}
	if _, err := r.GetSecret(bg, "kv1", "live", ""); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("the new vault has the old one's secret: %v", err)
	}
	es := ledgerEntries(t, h.s, ledger.Filter{Kind: "vault"})
	if got := summary(es); got != "delete vault kv1 by sweeper\nrecover vault kv1 by sweeper\ndelete vault kv1 by sweeper\npurge vault kv1 by sweeper" {
		t.Fatalf("ledger:\n%s", got)
	}
}

// TestVaultPurgeProtection: a protected vault cannot be purged by hand; the sweeper
// purges it when its retention ends, and only then is its name free.
func TestVaultPurgeProtection(t *testing.T) {
	h := armHarness(t)
	r := h.s.Internal()
	h.armVault("kv1", 7, true)
	_, err := r.SetSecret(bg, "kv1", "s", vault.SecretParams{Value: "x"})
	must(t, err)
	v, _, err := r.DeleteVault(bg, "kv1")
	must(t, err)
	err = r.PurgeVault(bg, "kv1")
	var ve *vault.Error
	if !errors.Is(err, vault.ErrVaultPurgeProtected) || !errors.As(err, &ve) || !ve.ScheduledPurgeDate.Equal(v.ScheduledPurgeDate) {
		t.Fatalf("purge under protection: %v", err)
	}
	h.advance(7*24*time.Hour - time.Second)
	if n := h.sweep(); n != 0 {
		t.Fatalf("swept early: %d", n)
	}
	if _, err := h.s.GetDeletedVault(bg, "kv1"); err != nil {
		t.Fatalf("a second before: %v", err)
	}
	h.advance(time.Second)
	if _, err := h.s.GetDeletedVault(bg, "kv1"); !errors.Is(err, vault.ErrVaultNotFound) {
		t.Fatalf("at the date: %v", err)
	}
	if n := h.sweep(); n != 1 {
		t.Fatalf("sweep: %d", n)
	}
	if ks := append(h.keys("v/kv1/"), h.keys("vaults/")...); len(ks) != 0 {
		t.Fatalf("the sweeper left %v", ks)
	}
	if c := h.s.SchedulerCounts(); c["purge-vault"] != 1 {
		t.Fatalf("counts %v", c)
	}
}

// TestVaultNameReuseAfterRetention: a deleted vault past its date gives its name to a new
// vault before the sweeper comes, and the ledger records the automatic purge.
func TestVaultNameReuseAfterRetention(t *testing.T) {
	h := armHarness(t)
	r := h.s.Internal()
	h.armVault("kv1", 7, false)
	_, err := r.SetSecret(bg, "kv1", "old", vault.SecretParams{Value: "x"})
	must(t, err)
	_, _, err = r.DeleteVault(bg, "kv1")
	must(t, err)
	h.advance(8 * 24 * time.Hour)
	if ok, _, _, err := h.s.NameAvailability(bg, "kv1"); !ok || err != nil {
		t.Fatalf("availability after the retention: %v", err)
	}
	if _, err := r.RecoverVault(bg, "kv1"); !errors.Is(err, vault.ErrVaultNotFound) {
		t.Fatalf("recover after the retention: %v", err)
	}
	v, created, err := r.CreateOrUpdateVault(bg, "kv1", sub1)
	must(t, err)
	if !created || v.RetentionDays != 90 {
		t.Fatalf("created %v %+v", created, v)
	}
	if _, err := r.GetSecret(bg, "kv1", "old", ""); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("old secret: %v", err)
	}
	es := ledgerEntries(t, h.s, ledger.Filter{Kind: "vault"})
	last := es[len(es)-1]
	if last.Action != ledger.ActionAutoPurge || last.Note == "" || last.LateBySeconds != 24*3600 {
		t.Fatalf("ledger %+v", last)
	}
	if n := h.sweep(); n != 0 {
		t.Fatalf("the sweeper found %d things after the name was taken", n)
	}
}

func TestListVaults(t *testing.T) {
	h := armHarness(t)
	r := h.s.Internal()
	for _, v := range []struct{ name, sub, rg string }{{"a-1", "s1", "g1"}, {"b-1", "s1", "g2"}, {"c-1", "s2", "g1"}, {"d-1", "s1", "g1"}} {
		_, _, err := r.CreateOrUpdateVault(bg, v.name, vault.VaultParams{Subscription: v.sub, ResourceGroup: v.rg})
		must(t, err)
	}
	_, _, err := r.DeleteVault(bg, "d-1")
	must(t, err)
	vaultNames := func(vs []vault.Vault, err error) string {
		t.Helper()
		must(t, err)
		var out []string
		for _, v := range vs {
			out = append(out, v.Name)
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	for _, tc := range []struct{ got, want string }{
		{vaultNames(h.s.ListVaults(bg, "S1", "")), "a-1 b-1"},
		{vaultNames(h.s.ListVaults(bg, "s1", "G1")), "a-1"},
		{vaultNames(h.s.ListDeletedVaults(bg, "s1")), "d-1"},
		{vaultNames(h.s.ListDeletedVaults(bg, "s2")), ""},
		{vaultNames(h.s.AllVaults(bg)), "a-1 b-1 c-1 d-1"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	h.advance(91 * 24 * time.Hour) // d-1's retention has ended; it is purged for every list
	if got := vaultNames(h.s.AllVaults(bg)); got != "a-1 b-1 c-1" {
		t.Fatalf("after the retention: %q", got)
	}
	if got := vaultNames(h.s.ListDeletedVaults(bg, "s1")); got != "" {
		t.Fatalf("deleted after the retention: %q", got)
	}
}

func TestNameAvailability(t *testing.T) {
	h := armHarness(t)
	_, _, err := h.s.Internal().CreateOrUpdateVault(bg, "taken", sub1)
	must(t, err)
	for _, tc := range []struct {
		name   string
		ok     bool
		reason string
	}{
		{"free-name", true, ""},
		{"TAKEN", false, "AlreadyExists"},
		{"-bad", false, "AccountNameInvalid"},
	} {
		ok, reason, msg, err := h.s.NameAvailability(bg, tc.name)
		if err != nil || ok != tc.ok || reason != tc.reason || ok != (msg == "") {
			t.Errorf("%s: %v %q %q %v", tc.name, ok, reason, msg, err)
		}
	}
}

func TestUpdateAccessPolicies(t *testing.T) {
	h := armHarness(t)
	r := h.s.Internal()
	p := sub1
	p.AccessPolicies = &[]authz.Policy{{ObjectID: "alice", Permissions: authz.Permissions{Secrets: []string{"get"}, Keys: []string{"get"}}}}
	_, _, err := r.CreateOrUpdateVault(bg, "kv1", p)
	must(t, err)
	perms := func(v vault.Vault, err error) string {
		t.Helper()
		must(t, err)
		var out []string
		for _, p := range v.AccessPolicies {
			out = append(out, p.ObjectID+":"+strings.Join(p.Permissions.Secrets, ",")+"/"+strings.Join(p.Permissions.Keys, ","))
		}
		return strings.Join(out, " ")
	}
	steps := []struct {
		op   string
		p    authz.Policy
		want string
	}{
		{"add", authz.Policy{ObjectID: "ALICE", Permissions: authz.Permissions{Secrets: []string{"get", "list"}}}, "alice:get,list/get"},
		{"add", authz.Policy{ObjectID: "bob", Permissions: authz.Permissions{Keys: []string{"sign"}}}, "alice:get,list/get bob:/sign"},
		{"remove", authz.Policy{ObjectID: "alice", Permissions: authz.Permissions{Secrets: []string{"GET"}}}, "alice:list/get bob:/sign"},
		{"replace", authz.Policy{ObjectID: "alice", Permissions: authz.Permissions{Certificates: []string{"get"}}}, "alice:/ bob:/sign"},
		{"remove", authz.Policy{ObjectID: "bob", Permissions: authz.Permissions{Keys: []string{"sign"}}}, "alice:/"},
		{"remove", authz.Policy{ObjectID: "nobody", Permissions: authz.Permissions{Keys: []string{"sign"}}}, "alice:/"},
	}
	for _, st := range steps {
		if got := perms(r.UpdateAccessPolicies(bg, "kv1", st.op, []authz.Policy{st.p})); got != st.want {
			t.Fatalf("%s %s: %q, want %q", st.op, st.p.ObjectID, got, st.want)
		}
	}
	if got := perms(r.GetVault(bg, "kv1")); got != "alice:/" {
		t.Fatalf("stored %q", got)
	}
	_, err = r.UpdateAccessPolicies(bg, "kv1", "merge", nil)
	wantErr(t, err, vault.ErrInvalidVault)
	_, err = r.UpdateAccessPolicies(bg, "kv1", "add", []authz.Policy{{}})
	wantErr(t, err, vault.ErrInvalidVault)
	_, err = r.UpdateAccessPolicies(bg, "nope", "add", nil)
	wantErr(t, err, vault.ErrVaultNotFound)
}

func TestEnsureVault(t *testing.T) {
	h := newHarness(t)
	v, created, err := h.s.EnsureVault(bg, vault.Vault{Name: "kv1", RetentionDays: 30})
	must(t, err)
	if !created || !v.Created.Equal(t0) {
		t.Fatalf("ensure %v %+v", created, v)
	}
	h.advance(time.Hour)
	again, created, err := h.s.EnsureVault(bg, vault.Vault{Name: "KV1", RetentionDays: 7})
	must(t, err)
	if created || again.RetentionDays != 30 || !again.Created.Equal(t0) {
		t.Fatalf("ensure again %v %+v", created, again)
	}
}
