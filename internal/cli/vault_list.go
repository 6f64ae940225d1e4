package cli

import (
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newVaultListCommand() *cobra.Command {
	ref := &vaultRef{}
	return newVaultOpCommand(vaultSpec{
		verb: "list", ref: ref,
		help: cmdHelp{
			short: "List the vaults of a subscription or group (as az keyvault list)",
			example: `  coffer vault list
  coffer vault list -g rg -o table`,
		},
		flags: func(fs *pflag.FlagSet) {
			fs.StringVarP(&ref.Group, "resource-group", "g", "", "list only this group's vaults (default: the whole subscription)")
			fs.StringVar(&ref.Subscription, "subscription", defaultSubscription, "subscription id")
		},
		run: func(r *vaultRun) error {
			if ref.Group != "" {
				return printPages(r, r.vc.NewListByResourceGroupPager(ref.Group, nil),
					func(p armkeyvault.VaultsClientListByResourceGroupResponse) []*armkeyvault.Vault { return p.Value }, vaultColumns)
			}
			return printPages(r, r.vc.NewListBySubscriptionPager(nil),
				func(p armkeyvault.VaultsClientListBySubscriptionResponse) []*armkeyvault.Vault { return p.Value }, vaultColumns)
		},
	})
}
