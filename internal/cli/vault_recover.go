package cli

import (
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newVaultRecoverCommand() *cobra.Command {
	ref := &deletedVaultRef{}
	return newVaultOpCommand(vaultSpec{
		verb: "recover", ref: &ref.vaultRef, require: ref.nameRequired("recover"),
		help: cmdHelp{
			short: "Recover a deleted vault with everything in it (as az keyvault recover)",
			long: `Recover a soft-deleted vault with its contents, as az keyvault recover does: it finds
the vault among the deleted vaults (its group from its vaultId, its location from its
properties), sends a PUT with createMode "recover", and prints the vault. Objects that were
deleted before the vault keep their own retention and stay deleted.`,
			example: `  coffer vault recover --name myvault`,
		},
		flags: func(fs *pflag.FlagSet) {
			ref.AddFlags(fs)
			fs.StringVarP(&ref.Group, "resource-group", "g", "", "resource group to recover into (default: the vault's own, from its vaultId)")
		},
		run: func(r *vaultRun) error {
			d, err := ref.find(r.ctx, r.vc)
			if err != nil {
				return err
			}
			rg, loc := ref.Group, ref.Location
			if p := d.Properties; p != nil {
				if rg == "" && p.VaultID != nil {
					id, err := arm.ParseResourceID(*p.VaultID)
					if err != nil {
						return fmt.Errorf("deleted vault %s has the vaultId %q: %w", ref.Name, *p.VaultID, err)
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
			poller, err := r.vc.BeginCreateOrUpdate(r.ctx, rg, deletedVaultName(d), armkeyvault.VaultCreateOrUpdateParameters{
				Location: &loc,
				Properties: &armkeyvault.VaultProperties{
					TenantID:   &r.c.creds.TenantID,
					SKU:        &armkeyvault.SKU{Family: ptr(armkeyvault.SKUFamilyA), Name: ptr(armkeyvault.SKUNameStandard)},
					CreateMode: ptr(armkeyvault.CreateModeRecover),
				},
			}, nil)
			if err != nil {
				return err
			}
			return r.printWhenDone(poller)
		},
	})
}
