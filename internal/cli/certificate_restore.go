package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type certificateRestoreOptions struct {
	vaultOptions
	File string
}

func (o *certificateRestoreOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.File, "file", "f", "", "backup blob written by coffer certificate backup (required)")
	o.vaultOptions.AddFlags(fs)
}

func newCertificateRestoreCommand() *cobra.Command {
	o := &certificateRestoreOptions{}
	cmd := &cobra.Command{
		Use:     "restore",
		Short:   "Restore a certificate, with its key and secret, from a backup file (as az keyvault certificate restore)",
		Example: `  coffer certificate restore --vault-name myvault --file web.bak`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(kindCertificate, "restore"); err != nil {
				return err
			}
			if o.File == "" {
				return requireFlag("file", "coffer certificate restore --vault-name VAULT --file PATH")
			}
			blob, err := readFile("file", o.File)
			if err != nil {
				return err
			}
			return runCertificates(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, cc *azcertificates.Client) error {
				res, err := cc.RestoreCertificate(ctx, azcertificates.RestoreCertificateParameters{CertificateBackup: blob}, nil)
				if err != nil {
					return c.explainObject(ctx, err, kindCertificate, o.VaultName, "")
				}
				m := certJSON(res.Certificate)
				return printOut(cmd.OutOrStdout(), o.Output, m, certTable([]map[string]any{m}))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
