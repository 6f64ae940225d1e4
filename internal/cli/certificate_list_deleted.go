package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type certificateListDeletedOptions struct {
	vaultOptions
	maxResults
}

func (o *certificateListDeletedOptions) AddFlags(fs *pflag.FlagSet) {
	o.maxResults.AddFlags(fs)
	o.vaultOptions.AddFlags(fs)
}

func newCertificateListDeletedCommand() *cobra.Command {
	o := &certificateListDeletedOptions{}
	cmd := &cobra.Command{
		Use:   "list-deleted",
		Short: "List a vault's deleted certificates, with their scheduledPurgeDate (as az keyvault certificate list-deleted)",
		Example: `  coffer certificate list-deleted --vault-name myvault
  coffer certificate list-deleted --vault-name myvault -o table`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(kindCertificate, "list-deleted"); err != nil {
				return err
			}
			return runCertificates(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, cc *azcertificates.Client) error {
				var out []map[string]any
				pager := cc.NewListDeletedCertificatePropertiesPager(nil)
				for pager.More() && !o.full(len(out)) {
					page, err := pager.NextPage(ctx)
					if err != nil {
						return c.explainObject(ctx, err, kindCertificate, o.VaultName, "")
					}
					for _, p := range page.Value {
						if p != nil && !o.full(len(out)) {
							out = append(out, deletedCertItemJSON(p))
						}
					}
				}
				out = nonNil(out)
				return printOut(cmd.OutOrStdout(), o.Output, out, deletedTable(out, "recoveryId"))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
