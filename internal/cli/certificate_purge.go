package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type certificatePurgeOptions struct {
	objectOptions
	purgeFlags
}

func (o *certificatePurgeOptions) AddFlags(fs *pflag.FlagSet) {
	o.objectOptions.AddFlags(fs, kindCertificate)
	o.purgeFlags.AddFlags(fs)
}

func newCertificatePurgeCommand() *cobra.Command {
	o := &certificatePurgeOptions{}
	cmd := &cobra.Command{
		Use:   "purge",
		Short: "Purge a deleted certificate, its key and secret for good; this cannot be undone (as az keyvault certificate purge)",
		Long: `Remove a deleted certificate, with its key and secret and all versions, for good, and
free its name. This cannot be undone. Under purge protection the certificate cannot be
purged: the command says when Coffer purges it by itself.

On a terminal it asks you to type the name first; --yes purges without asking, and is
needed when stdin is not a terminal (a script, a pipe): without it the command refuses at
once with exit code 2.`,
		Example: `  coffer certificate purge --vault-name myvault --name web
  coffer certificate purge --vault-name myvault --name web --yes   # in a script`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(kindCertificate, "purge"); err != nil {
				return err
			}
			if err := o.checkAsk(cmd, "coffer certificate purge --vault-name "+o.VaultName+" --name "+o.Name); err != nil {
				return err
			}
			return runCertificates(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, cc *azcertificates.Client) error {
				if !o.Yes {
					if err := c.confirmPurgeObject(ctx, cmd, &o.purgeFlags, kindCertificate, o.VaultName, o.Name, "with its key, its secret and all versions"); err != nil {
						return err
					}
				}
				if _, err := cc.PurgeDeletedCertificate(ctx, o.Name, nil); err != nil {
					return c.explainDeletedOp(ctx, err, kindCertificate, o.VaultName, o.Name)
				}
				return nil
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
