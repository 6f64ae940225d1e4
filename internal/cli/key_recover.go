package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type keyRecoverOptions struct {
	objectOptions
}

func (o *keyRecoverOptions) AddFlags(fs *pflag.FlagSet) { o.objectOptions.AddFlags(fs, kindKey) }

func newKeyRecoverCommand() *cobra.Command {
	o := &keyRecoverOptions{}
	cmd := &cobra.Command{
		Use:     "recover",
		Short:   "Recover a deleted key with all its versions (as az keyvault key recover)",
		Example: `  coffer key recover --vault-name myvault --name signing`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(kindKey, "recover"); err != nil {
				return err
			}
			return runKeys(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, kc *azkeys.Client) error {
				res, err := kc.RecoverDeletedKey(ctx, o.Name, nil)
				if err != nil {
					return c.explainDeletedOp(ctx, err, kindKey, o.VaultName, o.Name)
				}
				m := keyJSON(res.KeyBundle)
				return printOut(cmd.OutOrStdout(), o.Output, m, keyTable([]map[string]any{m}))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
