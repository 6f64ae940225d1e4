package cli

import (
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type vaultListDeletedOptions struct {
	clientOptions
	Subscription string
}

func (o *vaultListDeletedOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Subscription, "subscription", defaultSubscription, "subscription id")
	o.clientOptions.AddFlags(fs)
}

func newVaultListDeletedCommand() *cobra.Command {
	o := &vaultListDeletedOptions{}
	cmd := &cobra.Command{
		Use:   "list-deleted",
		Short: "List the deleted vaults of a subscription (as az keyvault list-deleted)",
		Example: `  coffer vault list-deleted
  coffer vault list-deleted -o table`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			c, err := newClient(&o.clientOptions)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			vc, err := armkeyvault.NewVaultsClient(o.Subscription, c.cred, c.armOptions())
			if err != nil {
				return err
			}
			var all []*armkeyvault.DeletedVault
			pager := vc.NewListDeletedPager(nil)
			for pager.More() {
				page, err := pager.NextPage(ctx)
				if err != nil {
					return err
				}
				all = append(all, page.Value...)
			}
			out, err := armList(all)
			if err != nil {
				return err
			}
			return printOut(cmd.OutOrStdout(), o.Output, out, deletedVaultsTable(out))
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
