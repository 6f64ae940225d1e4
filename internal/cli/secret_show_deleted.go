package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type secretShowDeletedOptions struct {
	objectOptions
}

func (o *secretShowDeletedOptions) AddFlags(fs *pflag.FlagSet) {
	o.objectOptions.AddFlags(fs, kindSecret)
}

func newSecretShowDeletedCommand() *cobra.Command {
	o := &secretShowDeletedOptions{}
	cmd := &cobra.Command{
		Use:   "show-deleted",
		Short: "Show a deleted secret, without its value (as az keyvault secret show-deleted)",
		Example: `  coffer secret show-deleted --vault-name myvault --name db-password
  coffer secret show-deleted --id https://myvault.localhost:8443/deletedsecrets/db-password`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(kindSecret, "show-deleted"); err != nil {
				return err
			}
			return runSecrets(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, sc *azsecrets.Client) error {
				res, err := sc.GetDeletedSecret(ctx, o.Name, nil)
				if err != nil {
					return c.explainDeletedOp(ctx, err, kindSecret, o.VaultName, o.Name)
				}
				m := deletedSecretJSON(res.DeletedSecret)
				return printOut(cmd.OutOrStdout(), o.Output, m, deletedTable([]map[string]any{m}, "recoveryId"))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
