package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Defaults of the management plane: where the server keeps its default vault (the
// default subscription, group "coffer", location "local"), so that a vault created
// without -g and -l sits beside it; and az's default retention.
const (
	defaultGroup     = "coffer"
	defaultLocation  = "local"
	defaultRetention = 90
)

type vaultCreateOptions struct {
	vaultRef
	vaultProps
	tagFlags
	Location      string
	RetentionDays int
	NoSelfPerms   bool
	SKU           string
}

func (o *vaultCreateOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.Name, "name", "n", "", "vault name, 3-24 letters, digits and dashes (required)")
	fs.StringVarP(&o.Group, "resource-group", "g", defaultGroup, "resource group (any name; Coffer needs no prior creation)")
	fs.StringVar(&o.Subscription, "subscription", defaultSubscription, "subscription id")
	fs.StringVarP(&o.Location, "location", "l", defaultLocation, "location (any name; it is stored and addresses the deleted vault)")
	fs.IntVar(&o.RetentionDays, "retention-days", defaultRetention, "days a deleted vault or object stays recoverable, 7-90; fixed at creation")
	o.vaultProps.AddFlags(fs, "forbid purging before the retention ends; cannot be turned off")
	fs.BoolVar(&o.NoSelfPerms, "no-self-perms", false, "do not give the caller an access policy with every permission")
	fs.StringVar(&o.SKU, "sku", "standard", "standard or premium")
	o.tagFlags.AddFlags(fs)
}

func newVaultCreateCommand() *cobra.Command {
	o := &vaultCreateOptions{}
	var tags map[string]*string
	return newVaultOpCommand(vaultSpec{
		verb: "create", ref: &o.vaultRef, flags: o.AddFlags, require: o.nameRequired("create"),
		help: cmdHelp{
			short: "Create a vault (as az keyvault create)",
			long: `Create a vault through armkeyvault, as az keyvault create does: it checks that the
name is free, gives the caller an access policy with every permission (unless
--no-self-perms, or --enable-rbac-authorization true: such a vault is decided by role
assignments, coffer role assignment create), and prints the vault. Soft delete is always on; --retention-days (7-90,
default 90) is fixed at creation, and purge protection cannot be turned off once on.

-g and -l are optional: the default group is "coffer" and the default location "local".`,
			example: `  coffer vault create --name myvault
  coffer vault create -n prod-vault -g rg -l westeurope --retention-days 30 --enable-purge-protection true`,
		},
		check: func(*cobra.Command) (err error) {
			if tags, err = o.tagFlags.parse(); err != nil {
				return err
			}
			if sku := armkeyvault.SKUName(o.SKU); sku != armkeyvault.SKUNameStandard && sku != armkeyvault.SKUNamePremium {
				return &hintError{code: exitUsage, err: fmt.Errorf("--sku %q is not known", o.SKU), hints: []string{"use --sku standard or --sku premium"}}
			}
			return nil
		},
		run: func(r *vaultRun) error {
			// az's existence pre-check: create never silently rewrites a vault.
			if _, err := r.vc.Get(r.ctx, o.Group, o.Name, nil); err == nil {
				return &hintError{code: exitConflict, err: fmt.Errorf("vault %q already exists in resource group %s", o.Name, o.Group),
					hints: []string{"change it with: coffer vault update --name " + o.Name}}
			} else if !isStatus(err, http.StatusNotFound) {
				return err
			}
			props := &armkeyvault.VaultProperties{
				TenantID:                  &r.c.creds.TenantID,
				SKU:                       &armkeyvault.SKU{Family: ptr(armkeyvault.SKUFamilyA), Name: ptr(armkeyvault.SKUName(o.SKU))},
				AccessPolicies:            []*armkeyvault.AccessPolicyEntry{},
				EnableSoftDelete:          ptr(true),
				SoftDeleteRetentionInDays: ptr(int32(o.RetentionDays)),
				NetworkACLs: &armkeyvault.NetworkRuleSet{
					Bypass:        ptr(armkeyvault.NetworkRuleBypassOptionsAzureServices),
					DefaultAction: ptr(armkeyvault.NetworkRuleActionAllow),
				},
			}
			o.vaultProps.set(&props.EnablePurgeProtection, &props.EnableRbacAuthorization, &props.EnabledForDeployment, &props.EnabledForDiskEncryption, &props.EnabledForTemplateDeployment)
			if !o.NoSelfPerms && !o.EnableRbacAuthorization { // an RBAC vault ignores access policies, as az's create knows
				oid, err := r.c.selfObjectID(r.ctx)
				if err != nil {
					return fmt.Errorf("find the caller's object id for its access policy (--no-self-perms skips it): %w", err)
				}
				props.AccessPolicies = append(props.AccessPolicies, &armkeyvault.AccessPolicyEntry{
					TenantID: &r.c.creds.TenantID, ObjectID: &oid,
					Permissions: &armkeyvault.Permissions{
						Keys:         []*armkeyvault.KeyPermissions{ptr(armkeyvault.KeyPermissionsAll)},
						Secrets:      []*armkeyvault.SecretPermissions{ptr(armkeyvault.SecretPermissionsAll)},
						Certificates: []*armkeyvault.CertificatePermissions{ptr(armkeyvault.CertificatePermissionsAll)},
						Storage:      []*armkeyvault.StoragePermissions{ptr(armkeyvault.StoragePermissionsAll)},
					},
				})
			}
			poller, err := r.vc.BeginCreateOrUpdate(r.ctx, o.Group, o.Name, armkeyvault.VaultCreateOrUpdateParameters{
				Location: &o.Location, Properties: props, Tags: tags,
			}, nil)
			if err != nil {
				return explainVaultConflict(r.ctx, r.vc, o.Name, err)
			}
			return r.printWhenDone(poller)
		},
	})
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

// selfObjectID is the caller's object id: from the credentials file, else from the
// server's stand-in for Microsoft Graph, which az asks for it.
func (c *client) selfObjectID(ctx context.Context) (string, error) {
	if c.creds.ObjectID != "" {
		return c.creds.ObjectID, nil
	}
	id, err := c.servicePrincipal(ctx, fmt.Sprintf("servicePrincipalNames/any(c:c eq '%s')", c.creds.ClientID))
	if errors.Is(err, errNoSuchSP) {
		return "", fmt.Errorf("the server does not know client id %s", c.creds.ClientID)
	}
	return id, err
}
