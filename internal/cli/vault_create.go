package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Defaults of the management plane (interface.md §6): the default vault lives in the
// default subscription, group "coffer", location "local".
const (
	defaultGroup     = "coffer"
	defaultLocation  = "local"
	defaultRetention = 90
)

type vaultCreateOptions struct {
	vaultRef
	tagFlags
	clientOptions
	Location                     string
	RetentionDays                int
	EnablePurgeProtection        bool
	EnableRbacAuthorization      bool
	EnabledForDeployment         bool
	EnabledForDiskEncryption     bool
	EnabledForTemplateDeployment bool
	NoSelfPerms                  bool
	SKU                          string
	fs                           *pflag.FlagSet
}

func (o *vaultCreateOptions) AddFlags(fs *pflag.FlagSet) {
	o.fs = fs
	fs.StringVarP(&o.Name, "name", "n", "", "vault name, 3-24 letters, digits and dashes (required)")
	fs.StringVarP(&o.Group, "resource-group", "g", defaultGroup, "resource group (any name; Coffer needs no prior creation)")
	fs.StringVar(&o.Subscription, "subscription", defaultSubscription, "subscription id")
	fs.StringVarP(&o.Location, "location", "l", defaultLocation, "location (any name; it is stored and addresses the deleted vault)")
	fs.IntVar(&o.RetentionDays, "retention-days", defaultRetention, "days a deleted vault or object stays recoverable, 7-90; fixed at creation")
	fs.BoolVar(&o.EnablePurgeProtection, "enable-purge-protection", false, "forbid purging before the retention ends; cannot be turned off")
	fs.BoolVar(&o.EnableRbacAuthorization, "enable-rbac-authorization", false, "not supported: Coffer authorises through access policies")
	fs.BoolVar(&o.EnabledForDeployment, "enabled-for-deployment", false, "stored and shown, as Azure's property")
	fs.BoolVar(&o.EnabledForDiskEncryption, "enabled-for-disk-encryption", false, "stored and shown, as Azure's property")
	fs.BoolVar(&o.EnabledForTemplateDeployment, "enabled-for-template-deployment", false, "stored and shown, as Azure's property")
	fs.BoolVar(&o.NoSelfPerms, "no-self-perms", false, "do not give the caller an access policy with every permission")
	fs.StringVar(&o.SKU, "sku", "standard", "standard or premium")
	o.tagFlags.AddFlags(fs)
	o.clientOptions.AddFlags(fs)
}

func newVaultCreateCommand() *cobra.Command {
	o := &vaultCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a vault (as az keyvault create)",
		Long: `Create a vault through armkeyvault, as az keyvault create does: it checks that the
name is free, gives the caller an access policy with every permission (unless
--no-self-perms), and prints the vault. Soft delete is always on; --retention-days (7-90,
default 90) is fixed at creation, and purge protection cannot be turned off once on.

-g and -l are optional: the default group is "coffer" and the default location "local".`,
		Example: `  coffer vault create --name myvault
  coffer vault create -n prod-vault -g rg -l westeurope --retention-days 30 --enable-purge-protection true`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.requireName("create"); err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			tags, err := o.tagFlags.parse()
			if err != nil {
				return err
			}
			sku := armkeyvault.SKUName(o.SKU)
			if sku != armkeyvault.SKUNameStandard && sku != armkeyvault.SKUNamePremium {
				return &hintError{code: exitUsage, err: fmt.Errorf("--sku %q is not known", o.SKU), hints: []string{"use --sku standard or --sku premium"}}
			}
			c, err := newClient(&o.clientOptions)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			vc, err := o.vaultsClient(c)
			if err != nil {
				return err
			}
			// az's existence pre-check: create never silently rewrites a vault.
			if _, err := vc.Get(ctx, o.Group, o.Name, nil); err == nil {
				return &hintError{code: exitConflict, err: fmt.Errorf("vault %q already exists in resource group %s", o.Name, o.Group),
					hints: []string{"change it with: coffer vault update --name " + o.Name}}
			} else if !isStatus(err, http.StatusNotFound) {
				return err
			}
			props := &armkeyvault.VaultProperties{
				TenantID:                  &c.creds.TenantID,
				SKU:                       &armkeyvault.SKU{Family: ptr(armkeyvault.SKUFamilyA), Name: &sku},
				AccessPolicies:            []*armkeyvault.AccessPolicyEntry{},
				EnableSoftDelete:          ptr(true),
				SoftDeleteRetentionInDays: ptr(int32(o.RetentionDays)),
				NetworkACLs: &armkeyvault.NetworkRuleSet{
					Bypass:        ptr(armkeyvault.NetworkRuleBypassOptionsAzureServices),
					DefaultAction: ptr(armkeyvault.NetworkRuleActionAllow),
				},
			}
			for _, f := range []struct {
				name string
				v    bool
				dst  **bool
			}{
				{"enable-purge-protection", o.EnablePurgeProtection, &props.EnablePurgeProtection},
				{"enable-rbac-authorization", o.EnableRbacAuthorization, &props.EnableRbacAuthorization},
				{"enabled-for-deployment", o.EnabledForDeployment, &props.EnabledForDeployment},
				{"enabled-for-disk-encryption", o.EnabledForDiskEncryption, &props.EnabledForDiskEncryption},
				{"enabled-for-template-deployment", o.EnabledForTemplateDeployment, &props.EnabledForTemplateDeployment},
			} {
				if o.fs.Changed(f.name) {
					*f.dst = ptr(f.v)
				}
			}
			if !o.NoSelfPerms {
				oid, err := c.selfObjectID(ctx)
				if err != nil {
					return fmt.Errorf("find the caller's object id for its access policy (--no-self-perms skips it): %w", err)
				}
				props.AccessPolicies = append(props.AccessPolicies, &armkeyvault.AccessPolicyEntry{
					TenantID: &c.creds.TenantID, ObjectID: &oid,
					Permissions: &armkeyvault.Permissions{
						Keys:         []*armkeyvault.KeyPermissions{ptr(armkeyvault.KeyPermissionsAll)},
						Secrets:      []*armkeyvault.SecretPermissions{ptr(armkeyvault.SecretPermissionsAll)},
						Certificates: []*armkeyvault.CertificatePermissions{ptr(armkeyvault.CertificatePermissionsAll)},
						Storage:      []*armkeyvault.StoragePermissions{ptr(armkeyvault.StoragePermissionsAll)},
					},
				})
			}
			poller, err := vc.BeginCreateOrUpdate(ctx, o.Group, o.Name, armkeyvault.VaultCreateOrUpdateParameters{
				Location: &o.Location, Properties: props, Tags: tags,
			}, nil)
			if err != nil {
				return explainVaultConflict(ctx, vc, o.Name, err)
			}
			res, err := poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: time.Second})
			if err != nil {
				return err
			}
			return printVault(cmd, o.Output, res.Vault)
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}

// explainVaultConflict explains a 409 on create: a deleted vault holds the name, or a
// vault of another group or subscription has it.
func explainVaultConflict(ctx context.Context, vc *armkeyvault.VaultsClient, name string, err error) error {
	if !isStatus(err, http.StatusConflict) {
		return err
	}
	if d, derr := findDeletedVault(ctx, vc, name); derr == nil && d != nil {
		return &hintError{code: exitConflict, err: fmt.Errorf("the name %q is held by a deleted vault: it cannot be reused until that vault is recovered or purged", name),
			hints: deletedVaultObject(d, name).hints()}
	}
	return &hintError{code: exitConflict, err: fmt.Errorf("the vault name %q is taken", name),
		hints: []string{"vault names are unique per server across subscriptions and groups: choose another name", explain(err).Error()}}
}

// selfObjectID is the caller's object id: from the credentials file, else from the Graph
// stand-in, as az asks Microsoft Graph (az-cli.md §3).
func (c *client) selfObjectID(ctx context.Context) (string, error) {
	if c.creds.ObjectID != "" {
		return c.creds.ObjectID, nil
	}
	scope := c.server.String() + "//.default"
	opts := c.clientOptions()
	pl := runtime.NewPipeline(moduleName, moduleVersion, runtime.PipelineOptions{
		PerRetry: []policy.Policy{runtime.NewBearerTokenPolicy(c.cred, []string{scope}, nil)},
	}, &opts)
	filter := fmt.Sprintf("servicePrincipalNames/any(c:c eq '%s')", c.creds.ClientID)
	req, err := runtime.NewRequest(ctx, http.MethodGet, c.server.String()+"/v1.0/servicePrincipals?$filter="+url.QueryEscape(filter))
	if err != nil {
		return "", err
	}
	resp, err := pl.Do(req)
	if err != nil {
		return "", err
	}
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return "", runtime.NewResponseError(resp)
	}
	var out struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	if err := runtime.UnmarshalAsJSON(resp, &out); err != nil {
		return "", err
	}
	if len(out.Value) == 0 || out.Value[0].ID == "" {
		return "", fmt.Errorf("the server does not know client id %s", c.creds.ClientID)
	}
	return out.Value[0].ID, nil
}
