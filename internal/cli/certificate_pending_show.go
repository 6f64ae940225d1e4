package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type certificatePendingShowOptions struct {
	objectOptions
}

func (o *certificatePendingShowOptions) AddFlags(fs *pflag.FlagSet) {
	o.objectOptions.AddFlags(fs, kindCertificate)
}

func newCertificatePendingShowCommand() *cobra.Command {
	o := &certificatePendingShowOptions{}
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show a certificate's creation operation, with its CSR (as az keyvault certificate pending show)",
		Example: `  coffer certificate pending show --vault-name myvault --name web
  coffer certificate pending show --vault-name myvault -n web -o tsv`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(kindCertificate, "pending show"); err != nil {
				return err
			}
			return onVault(cmd, &o.clientOptions, o.VaultName, (*client).certificatesClient, func(ctx context.Context, c *client, cc *azcertificates.Client) error {
				res, err := cc.GetCertificateOperation(ctx, o.Name, nil)
				if err != nil {
					return c.explainObject(ctx, err, kindCertificate, o.VaultName, o.Name)
				}
				m := certOperationJSON(res.CertificateOperation)
				return printObject(cmd, o.Output, m, certOperationColumns)
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
