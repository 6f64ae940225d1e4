package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type secretPurgeOptions struct {
	objectOptions
	purgeFlags
}

func (o *secretPurgeOptions) AddFlags(fs *pflag.FlagSet) {
	o.objectOptions.AddFlags(fs, kindSecret)
	o.purgeFlags.AddFlags(fs)
}

func newSecretPurgeCommand() *cobra.Command {
	o := &secretPurgeOptions{}
	cmd := &cobra.Command{
		Use:   "purge",
		Short: "Purge a deleted secret for good; this cannot be undone (as az keyvault secret purge)",
		Long: `Remove a deleted secret and all its versions for good, as az keyvault secret purge
does, and free its name. This cannot be undone. Under purge protection the secret cannot be
purged: the command says when Coffer purges it by itself.

On a terminal it asks you to type the name first; --yes purges without asking, and is
needed when stdin is not a terminal (a script, a pipe): without it the command refuses at
once with exit code 2.`,
		Example: `  coffer secret purge --vault-name myvault --name db-password
  coffer secret purge --vault-name myvault --name db-password --yes   # in a script`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(kindSecret, "purge"); err != nil {
				return err
			}
			if err := o.checkAsk(cmd, "coffer secret purge --vault-name "+o.VaultName+" --name "+o.Name); err != nil {
				return err
			}
			return runSecrets(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, sc *azsecrets.Client) error {
				if !o.Yes {
					if err := c.confirmPurgeObject(ctx, cmd, &o.purgeFlags, kindSecret, o.VaultName, o.Name, "and all its versions"); err != nil {
						return err
					}
				}
				if _, err := sc.PurgeDeletedSecret(ctx, o.Name, nil); err != nil {
					return c.explainDeletedOp(ctx, err, kindSecret, o.VaultName, o.Name)
				}
				return nil
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
