package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type keyPurgeOptions struct {
	objectOptions
	purgeFlags
}

func (o *keyPurgeOptions) AddFlags(fs *pflag.FlagSet) {
	o.objectOptions.AddFlags(fs, kindKey)
	o.purgeFlags.AddFlags(fs)
}

func newKeyPurgeCommand() *cobra.Command {
	o := &keyPurgeOptions{}
	cmd := &cobra.Command{
		Use:   "purge",
		Short: "Purge a deleted key for good; this cannot be undone (as az keyvault key purge)",
		Long: `Remove a deleted key and all its versions for good, and free its name. This cannot be
undone: what the key encrypted can no longer be decrypted. Under purge protection the key
cannot be purged: the command says when Coffer purges it by itself.

On a terminal it asks you to type the name first; --yes purges without asking, and is
needed when stdin is not a terminal (a script, a pipe): without it the command refuses at
once with exit code 2.`,
		Example: `  coffer key purge --vault-name myvault --name signing
  coffer key purge --vault-name myvault --name signing --yes   # in a script`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(kindKey, "purge"); err != nil {
				return err
			}
			if err := o.checkAsk(cmd, "coffer key purge --vault-name "+o.VaultName+" --name "+o.Name); err != nil {
				return err
			}
			return runKeys(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, kc *azkeys.Client) error {
				if !o.Yes {
					if err := c.confirmPurgeObject(ctx, cmd, &o.purgeFlags, kindKey, o.VaultName, o.Name, "and all its versions: what it encrypted can no longer be decrypted"); err != nil {
						return err
					}
				}
				if _, err := kc.PurgeDeletedKey(ctx, o.Name, nil); err != nil {
					return c.explainDeletedOp(ctx, err, kindKey, o.VaultName, o.Name)
				}
				return nil
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
