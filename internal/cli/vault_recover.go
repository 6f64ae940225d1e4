package cli

import (
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type vaultRecoverOptions struct {
	deletedVaultRef
	clientOptions
}

func (o *vaultRecoverOptions) AddFlags(fs *pflag.FlagSet) {
	o.deletedVaultRef.AddFlags(fs)
	fs.StringVarP(&o.Group, "resource-group", "g", "", "resource group to recover into (default: the vault's own, from its vaultId)")
	o.clientOptions.AddFlags(fs)
}

func newVaultRecoverCommand() *cobra.Command {
	o := &vaultRecoverOptions{}
	cmd := &cobra.Command{
		Use:   "recover",
		Short: "Recover a deleted vault with everything in it (as az keyvault recover)",
		Long: `Recover a soft-deleted vault with its contents, as az keyvault recover does: it finds
the vault among the deleted vaults (its group from its vaultId, its location from its
properties), sends a PUT with createMode "recover", and prints the vault. Objects that were
deleted before the vault keep their own retention and stay deleted.`,
		Example: `  coffer vault recover --name myvault`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.requireName("recover"); err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
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
			d, err := o.find(ctx, vc)
			if err != nil {
				return err
			}
			rg, loc := o.Group, o.Location
			if p := d.Properties; p != nil {
				if rg == "" && p.VaultID != nil {
					id, err := arm.ParseResourceID(*p.VaultID)
					if err != nil {
						return fmt.Errorf("deleted vault %s has the vaultId %q: %w", o.Name, *p.VaultID, err)
					}
					rg = id.ResourceGroupName
				}
				if p.Location != nil {
					loc = *p.Location
				}
			}
			if rg == "" {
				rg = defaultGroup
			}
			if loc == "" {
				loc = defaultLocation
			}
			poller, err := vc.BeginCreateOrUpdate(ctx, rg, deletedVaultName(d), armkeyvault.VaultCreateOrUpdateParameters{
				Location: &loc,
				Properties: &armkeyvault.VaultProperties{
					TenantID:   &c.creds.TenantID,
					SKU:        &armkeyvault.SKU{Family: ptr(armkeyvault.SKUFamilyA), Name: ptr(armkeyvault.SKUNameStandard)},
					CreateMode: ptr(armkeyvault.CreateModeRecover),
				},
			}, nil)
			if err != nil {
				return err
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
