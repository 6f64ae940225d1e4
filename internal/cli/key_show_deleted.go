package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type keyShowDeletedOptions struct {
	objectOptions
}

func (o *keyShowDeletedOptions) AddFlags(fs *pflag.FlagSet) { o.objectOptions.AddFlags(fs, kindKey) }

func newKeyShowDeletedCommand() *cobra.Command {
	o := &keyShowDeletedOptions{}
	cmd := &cobra.Command{
		Use:     "show-deleted",
		Short:   "Show a deleted key (as az keyvault key show-deleted)",
		Example: `  coffer key show-deleted --vault-name myvault --name signing`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(kindKey, "show-deleted"); err != nil {
				return err
			}
			return runKeys(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, kc *azkeys.Client) error {
				res, err := kc.GetDeletedKey(ctx, o.Name, nil)
				if err != nil {
					return c.explainDeletedOp(ctx, err, kindKey, o.VaultName, o.Name)
				}
				m := deletedKeyJSON(res.DeletedKey)
				return printOut(cmd.OutOrStdout(), o.Output, m, deletedKeyTable([]map[string]any{m}))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
