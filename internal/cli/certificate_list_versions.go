package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type certificateListVersionsOptions struct {
	objectOptions
	maxResults
}

func (o *certificateListVersionsOptions) AddFlags(fs *pflag.FlagSet) {
	o.objectOptions.AddFlags(fs, kindCertificate)
	o.maxResults.AddFlags(fs)
}

func newCertificateListVersionsCommand() *cobra.Command {
	o := &certificateListVersionsOptions{}
	cmd := &cobra.Command{
		Use:     "list-versions",
		Short:   "List the versions of a certificate (as az keyvault certificate list-versions)",
		Example: `  coffer certificate list-versions --vault-name myvault --name web`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(kindCertificate, "list-versions"); err != nil {
				return err
			}
			return runCertificates(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, cc *azcertificates.Client) error {
				var out []map[string]any
				pager := cc.NewListCertificatePropertiesVersionsPager(o.Name, nil)
				for pager.More() && !o.full(len(out)) {
					page, err := pager.NextPage(ctx)
					if err != nil {
						return c.explainObject(ctx, err, kindCertificate, o.VaultName, o.Name)
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
