package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type certificateBackupOptions struct {
	objectOptions
	File string
}

func (o *certificateBackupOptions) AddFlags(fs *pflag.FlagSet) {
	o.objectOptions.AddFlags(fs, kindCertificate)
	fs.StringVarP(&o.File, "file", "f", "", "write the backup blob to this new file (required)")
}

func newCertificateBackupCommand() *cobra.Command {
	o := &certificateBackupOptions{}
	cmd := &cobra.Command{
		Use:     "backup",
		Short:   "Write a certificate's backup blob (with its key and secret) to a new file (as az keyvault certificate backup)",
		Example: `  coffer certificate backup --vault-name myvault --name web --file web.bak`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(kindCertificate, "backup"); err != nil {
				return err
			}
			if o.File == "" {
				return requireFlag("file", "coffer certificate backup --vault-name VAULT --name NAME --file PATH")
			}
			return runCertificates(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, cc *azcertificates.Client) error {
				res, err := cc.BackupCertificate(ctx, o.Name, nil)
				if err != nil {
					return c.explainObject(ctx, err, kindCertificate, o.VaultName, o.Name)
				}
				return createNew("file", o.File, res.Value, 0o600)
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
