package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type keyListDeletedOptions struct {
	vaultOptions
	maxResults
}

func (o *keyListDeletedOptions) AddFlags(fs *pflag.FlagSet) {
	o.maxResults.AddFlags(fs)
	o.vaultOptions.AddFlags(fs)
}

func newKeyListDeletedCommand() *cobra.Command {
	o := &keyListDeletedOptions{}
	cmd := &cobra.Command{
		Use:   "list-deleted",
		Short: "List a vault's deleted keys, with their scheduledPurgeDate (as az keyvault key list-deleted)",
		Example: `  coffer key list-deleted --vault-name myvault
  coffer key list-deleted --vault-name myvault -o table`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(kindKey, "list-deleted"); err != nil {
				return err
			}
			return runKeys(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, kc *azkeys.Client) error {
				var out []map[string]any
				pager := kc.NewListDeletedKeyPropertiesPager(nil)
				for pager.More() && !o.full(len(out)) {
					page, err := pager.NextPage(ctx)
					if err != nil {
						return c.explainObject(ctx, err, kindKey, o.VaultName, "")
					}
					for _, p := range page.Value {
						if p != nil && !o.full(len(out)) {
							out = append(out, deletedKeyItemJSON(p))
						}
					}
				}
				out = nonNil(out)
				return printOut(cmd.OutOrStdout(), o.Output, out, deletedTable(out, "recoveryId"))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
