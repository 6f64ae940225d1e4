package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type keyDeleteOptions struct {
	objectOptions
}

func (o *keyDeleteOptions) AddFlags(fs *pflag.FlagSet) { o.objectOptions.AddFlags(fs, kindKey) }

func newKeyDeleteCommand() *cobra.Command {
	o := &keyDeleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a key, all versions; it stays recoverable until its scheduledPurgeDate (as az keyvault key delete)",
		Example: `  coffer key delete --vault-name myvault --name signing
  coffer key recover --vault-name myvault --name signing    # changed your mind`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(kindKey, "delete"); err != nil {
				return err
			}
			return runKeys(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, kc *azkeys.Client) error {
				res, err := kc.DeleteKey(ctx, o.Name, nil)
				if err != nil {
					return c.explainObject(ctx, err, kindKey, o.VaultName, o.Name)
				}
				m := deletedKeyJSON(res.DeletedKey)
				if err := printOut(cmd.OutOrStdout(), o.Output, m, deletedKeyTable([]map[string]any{m})); err != nil {
					return err
				}
				noteDeleted(cmd, kindKey, o.VaultName, o.Name, res.ScheduledPurgeDate)
				return nil
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
