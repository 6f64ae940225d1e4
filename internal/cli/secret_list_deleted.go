package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type secretListDeletedOptions struct {
	vaultOptions
	maxResults
}

func (o *secretListDeletedOptions) AddFlags(fs *pflag.FlagSet) {
	o.maxResults.AddFlags(fs)
	o.vaultOptions.AddFlags(fs)
}

func newSecretListDeletedCommand() *cobra.Command {
	o := &secretListDeletedOptions{}
	cmd := &cobra.Command{
		Use:   "list-deleted",
		Short: "List a vault's deleted secrets, with their scheduledPurgeDate (as az keyvault secret list-deleted)",
		Example: `  coffer secret list-deleted --vault-name myvault
  coffer secret list-deleted --vault-name myvault -o table`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(kindSecret, "list-deleted"); err != nil {
				return err
			}
			return runSecrets(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, sc *azsecrets.Client) error {
				var out []map[string]any
				pager := sc.NewListDeletedSecretPropertiesPager(nil)
				for pager.More() && !o.full(len(out)) {
					page, err := pager.NextPage(ctx)
					if err != nil {
						return c.explainObject(ctx, err, kindSecret, o.VaultName, "")
					}
					for _, p := range page.Value {
						if p != nil && !o.full(len(out)) {
							out = append(out, deletedSecretItemJSON(p))
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
