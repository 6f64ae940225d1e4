package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type certificateListOptions struct {
	vaultOptions
	maxResults
	IncludePending bool
}

func (o *certificateListOptions) AddFlags(fs *pflag.FlagSet) {
	o.maxResults.AddFlags(fs)
	fs.BoolVar(&o.IncludePending, "include-pending", false, "also list certificates whose creation is pending")
	o.vaultOptions.AddFlags(fs)
}

func newCertificateListCommand() *cobra.Command {
	o := &certificateListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List a vault's certificates (as az keyvault certificate list)",
		Example: `  coffer certificate list --vault-name myvault
  coffer certificate list --vault-name myvault -o table`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(kindCertificate, "list"); err != nil {
				return err
			}
			return runCertificates(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, cc *azcertificates.Client) error {
				var out []map[string]any
				opts := &azcertificates.ListCertificatePropertiesOptions{}
				if o.IncludePending {
					opts.IncludePending = ptr(true)
				}
				pager := cc.NewListCertificatePropertiesPager(opts)
				for pager.More() && !o.full(len(out)) {
					page, err := pager.NextPage(ctx)
					if err != nil {
						return c.explainObject(ctx, err, kindCertificate, o.VaultName, "")
					}
					for _, p := range page.Value {
						if p != nil && !o.full(len(out)) {
							out = append(out, certPropsJSON(p.Attributes, p.ID, p.Tags, p.X509Thumbprint))
						}
					}
				}
				out = nonNil(out)
				return printOut(cmd.OutOrStdout(), o.Output, out, certsTable(out))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
