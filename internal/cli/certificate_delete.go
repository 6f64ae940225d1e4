package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type certificateDeleteOptions struct {
	objectOptions
}

func (o *certificateDeleteOptions) AddFlags(fs *pflag.FlagSet) {
	o.objectOptions.AddFlags(fs, kindCertificate)
}

func newCertificateDeleteCommand() *cobra.Command {
	o := &certificateDeleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a certificate with its key and secret; it stays recoverable until its scheduledPurgeDate (as az keyvault certificate delete)",
		Example: `  coffer certificate delete --vault-name myvault --name web
  coffer certificate recover --vault-name myvault --name web    # changed your mind`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(kindCertificate, "delete"); err != nil {
				return err
			}
			return runCertificates(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, cc *azcertificates.Client) error {
				res, err := cc.DeleteCertificate(ctx, o.Name, nil)
				if err != nil {
					return c.explainObject(ctx, err, kindCertificate, o.VaultName, o.Name)
				}
				m := deletedCertJSON(res.DeletedCertificate)
				if err := printOut(cmd.OutOrStdout(), o.Output, m, deletedTable([]map[string]any{m}, "recoveryId")); err != nil {
					return err
				}
				noteDeleted(cmd, kindCertificate, o.VaultName, o.Name, res.ScheduledPurgeDate)
				return nil
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
