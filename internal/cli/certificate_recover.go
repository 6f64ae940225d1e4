package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type certificateRecoverOptions struct {
	objectOptions
}

func (o *certificateRecoverOptions) AddFlags(fs *pflag.FlagSet) {
	o.objectOptions.AddFlags(fs, kindCertificate)
}

func newCertificateRecoverCommand() *cobra.Command {
	o := &certificateRecoverOptions{}
	cmd := &cobra.Command{
		Use:     "recover",
		Short:   "Recover a deleted certificate with its key and secret (as az keyvault certificate recover)",
		Example: `  coffer certificate recover --vault-name myvault --name web`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(kindCertificate, "recover"); err != nil {
				return err
			}
			return runCertificates(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, cc *azcertificates.Client) error {
				res, err := cc.RecoverDeletedCertificate(ctx, o.Name, nil)
				if err != nil {
					return c.explainDeletedOp(ctx, err, kindCertificate, o.VaultName, o.Name)
				}
				m := certJSON(res.Certificate)
				return printOut(cmd.OutOrStdout(), o.Output, m, certTable([]map[string]any{m}))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
