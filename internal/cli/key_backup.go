package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type keyBackupOptions struct {
	objectOptions
	File string
}

func (o *keyBackupOptions) AddFlags(fs *pflag.FlagSet) {
	o.objectOptions.AddFlags(fs, kindKey)
	fs.StringVarP(&o.File, "file", "f", "", "write the backup blob to this new file (required)")
}

func newKeyBackupCommand() *cobra.Command {
	o := &keyBackupOptions{}
	cmd := &cobra.Command{
		Use:     "backup",
		Short:   "Write a key's backup blob, all versions, to a new file (as az keyvault key backup)",
		Example: `  coffer key backup --vault-name myvault --name signing --file signing.bak`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(kindKey, "backup"); err != nil {
				return err
			}
			if o.File == "" {
				return requireFlag("file", "coffer key backup --vault-name VAULT --name NAME --file PATH")
			}
			return runKeys(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, kc *azkeys.Client) error {
				res, err := kc.BackupKey(ctx, o.Name, nil)
				if err != nil {
					return c.explainObject(ctx, err, kindKey, o.VaultName, o.Name)
				}
				return createNew("file", o.File, res.Value, 0o600)
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
