package server_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/coffer/coffer/internal/testenv"
)

const (
	armSub   = "5e1f0000-1111-4222-8333-444455556666"
	armSub2  = "5e1f0000-9999-4222-8333-444455556666"
	kvAPI    = "api-version=2024-11-01"
	armOther = "0b0e0000-0000-4000-8000-00000000beef" // an object id for access policies
)

var fastPoll = &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond}

// vaultParams is what a user of armkeyvault sends to create a vault.
func vaultParams(st *testenv.Stack, location string, retention int32, protect bool) armkeyvault.VaultCreateOrUpdateParameters {
	p := armkeyvault.VaultCreateOrUpdateParameters{
		Location: to.Ptr(location),
		Tags:     map[string]*string{"env": to.Ptr("test")},
		Properties: &armkeyvault.VaultProperties{
			TenantID:                  to.Ptr(st.Creds.TenantID),
			SKU:                       &armkeyvault.SKU{Family: to.Ptr(armkeyvault.SKUFamilyA), Name: to.Ptr(armkeyvault.SKUNameStandard)},
			AccessPolicies:            []*armkeyvault.AccessPolicyEntry{},
			EnableSoftDelete:          to.Ptr(true),
			SoftDeleteRetentionInDays: to.Ptr(retention),
		},
	}
	if protect {
		p.Properties.EnablePurgeProtection = to.Ptr(true)
	}
	return p
}

func createVault(t *testing.T, c *armkeyvault.VaultsClient, rg, name string, p armkeyvault.VaultCreateOrUpdateParameters) armkeyvault.Vault {
	t.Helper()
	poller, err := c.BeginCreateOrUpdate(t.Context(), rg, name, p, nil)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	if !poller.Done() {
		t.Fatalf("create %s: the poller is not done after the PUT (the answer must be synchronous)", name)
	}
	res, err := poller.PollUntilDone(t.Context(), fastPoll)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return res.Vault
}

func purge(t *testing.T, c *armkeyvault.VaultsClient, name, location string) error {
	t.Helper()
	poller, err := c.BeginPurgeDeleted(t.Context(), name, location, nil)
	if err != nil {
		return err
	}
	_, err = poller.PollUntilDone(t.Context(), fastPoll)
	return err
}

func policyNames(ps []*armkeyvault.AccessPolicyEntry) map[string][]string {
	out := map[string][]string{}
	for _, p := range ps {
		var s []string
		for _, x := range p.Permissions.Secrets {
			s = append(s, string(*x))
		}
		slices.Sort(s)
		out[*p.ObjectID] = s
	}
	return out
}

func TestARMVaultLifecycle(t *testing.T) {
	st := testenv.NewStack(t)
	c := st.Vaults(t, armSub)
	ctx := t.Context()
	const rg, name, loc = "rg-one", "Arm-Vault1", "westus"

	// Create: retention 7, purge protection; the answer is the vault, done at once.
	p := vaultParams(st, loc, 7, true)
	p.Properties.AccessPolicies = []*armkeyvault.AccessPolicyEntry{{
		TenantID: to.Ptr(st.Creds.TenantID), ObjectID: to.Ptr(armOther),
		Permissions: &armkeyvault.Permissions{Secrets: []*armkeyvault.SecretPermissions{to.Ptr(armkeyvault.SecretPermissionsGet)}},
	}}
	v := createVault(t, c, rg, name, p)
	wantID := "/subscriptions/" + armSub + "/resourceGroups/" + rg + "/providers/Microsoft.KeyVault/vaults/" + name
	pr := v.Properties
	switch {
	case *v.ID != wantID, *v.Name != name, *v.Type != "Microsoft.KeyVault/vaults", *v.Location != loc, *v.Tags["env"] != "test":
		t.Fatalf("vault %s %s %s %s %v", *v.ID, *v.Name, *v.Type, *v.Location, v.Tags)
	case *pr.VaultURI != st.Server.VaultURL("arm-vault1"):
		t.Fatalf("vaultUri %s, want %s", *pr.VaultURI, st.Server.VaultURL("arm-vault1"))
	case *pr.ProvisioningState != armkeyvault.VaultProvisioningStateSucceeded, *pr.TenantID != st.Creds.TenantID,
		*pr.SKU.Name != armkeyvault.SKUNameStandard, *pr.SKU.Family != armkeyvault.SKUFamilyA:
		t.Fatalf("properties %+v", pr)
	case !*pr.EnableSoftDelete, *pr.SoftDeleteRetentionInDays != 7, pr.EnablePurgeProtection == nil || !*pr.EnablePurgeProtection,
		*pr.EnableRbacAuthorization, *pr.PublicNetworkAccess != "Enabled":
		t.Fatalf("safety properties %+v", pr)
	case v.SystemData == nil || v.SystemData.CreatedAt == nil || time.Since(*v.SystemData.CreatedAt) > time.Minute:
		t.Fatalf("systemData %+v", v.SystemData)
	}
	if got := policyNames(pr.AccessPolicies); fmt.Sprint(got) != fmt.Sprint(map[string][]string{armOther: {"get"}}) {
		t.Fatalf("policies %v", got)
	}

	// Get; names are case-insensitive and keep the case given at creation.
	got, err := c.Get(ctx, rg, "ARM-VAULT1", nil)
	if err != nil || *got.Name != name || *got.ID != wantID {
		t.Fatalf("get: %v %v", err, got.Name)
	}

	// Update through a PUT that leaves things out: they keep their values.
	upd := armkeyvault.VaultCreateOrUpdateParameters{
		Location: to.Ptr(loc), Tags: map[string]*string{"env": to.Ptr("prod")},
		Properties: &armkeyvault.VaultProperties{TenantID: to.Ptr(st.Creds.TenantID),
			SKU:                  &armkeyvault.SKU{Family: to.Ptr(armkeyvault.SKUFamilyA), Name: to.Ptr(armkeyvault.SKUNamePremium)},
			EnabledForDeployment: to.Ptr(true)},
	}
	v = createVault(t, c, rg, name, upd)
	pr = v.Properties
	if *v.Tags["env"] != "prod" || *pr.SKU.Name != armkeyvault.SKUNamePremium || !*pr.EnabledForDeployment ||
		*pr.SoftDeleteRetentionInDays != 7 || !*pr.EnablePurgeProtection || len(pr.AccessPolicies) != 1 {
		t.Fatalf("after update %+v", pr)
	}

	// Updates that break the one-way rules: 400, and nothing changes.
	for _, tc := range []struct {
		name string
		mod  func(*armkeyvault.VaultProperties)
	}{
		{"fail/retention-changed", func(p *armkeyvault.VaultProperties) { p.SoftDeleteRetentionInDays = to.Ptr[int32](30) }},
		{"fail/purge-protection-false", func(p *armkeyvault.VaultProperties) { p.EnablePurgeProtection = to.Ptr(false) }},
		{"fail/soft-delete-false", func(p *armkeyvault.VaultProperties) { p.EnableSoftDelete = to.Ptr(false) }},
		{"fail/other-tenant", func(p *armkeyvault.VaultProperties) { p.TenantID = to.Ptr("00000000-0000-4000-8000-000000000001") }},
		{"fail/policy-without-object-id", func(p *armkeyvault.VaultProperties) {
			p.AccessPolicies = []*armkeyvault.AccessPolicyEntry{{TenantID: to.Ptr(st.Creds.TenantID), Permissions: &armkeyvault.Permissions{}}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := vaultParams(st, loc, 7, false)
			bad.Properties.AccessPolicies = nil
			tc.mod(bad.Properties)
			_, err := c.BeginCreateOrUpdate(ctx, rg, name, bad, nil)
			wantCode(t, err, 400, "BadRequest")
			now, err := c.Get(ctx, rg, name, nil)
			if err != nil || *now.Tags["env"] != "prod" || *now.Properties.SoftDeleteRetentionInDays != 7 ||
				!*now.Properties.EnablePurgeProtection || len(now.Properties.AccessPolicies) != 1 {
				t.Fatalf("the vault changed: %v %+v", err, now.Properties)
			}
		})
	}

	// PATCH (armkeyvault's Update) follows the same rules.
	patched, err := c.Update(ctx, rg, name, armkeyvault.VaultPatchParameters{Tags: map[string]*string{"team": to.Ptr("a")}}, nil)
	if err != nil || *patched.Tags["team"] != "a" || patched.Tags["env"] != nil || *patched.Properties.SoftDeleteRetentionInDays != 7 {
		t.Fatalf("patch: %v %v", err, patched.Tags)
	}
	_, err = c.Update(ctx, rg, name, armkeyvault.VaultPatchParameters{Properties: &armkeyvault.VaultPatchProperties{SoftDeleteRetentionInDays: to.Ptr[int32](90)}}, nil)
	wantCode(t, err, 400, "BadRequest")

	// Access policies: add merges, replace sets, remove takes away.
	updPolicy := func(kind armkeyvault.AccessPolicyUpdateKind, perms ...armkeyvault.SecretPermissions) map[string][]string {
		t.Helper()
		var ps []*armkeyvault.SecretPermissions
		for _, x := range perms {
			ps = append(ps, to.Ptr(x))
		}
		_, err := c.UpdateAccessPolicy(ctx, rg, name, kind, armkeyvault.VaultAccessPolicyParameters{Properties: &armkeyvault.VaultAccessPolicyProperties{
			AccessPolicies: []*armkeyvault.AccessPolicyEntry{{TenantID: to.Ptr(st.Creds.TenantID), ObjectID: to.Ptr(armOther),
				Permissions: &armkeyvault.Permissions{Secrets: ps}}},
		}}, nil)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		v, err := c.Get(ctx, rg, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		return policyNames(v.Properties.AccessPolicies)
	}
	if got := updPolicy(armkeyvault.AccessPolicyUpdateKindAdd, "list", "set"); fmt.Sprint(got[armOther]) != "[get list set]" {
		t.Fatalf("add: %v", got)
	}
	if got := updPolicy(armkeyvault.AccessPolicyUpdateKindReplace, "delete"); fmt.Sprint(got[armOther]) != "[delete]" {
		t.Fatalf("replace: %v", got)
	}
	if got := updPolicy(armkeyvault.AccessPolicyUpdateKindRemove, "delete"); len(got) != 0 {
		t.Fatalf("remove: %v", got)
	}

	// Secrets: one live, one soft-deleted before the vault is deleted.
	sc := st.Secrets(t, name)
	live, err := sc.SetSecret(ctx, "live", azsecrets.SetSecretParameters{Value: to.Ptr("v-live")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	setValue(t, sc, "gone", "v-gone")
	gone := deleteSecret(t, sc, "gone")

	// Delete: 200, then 204 for a vault that is not there.
	if _, err := c.Delete(ctx, rg, name, nil); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := st.ARM(t, "DELETE", "/subscriptions/"+armSub+"/resourceGroups/"+rg+"/providers/Microsoft.KeyVault/vaults/"+name+"?"+kvAPI, nil); status != 204 {
		t.Fatalf("second delete: %d, want 204", status)
	}
	_, err = c.Get(ctx, rg, name, nil)
	wantCode(t, err, 404, "ResourceNotFound")
	_, err = sc.GetSecret(ctx, "live", "", nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 404 {
		t.Fatalf("data plane of a deleted vault: %v", err)
	}

	// The deleted vault: listed, readable, with its dates.
	var deleted []*armkeyvault.DeletedVault
	for _, page := range pages(t, c.NewListDeletedPager(nil)) {
		deleted = append(deleted, page.Value...)
	}
	if len(deleted) != 1 || *deleted[0].Name != name {
		t.Fatalf("deleted list %v", deleted)
	}
	dv, err := c.GetDeleted(ctx, name, loc, nil)
	if err != nil {
		t.Fatal(err)
	}
	dp := dv.Properties
	switch {
	case *dv.ID != "/subscriptions/"+armSub+"/providers/Microsoft.KeyVault/locations/"+loc+"/deletedVaults/"+name,
		*dv.Type != "Microsoft.KeyVault/deletedVaults", *dp.VaultID != wantID, *dp.Location != loc, !*dp.PurgeProtectionEnabled:
		t.Fatalf("deleted vault %s %s %+v", *dv.ID, *dv.Type, dp)
	case time.Since(*dp.DeletionDate) > time.Minute, !dp.ScheduledPurgeDate.Equal(dp.DeletionDate.Add(7 * 24 * time.Hour)):
		t.Fatalf("dates %v %v", dp.DeletionDate, dp.ScheduledPurgeDate)
	}
	_, err = c.GetDeleted(ctx, name, "eastus", nil)
	wantCode(t, err, 404, "ResourceNotFound")

	// The name stays reserved: PUT without recover → 409, and checkNameAvailability says why.
	_, err = c.BeginCreateOrUpdate(ctx, rg, name, vaultParams(st, loc, 7, true), nil)
	re = wantCode(t, err, 409, "ConflictError")
	if !strings.Contains(re.Error(), "already exists in deleted state") {
		t.Fatalf("conflict text: %v", re)
	}
	avail, err := c.CheckNameAvailability(ctx, armkeyvault.VaultCheckNameAvailabilityParameters{Name: to.Ptr(name), Type: to.Ptr("Microsoft.KeyVault/vaults")}, nil)
	if err != nil || *avail.NameAvailable || *avail.Reason != armkeyvault.ReasonAlreadyExists || !strings.Contains(*avail.Message, "soft-deleted") {
		t.Fatalf("name availability: %v %+v", err, avail)
	}

	// Purge protection refuses the purge; the vault stays recoverable.
	err = purge(t, c, name, loc)
	re = wantCode(t, err, 409, "InvalidOperation")
	if !strings.Contains(re.Error(), "Operation 'DeletedVaultPurge' is not allowed.") {
		t.Fatalf("purge refusal text: %v", re)
	}
	if _, err := c.GetDeleted(ctx, name, loc, nil); err != nil {
		t.Fatalf("after the refused purge: %v", err)
	}

	// Recover: PUT with createMode recover brings the vault and its contents back.
	rec := armkeyvault.VaultCreateOrUpdateParameters{Location: to.Ptr(loc), Properties: &armkeyvault.VaultProperties{
		TenantID: to.Ptr(st.Creds.TenantID), CreateMode: to.Ptr(armkeyvault.CreateModeRecover),
		SKU: &armkeyvault.SKU{Family: to.Ptr(armkeyvault.SKUFamilyA), Name: to.Ptr(armkeyvault.SKUNameStandard)},
	}}
	v = createVault(t, c, rg, name, rec)
	if *v.Properties.SKU.Name != armkeyvault.SKUNamePremium || *v.Tags["team"] != "a" || !*v.Properties.EnablePurgeProtection {
		t.Fatalf("recovered vault lost its settings: %v %+v", v.Tags, v.Properties)
	}
	back, err := sc.GetSecret(ctx, "live", "", nil)
	if err != nil || *back.Value != "v-live" || !back.Attributes.Created.Equal(*live.Attributes.Created) || *back.ID != *live.ID {
		t.Fatalf("live secret after recovery: %v %+v", err, back)
	}
	dg, err := sc.GetDeletedSecret(ctx, "gone", nil)
	if err != nil || !dg.DeletedDate.Equal(*gone.DeletedDate) || !dg.ScheduledPurgeDate.Equal(*gone.ScheduledPurgeDate) {
		t.Fatalf("deleted secret after recovery: %v %+v", err, dg)
	}
	if _, err := sc.GetSecret(ctx, "gone", "", nil); err == nil {
		t.Fatal("the soft-deleted secret came back live")
	}
	if _, err := c.GetDeleted(ctx, name, loc, nil); err == nil {
		t.Fatal("the recovered vault is still listed as deleted")
	}
}

func TestARMVaultStatusCodes(t *testing.T) {
	st := testenv.NewStack(t)
	path, body := armVaultPath("codes"), armVaultBody(st)
	for i, want := range []int{201, 200} {
		status, h, b := st.ARM(t, "PUT", path, body)
		if status != want {
			t.Fatalf("PUT #%d: %d %s, want %d", i+1, status, b, want)
		}
		for _, k := range []string{"Location", "Azure-AsyncOperation", "Operation-Location"} {
			if h.Get(k) != "" {
				t.Fatalf("PUT #%d has a polling header %s", i+1, k)
			}
		}
		var v struct {
			Properties struct {
				ProvisioningState string `json:"provisioningState"`
				VaultURI          string `json:"vaultUri"`
			} `json:"properties"`
			SystemData map[string]string `json:"systemData"`
		}
		if err := json.Unmarshal(b, &v); err != nil || v.Properties.ProvisioningState != "Succeeded" {
			t.Fatalf("PUT #%d body %s", i+1, b)
		}
		if _, err := time.Parse(time.RFC3339, v.SystemData["createdAt"]); err != nil || !strings.HasSuffix(v.SystemData["createdAt"], "Z") {
			t.Fatalf("createdAt %q is not RFC 3339 UTC", v.SystemData["createdAt"])
		}
	}
	if status, _, b := st.ARM(t, "DELETE", path, nil); status != 200 {
		t.Fatalf("DELETE: %d %s", status, b)
	}

	// Purge as an LRO: 202, an absolute Location on the public URL, Retry-After 1; the
	// operation answers 200.
	status, h, b := st.ARM(t, "POST", armPurgePath("codes"), nil)
	if status != 202 || h.Get("Retry-After") != "1" {
		t.Fatalf("purge: %d %v %s", status, h, b)
	}
	op, err := url.Parse(h.Get("Location"))
	if err != nil || !strings.HasPrefix(op.String(), st.Server.URL()+"/subscriptions/"+armSub+"/providers/Microsoft.KeyVault/locations/westus/operationResults/") ||
		op.Query().Get("api-version") != "2024-11-01" {
		t.Fatalf("purge Location %q", h.Get("Location"))
	}
	if status, _, b := st.ARM(t, "GET", op.RequestURI(), nil); status != 200 {
		t.Fatalf("operation: %d %s", status, b)
	}
	if status, _, _ := st.ARM(t, "GET", "/subscriptions/"+armSub+"/providers/Microsoft.KeyVault/locations/westus/operationResults/nope?"+kvAPI, nil); status != 404 {
		t.Fatalf("unknown operation: %d, want 404", status)
	}
	if status, _, _ := st.ARM(t, "PUT", path, body); status != 201 {
		t.Fatalf("the purged name is not free: %d", status)
	}
}

func TestARMVaultPurge(t *testing.T) {
	st := testenv.NewStack(t)
	c := st.Vaults(t, armSub)
	ctx := t.Context()
	deletedVault(t, st, c, "purge-me", vaultParams(st, "West US", 7, false))
	// Locations compare as ARM compares them: "West US" is "westus".
	if err := purge(t, c, "purge-me", "westus"); err != nil {
		t.Fatalf("purge: %v", err)
	}
	_, err := c.GetDeleted(ctx, "purge-me", "westus", nil)
	wantCode(t, err, 404, "ResourceNotFound")
	err = purge(t, c, "purge-me", "westus")
	wantCode(t, err, 404, "ResourceNotFound")
	reuseName(t, st, c, "PURGE-ME", "other-rg", "purge-me", vaultParams(st, "westus", 90, false))
}

func TestARMVaultRetentionExpiry(t *testing.T) {
	st := testenv.NewStack(t)
	c := st.Vaults(t, armSub)
	ctx := t.Context()
	deletedVault(t, st, c, "expiring", vaultParams(st, "westus", 7, true))
	st.ShiftTime(t, 7*24*time.Hour+time.Minute)

	// Past its scheduledPurgeDate the vault reads as purged, before any sweep.
	_, err := c.GetDeleted(ctx, "expiring", "westus", nil)
	wantCode(t, err, 404, "ResourceNotFound")
	page, err := c.NewListDeletedPager(nil).NextPage(ctx)
	if err != nil || len(page.Value) != 0 {
		t.Fatalf("deleted list: %v %v", err, page.Value)
	}
	wantSweep(t, st, someActions, "past the retention")
	v := reuseName(t, st, c, "expiring", "rg2", "expiring", vaultParams(st, "westus", 7, false))
	if v.Properties.EnablePurgeProtection != nil {
		t.Fatalf("the new vault inherited purge protection")
	}
}

// deletedVault creates vault name in resource group rg with a secret s, and deletes it.
func deletedVault(t *testing.T, st *testenv.Stack, c *armkeyvault.VaultsClient, name string, p armkeyvault.VaultCreateOrUpdateParameters) {
	t.Helper()
	createVault(t, c, "rg", name, p)
	setValue(t, st.Secrets(t, name), "s", "v")
	if _, err := c.Delete(t.Context(), "rg", name, nil); err != nil {
		t.Fatal(err)
	}
}

// reuseName checks that the name of a vault made by deletedVault, now purged, is free
// (asking for it as asked), creates a vault of that name in resource group rg, and checks
// that the old secret s is not back.
func reuseName(t *testing.T, st *testenv.Stack, c *armkeyvault.VaultsClient, asked, rg, name string, p armkeyvault.VaultCreateOrUpdateParameters) armkeyvault.Vault {
	t.Helper()
	avail, err := c.CheckNameAvailability(t.Context(), armkeyvault.VaultCheckNameAvailabilityParameters{Name: to.Ptr(asked)}, nil)
	if err != nil || !*avail.NameAvailable {
		t.Fatalf("the purged name %s is not free: %v %+v", asked, err, avail)
	}
	v := createVault(t, c, rg, name, p)
	if _, err := st.Secrets(t, name).GetSecret(t.Context(), "s", "", nil); err == nil {
		t.Fatal("a secret of the purged vault is back")
	}
	return v
}

func TestARMDefaultVault(t *testing.T) {
	st := testenv.NewStack(t)
	c := st.Vaults(t, testenv.DefaultSubscription)
	v, err := c.Get(t.Context(), "coffer", st.Server.DefaultVault(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if *v.Location != "local" || *v.Properties.VaultURI != st.Server.VaultURL(st.Server.DefaultVault()) ||
		*v.Properties.SoftDeleteRetentionInDays != 90 || v.Properties.EnablePurgeProtection != nil {
		t.Fatalf("default vault %+v %+v", v, v.Properties)
	}
	var names []string
	for _, page := range pages(t, c.NewListPager(nil)) {
		for _, r := range page.Value {
			names = append(names, *r.Name)
		}
	}
	if !slices.Equal(names, []string{st.Server.DefaultVault()}) {
		t.Fatalf("resources of the default subscription: %v", names)
	}
	// Another subscription does not see it.
	if _, err := st.Vaults(t, armSub).Get(t.Context(), "coffer", st.Server.DefaultVault(), nil); err == nil {
		t.Fatal("the default vault is visible under another subscription")
	}
}

func TestARMVaultLists(t *testing.T) {
	st := testenv.NewStack(t)
	c := st.Vaults(t, armSub)
	for _, v := range []struct{ rg, name string }{{"rg-a", "list-a1"}, {"rg-a", "list-a2"}, {"rg-b", "list-b1"}} {
		createVault(t, c, v.rg, v.name, vaultParams(st, "westus", 90, false))
	}
	createVault(t, st.Vaults(t, armSub2), "rg-a", "other-sub", vaultParams(st, "westus", 90, false))

	for _, top := range []*int32{nil, to.Ptr[int32](1)} {
		t.Run(fmt.Sprintf("top=%v", func() any {
			if top == nil {
				return "none"
			}
			return *top
		}()), func(t *testing.T) {
			var byGroup, bySub, generic []string
			for _, p := range pages(t, c.NewListByResourceGroupPager("RG-A", &armkeyvault.VaultsClientListByResourceGroupOptions{Top: top})) {
				for _, v := range p.Value {
					byGroup = append(byGroup, *v.Name)
				}
			}
			for _, p := range pages(t, c.NewListBySubscriptionPager(&armkeyvault.VaultsClientListBySubscriptionOptions{Top: top})) {
				for _, v := range p.Value {
					bySub = append(bySub, *v.Name)
				}
			}
			for _, p := range pages(t, c.NewListPager(&armkeyvault.VaultsClientListOptions{Top: top})) {
				for _, r := range p.Value {
					if *r.Type != "Microsoft.KeyVault/vaults" || *r.Location != "westus" || !strings.HasPrefix(*r.ID, "/subscriptions/"+armSub+"/resourceGroups/") {
						t.Errorf("resource %+v", r)
					}
					generic = append(generic, *r.Name)
				}
			}
			for _, l := range []struct {
				what      string
				got, want []string
			}{
				{"by group", byGroup, []string{"list-a1", "list-a2"}},
				{"by subscription", bySub, []string{"list-a1", "list-a2", "list-b1"}},
				{"/resources", generic, []string{"list-a1", "list-a2", "list-b1"}},
			} {
				if slices.Sort(l.got); !slices.Equal(l.got, l.want) {
					t.Fatalf("%s: %v", l.what, l.got)
				}
			}
		})
	}
}

func TestARMGenericEndpoints(t *testing.T) {
	st := testenv.NewStack(t)
	createVault(t, st.Vaults(t, armSub2), "rg", "sub2-vault", vaultParams(st, "westus", 90, false))
	createVault(t, st.Vaults(t, armSub), "rg", "sub1-vault", vaultParams(st, "westus", 90, false))
	if _, err := st.Vaults(t, armSub).Delete(t.Context(), "rg", "sub1-vault", nil); err != nil {
		t.Fatal(err)
	}

	// GET /subscriptions: the default first, then every subscription holding a vault,
	// live or deleted.
	status, _, b := st.ARM(t, "GET", "/subscriptions?api-version=2019-11-01", nil)
	var subs struct {
		Value []struct{ ID, SubscriptionID, TenantID, DisplayName, State string }
	}
	if err := json.Unmarshal(b, &subs); status != 200 || err != nil {
		t.Fatalf("subscriptions: %d %s", status, b)
	}
	var ids []string
	for _, s := range subs.Value {
		ids = append(ids, s.SubscriptionID)
		if s.TenantID != st.Creds.TenantID || s.State != "Enabled" || s.ID != "/subscriptions/"+s.SubscriptionID {
			t.Fatalf("subscription %+v", s)
		}
	}
	if !slices.Equal(ids, []string{testenv.DefaultSubscription, armSub, armSub2}) || subs.Value[0].DisplayName != "Coffer" {
		t.Fatalf("subscriptions %v %+v", ids, subs.Value[0])
	}

	for _, tc := range []struct {
		name, method, path string
		status             int
		code               string // error code, or a fragment of the body
	}{
		{"ok/subscription", "GET", "/subscriptions/" + armSub + "?api-version=2022-12-01", 200, `"state":"Enabled"`},
		{"ok/tenants", "GET", "/tenants?api-version=2022-12-01", 200, st.Creds.TenantID},
		{"ok/resource-group", "GET", "/subscriptions/" + armSub + "/resourcegroups/Any-Group?api-version=2021-04-01", 200, `"location":"local"`},
		{"ok/managed-hsms", "GET", "/subscriptions/" + armSub + "/providers/Microsoft.KeyVault/managedHSMs?api-version=2022-07-01", 200, `{"value":[]}`},
		{"ok/deleted-managed-hsms", "GET", "/subscriptions/" + armSub + "/providers/Microsoft.KeyVault/deletedManagedHSMs?api-version=2022-07-01", 200, `{"value":[]}`},
		{"ok/case-insensitive-path", "GET", "/SUBSCRIPTIONS/" + armSub2 + "/RESOURCEGROUPS/RG/PROVIDERS/microsoft.keyvault/VAULTS/SUB2-VAULT?api-version=2022-07-01", 200, `"name":"sub2-vault"`},
		{"ok/az-version", "GET", "/subscriptions/" + armSub + "/providers/Microsoft.KeyVault/deletedVaults?api-version=2022-07-01", 200, `"name":"sub1-vault"`},
		{"ok/future-version", "GET", "/subscriptions/" + armSub + "/providers/Microsoft.KeyVault/deletedVaults?api-version=2031-02-03-preview", 200, `"value":[`},
		{"ok/resources-other-type", "GET", "/subscriptions/" + armSub2 + "/resources?api-version=2015-11-01&$filter=resourceType%20eq%20%27Microsoft.Storage/storageAccounts%27", 200, `{"value":[]}`},
		{"ok/resources-by-name", "GET", "/subscriptions/" + armSub2 + "/resources?api-version=2015-11-01&$filter=resourceType%20eq%20%27Microsoft.KeyVault/vaults%27%20and%20name%20eq%20%27SUB2-vault%27", 200, `"name":"sub2-vault"`},
		{"fail/missing-version", "GET", "/subscriptions/" + armSub + "/providers/Microsoft.KeyVault/deletedVaults", 400, "MissingApiVersionParameter"},
		{"fail/too-old-version", "GET", "/subscriptions/" + armSub + "/providers/Microsoft.KeyVault/deletedVaults?api-version=2022-02-01", 400, "InvalidApiVersionParameter"},
		{"fail/bogus-version", "GET", "/subscriptions/" + armSub + "/providers/Microsoft.KeyVault/deletedVaults?api-version=7.4", 400, "InvalidApiVersionParameter"},
		{"fail/impossible-date", "GET", "/subscriptions/" + armSub + "/providers/Microsoft.KeyVault/deletedVaults?api-version=2024-02-30", 400, "InvalidApiVersionParameter"},
		{"fail/generic-bogus-version", "GET", "/subscriptions?api-version=latest", 400, "InvalidApiVersionParameter"},
		{"fail/generic-missing-version", "GET", "/subscriptions", 400, "MissingApiVersionParameter"},
		{"fail/unknown-route", "GET", "/subscriptions/" + armSub + "/providers/Microsoft.Storage/storageAccounts?api-version=2023-01-01", 404, "NotFound"},
		{"fail/method", "POST", "/subscriptions/" + armSub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/x?" + kvAPI, 405, "MethodNotAllowed"},
		{"fail/bad-filter", "GET", "/subscriptions/" + armSub + "/resources?api-version=2015-11-01&$filter=tagName%20eq%20%27x%27", 400, "InvalidFilterInQueryString"},
		{"fail/bad-top", "GET", "/subscriptions/" + armSub + "/providers/Microsoft.KeyVault/vaults?" + kvAPI + "&$top=0", 400, "BadRequest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, h, b := st.ARM(t, tc.method, tc.path, nil)
			if status != tc.status {
				t.Fatalf("%d %s, want %d", status, b, tc.status)
			}
			if status >= 400 {
				var e struct {
					Error struct{ Code, Message string }
				}
				if err := json.Unmarshal(b, &e); err != nil || e.Error.Code != tc.code || e.Error.Message == "" || h.Get("x-ms-error-code") != tc.code {
					t.Fatalf("error %s (x-ms-error-code %q), want code %s", b, h.Get("x-ms-error-code"), tc.code)
				}
				return
			}
			if !strings.Contains(string(b), tc.code) {
				t.Fatalf("body %s lacks %s", b, tc.code)
			}
		})
	}

	// No token: 401 in ARM's shape, before anything else.
	status, _, b = st.Request(t, "GET", "/subscriptions?api-version=2019-11-01", "", nil)
	if status != 401 || !strings.Contains(string(b), "AuthenticationFailed") {
		t.Fatalf("no token: %d %s", status, b)
	}
}

func TestARMVaultErrors(t *testing.T) {
	st := testenv.NewStack(t)
	c := st.Vaults(t, armSub)
	createVault(t, c, "rg", "taken", vaultParams(st, "westus", 90, false))
	vaultPath := func(rg, name string) string {
		return "/subscriptions/" + armSub + "/resourceGroups/" + rg + "/providers/Microsoft.KeyVault/vaults/" + name + "?" + kvAPI
	}
	props := func(mod func(p map[string]any)) map[string]any {
		p := map[string]any{"tenantId": st.Creds.TenantID, "sku": map[string]string{"family": "A", "name": "standard"}}
		if mod != nil {
			mod(p)
		}
		return map[string]any{"location": "westus", "properties": p}
	}
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		code, text         string
	}{
		{"fail/bad-json", "PUT", vaultPath("rg", "newv"), `{"location":`, 400, "BadRequest", "not valid JSON"},
		{"fail/empty-body", "PUT", vaultPath("rg", "newv"), "", 400, "BadRequest", "empty"},
		{"fail/wrong-type", "PUT", vaultPath("rg", "newv"), props(func(p map[string]any) { p["softDeleteRetentionInDays"] = "7" }), 400, "BadRequest", "softDeleteRetentionInDays must be a number"},
		{"fail/no-location", "PUT", vaultPath("rg", "newv"), map[string]any{"properties": props(nil)["properties"]}, 400, "BadRequest", "lacks location"},
		{"fail/no-sku", "PUT", vaultPath("rg", "newv"), props(func(p map[string]any) { delete(p, "sku") }), 400, "BadRequest", "lacks properties.sku"},
		{"fail/no-tenant", "PUT", vaultPath("rg", "newv"), props(func(p map[string]any) { delete(p, "tenantId") }), 400, "BadRequest", "lacks properties.tenantId"},
		{"fail/no-properties", "PUT", vaultPath("rg", "newv"), map[string]any{"location": "westus"}, 400, "BadRequest", "properties.sku"},
		{"fail/bad-sku", "PUT", vaultPath("rg", "newv"), props(func(p map[string]any) { p["sku"] = map[string]string{"family": "A", "name": "gold"} }), 400, "BadRequest", "sku.name"},
		{"fail/retention-too-short", "PUT", vaultPath("rg", "newv"), props(func(p map[string]any) { p["softDeleteRetentionInDays"] = 5 }), 400, "BadRequest", "7 to 90"},
		{"fail/purge-protection-false-on-create", "PUT", vaultPath("rg", "newv"), props(func(p map[string]any) { p["enablePurgeProtection"] = false }), 400, "BadRequest", "irreversible"},
		{"fail/bad-permission", "PUT", vaultPath("rg", "newv"), props(func(p map[string]any) {
			p["accessPolicies"] = []any{map[string]any{"tenantId": st.Creds.TenantID, "objectId": armOther, "permissions": map[string]any{"secrets": []string{"fly"}}}}
		}), 400, "BadRequest", "fly"},
		{"fail/bad-create-mode", "PUT", vaultPath("rg", "newv"), props(func(p map[string]any) { p["createMode"] = "clone" }), 400, "BadRequest", "createMode"},
		{"fail/bad-public-network-access", "PUT", vaultPath("rg", "newv"), props(func(p map[string]any) { p["publicNetworkAccess"] = "sometimes" }), 400, "BadRequest", "publicNetworkAccess"},
		{"fail/invalid-name", "PUT", vaultPath("rg", "no--way"), props(nil), 400, "VaultNameNotValid", "3 to 24"},
		{"fail/name-too-short", "PUT", vaultPath("rg", "ab"), props(nil), 400, "VaultNameNotValid", "3 to 24"},
		{"fail/name-taken-elsewhere", "PUT", vaultPath("rg-2", "TAKEN"), props(nil), 409, "VaultAlreadyExists", "already in use"},
		{"fail/other-location", "PUT", vaultPath("rg", "taken"), map[string]any{"location": "eastus", "properties": props(nil)["properties"]}, 400, "InvalidResourceLocation", "westus"},
		{"fail/recover-nothing", "PUT", vaultPath("rg", "newv"), props(func(p map[string]any) { p["createMode"] = "recover" }), 404, "ResourceNotFound", "to recover"},
		{"fail/get-absent", "GET", vaultPath("rg", "newv"), nil, 404, "ResourceNotFound", "newv"},
		{"fail/get-other-group", "GET", vaultPath("rg-2", "taken"), nil, 404, "ResourceNotFound", "rg-2"},
		{"fail/patch-absent", "PATCH", vaultPath("rg", "newv"), map[string]any{"tags": map[string]string{"a": "b"}}, 404, "ResourceNotFound", "newv"},
		{"fail/policies-absent-vault", "PUT", strings.Replace(vaultPath("rg", "newv"), "?", "/accessPolicies/add?", 1),
			map[string]any{"properties": map[string]any{"accessPolicies": []any{}}}, 404, "ResourceNotFound", "newv"},
		{"fail/policies-bad-op", "PUT", strings.Replace(vaultPath("rg", "taken"), "?", "/accessPolicies/merge?", 1),
			map[string]any{"properties": map[string]any{"accessPolicies": []any{}}}, 400, "BadRequest", "add, replace or remove"},
		{"fail/policies-no-list", "PUT", strings.Replace(vaultPath("rg", "taken"), "?", "/accessPolicies/add?", 1), map[string]any{}, 400, "BadRequest", "accessPolicies"},
		{"fail/check-name-no-name", "POST", "/subscriptions/" + armSub + "/providers/Microsoft.KeyVault/checkNameAvailability?" + kvAPI, map[string]any{}, 400, "BadRequest", "name"},
		{"fail/purge-live", "POST", armPurgePath("taken"), nil, 404, "ResourceNotFound", "no deleted vault"},
		{"ok/delete-absent", "DELETE", vaultPath("rg", "newv"), nil, 204, "", ""},
		{"ok/delete-other-group", "DELETE", vaultPath("rg-2", "taken"), nil, 204, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, h, b := st.ARM(t, tc.method, tc.path, tc.body)
			if status != tc.status {
				t.Fatalf("%d %s, want %d", status, b, tc.status)
			}
			if tc.code == "" {
				return
			}
			var e struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(b, &e); err != nil || e.Error.Code != tc.code || h.Get("x-ms-error-code") != tc.code ||
				!strings.Contains(strings.ToLower(e.Error.Message), strings.ToLower(tc.text)) {
				t.Fatalf("error %s, want code %s with %q", b, tc.code, tc.text)
			}
		})
	}
	// Nothing changed: "taken" is still live where it was, and no other vault exists.
	if _, err := c.Get(t.Context(), "rg", "taken", nil); err != nil {
		t.Fatal(err)
	}
	page, err := c.NewListBySubscriptionPager(nil).NextPage(t.Context())
	if err != nil || len(page.Value) != 1 {
		t.Fatalf("vaults after the failures: %v %d", err, len(page.Value))
	}
}

// TestARMVaultConcurrency races delete, recover and purge of one vault (and data-plane
// reads of its secrets): whatever the interleaving, the vault ends live with all its
// secrets, deleted with all of them, or purged with none; a reader sees a secret's value
// or a 404, and no request gets a 5xx.
func TestARMVaultConcurrency(t *testing.T) {
	st := testenv.NewStack(t)
	c := st.Vaults(t, armSub)
	const rg, loc, n = "rg", "westus", 5
	recoverParams := armkeyvault.VaultCreateOrUpdateParameters{Location: to.Ptr(loc), Properties: &armkeyvault.VaultProperties{
		TenantID: to.Ptr(st.Creds.TenantID), CreateMode: to.Ptr(armkeyvault.CreateModeRecover),
		SKU: &armkeyvault.SKU{Family: to.Ptr(armkeyvault.SKUFamilyA), Name: to.Ptr(armkeyvault.SKUNameStandard)},
	}}
	ops := map[string]func(t *testing.T, name string) error{
		"delete": func(t *testing.T, name string) error {
			_, err := c.Delete(t.Context(), rg, name, nil)
			return err
		},
		"recover": func(t *testing.T, name string) error {
			p, err := c.BeginCreateOrUpdate(t.Context(), rg, name, recoverParams, nil)
			if err == nil {
				_, err = p.PollUntilDone(t.Context(), fastPoll)
			}
			return err
		},
		"purge": func(t *testing.T, name string) error { return purge(t, c, name, loc) },
	}
	for i, tc := range []struct {
		name string
		ops  []string
	}{
		{"delete-recover", []string{"delete", "recover"}},
		{"delete-recover-purge", []string{"delete", "recover", "purge"}},
		{"recover-heavy", []string{"delete", "recover", "recover", "recover", "purge"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			name := fmt.Sprintf("racer%d", i)
			createVault(t, c, rg, name, vaultParams(st, loc, 7, false))
			sc := st.Secrets(t, name)
			for j := range n {
				if _, err := sc.SetSecret(ctx, fmt.Sprintf("s%d", j), azsecrets.SetSecretParameters{Value: to.Ptr(fmt.Sprintf("v%d", j))}, nil); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			errs := make(chan error, 1000)
			for g := range 10 {
				wg.Go(func() {
					r := rand.New(rand.NewPCG(uint64(g), uint64(i)))
					for range 6 {
						err := ops[tc.ops[r.IntN(len(tc.ops))]](t, name)
						var re *azcore.ResponseError
						if err != nil && (!errors.As(err, &re) || re.StatusCode != 404 && re.StatusCode != 409) {
							errs <- err
						}
					}
				})
			}
			wg.Go(func() { // a data-plane reader: a value or a 404, nothing else
				for k := range 40 {
					s, err := sc.GetSecret(ctx, fmt.Sprintf("s%d", k%n), "", nil)
					var re *azcore.ResponseError
					if err == nil && *s.Value != fmt.Sprintf("v%d", k%n) || err != nil && (!errors.As(err, &re) || re.StatusCode != 404) {
						errs <- fmt.Errorf("reader: %v", err)
					}
				}
			})
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("unexpected: %v", err)
			}

			_, liveErr := c.Get(ctx, rg, name, nil)
			_, delErr := c.GetDeleted(ctx, name, loc, nil)
			state := "purged"
			switch {
			case liveErr == nil && delErr == nil:
				t.Fatal("the vault is both live and deleted")
			case liveErr == nil:
				state = "live"
			case delErr == nil:
				state = "deleted"
				createVault(t, c, rg, name, recoverParams)
			default:
				createVault(t, c, rg, name, vaultParams(st, loc, 7, false))
			}
			t.Logf("final state: %s", state)
			for j := range n {
				s, err := sc.GetSecret(ctx, fmt.Sprintf("s%d", j), "", nil)
				switch {
				case state == "purged" && err == nil:
					t.Fatalf("s%d survived the purge", j)
				case state != "purged" && (err != nil || *s.Value != fmt.Sprintf("v%d", j)):
					t.Fatalf("s%d after %s: %v", j, state, err)
				}
			}
			page, err := sc.NewListSecretPropertiesPager(nil).NextPage(ctx)
			if want := map[bool]int{true: 0, false: n}[state == "purged"]; err != nil || len(page.Value) != want {
				t.Fatalf("secrets listed after %s: %v %d, want %d", state, err, len(page.Value), want)
			}
		})
	}
}

// TestARMGraphStandIn: az's two Graph reads with a Graph-audience token
// (the bare address, as az requests it: "https://127.0.0.1:PORT//.default").
func TestARMGraphStandIn(t *testing.T) {
	st := testenv.NewStack(t)
	tok, err := st.Cred.GetToken(t.Context(), tokenScope(st.Server.URL()+"/"))
	if err != nil {
		t.Fatal(err)
	}
	status, _, b := st.Request(t, "GET", "/v1.0/me", "Bearer "+tok.Token, nil)
	if status == 401 {
		t.Skipf("the server does not yet route /v1.0 with the Graph audience to arm.ServeGraph: %s", b)
	}
	if status != 400 {
		t.Fatalf("/v1.0/me: %d %s, want 400", status, b)
	}
	filter := url.QueryEscape("servicePrincipalNames/any(c:c eq '" + st.Creds.ClientID + "')")
	status, _, b = st.Request(t, "GET", "/v1.0/servicePrincipals?$filter="+filter, "Bearer "+tok.Token, nil)
	var sp struct {
		Value []struct{ ID, AppID string }
	}
	if err := json.Unmarshal(b, &sp); status != 200 || err != nil || len(sp.Value) != 1 || sp.Value[0].ID == "" || sp.Value[0].AppID != st.Creds.ClientID {
		t.Fatalf("servicePrincipals: %d %s", status, b)
	}
	// The Graph stand-in takes Graph tokens only, and ARM takes ARM tokens only.
	if status, _, b := st.ARM(t, "GET", "/v1.0/me", nil); status != 401 {
		t.Fatalf("/v1.0/me with an ARM token: %d %s, want 401", status, b)
	}
	if status, _, b := st.Request(t, "GET", "/subscriptions?api-version=2019-11-01", "Bearer "+tok.Token, nil); status != 401 {
		t.Fatalf("/subscriptions with a Graph token: %d %s, want 401", status, b)
	}
}
