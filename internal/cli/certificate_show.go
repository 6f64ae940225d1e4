package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type certificateShowOptions struct {
	objectOptions
	Version string
}

func (o *certificateShowOptions) AddFlags(fs *pflag.FlagSet) {
	o.objectOptions.AddFlags(fs, kindCertificate)
	versionFlag(fs, &o.Version, kindCertificate)
}

func newCertificateShowCommand() *cobra.Command {
	o := &certificateShowOptions{}
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show a certificate with its policy (as az keyvault certificate show)",
		Long: `Show a certificate's latest version, or --version, as az prints it. A deleted
certificate is reported with the date it will be purged and the commands that recover or
purge it.`,
		Example: `  coffer certificate show --vault-name myvault --name web
  coffer certificate show --vault-name myvault -n web -o table`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			idVersion, err := o.check(kindCertificate, "show")
			if err != nil {
				return err
			}
			return runCertificates(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, cc *azcertificates.Client) error {
				res, err := cc.GetCertificate(ctx, o.Name, pickVersion(o.Version, idVersion), nil)
				if err != nil {
					return c.explainObject(ctx, err, kindCertificate, o.VaultName, o.Name)
				}
				m := certJSON(res.Certificate)
				return printOut(cmd.OutOrStdout(), o.Output, m, certTable([]map[string]any{m}))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
