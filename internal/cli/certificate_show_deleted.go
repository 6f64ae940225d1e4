package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type certificateShowDeletedOptions struct {
	objectOptions
}

func (o *certificateShowDeletedOptions) AddFlags(fs *pflag.FlagSet) {
	o.objectOptions.AddFlags(fs, kindCertificate)
}

func newCertificateShowDeletedCommand() *cobra.Command {
	o := &certificateShowDeletedOptions{}
	cmd := &cobra.Command{
		Use:     "show-deleted",
		Short:   "Show a deleted certificate (as az keyvault certificate show-deleted)",
		Example: `  coffer certificate show-deleted --vault-name myvault --name web`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(kindCertificate, "show-deleted"); err != nil {
				return err
			}
			return runCertificates(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, cc *azcertificates.Client) error {
				res, err := cc.GetDeletedCertificate(ctx, o.Name, nil)
				if err != nil {
					return c.explainDeletedOp(ctx, err, kindCertificate, o.VaultName, o.Name)
				}
				m := deletedCertJSON(res.DeletedCertificate)
				return printOut(cmd.OutOrStdout(), o.Output, m, deletedTable([]map[string]any{m}, "recoveryId"))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
