package cli

import (
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type vaultListOptions struct {
	clientOptions
	Group        string
	Subscription string
}

func (o *vaultListOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.Group, "resource-group", "g", "", "list only this group's vaults (default: the whole subscription)")
	fs.StringVar(&o.Subscription, "subscription", defaultSubscription, "subscription id")
	o.clientOptions.AddFlags(fs)
}

func newVaultListCommand() *cobra.Command {
	o := &vaultListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the vaults of a subscription or group (as az keyvault list)",
		Example: `  coffer vault list
  coffer vault list -g rg -o table`,
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
			var all []*armkeyvault.Vault
			if o.Group != "" {
				pager := vc.NewListByResourceGroupPager(o.Group, nil)
				for pager.More() {
					page, err := pager.NextPage(ctx)
					if err != nil {
						return err
					}
					all = append(all, page.Value...)
				}
			} else {
				pager := vc.NewListBySubscriptionPager(nil)
				for pager.More() {
					page, err := pager.NextPage(ctx)
					if err != nil {
						return err
					}
					all = append(all, page.Value...)
				}
			}
			out, err := armList(all)
			if err != nil {
				return err
			}
			return printOut(cmd.OutOrStdout(), o.Output, out, vaultsTable(out))
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
