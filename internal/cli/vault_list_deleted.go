package cli

import (
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newVaultListDeletedCommand() *cobra.Command {
	ref := &vaultRef{}
	return newVaultOpCommand(vaultSpec{
		verb: "list-deleted", ref: ref,
		help: cmdHelp{
			short: "List the deleted vaults of a subscription (as az keyvault list-deleted)",
			example: `  coffer vault list-deleted
  coffer vault list-deleted -o table`,
		},
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&ref.Subscription, "subscription", defaultSubscription, "subscription id")
		},
		run: func(r *vaultRun) error {
			return printPages(r, r.vc.NewListDeletedPager(nil),
				func(p armkeyvault.VaultsClientListDeletedResponse) []*armkeyvault.DeletedVault { return p.Value }, deletedVaultColumns)
		},
	})
}
