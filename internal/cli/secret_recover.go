package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type secretRecoverOptions struct {
	objectOptions
}

func (o *secretRecoverOptions) AddFlags(fs *pflag.FlagSet) { o.objectOptions.AddFlags(fs, kindSecret) }

func newSecretRecoverCommand() *cobra.Command {
	o := &secretRecoverOptions{}
	cmd := &cobra.Command{
		Use:     "recover",
		Short:   "Recover a deleted secret with all its versions (as az keyvault secret recover)",
		Example: `  coffer secret recover --vault-name myvault --name db-password`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(kindSecret, "recover"); err != nil {
				return err
			}
			return runSecrets(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, sc *azsecrets.Client) error {
				res, err := sc.RecoverDeletedSecret(ctx, o.Name, nil)
				if err != nil {
					return c.explainDeletedOp(ctx, err, kindSecret, o.VaultName, o.Name)
				}
				m := secretJSON(res.Secret, false)
				return printOut(cmd.OutOrStdout(), o.Output, m, secretsTable([]map[string]any{m}))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
