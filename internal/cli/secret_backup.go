package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type secretBackupOptions struct {
	objectOptions
	File string
}

func (o *secretBackupOptions) AddFlags(fs *pflag.FlagSet) {
	o.objectOptions.AddFlags(fs, kindSecret)
	fs.StringVarP(&o.File, "file", "f", "", "write the backup blob to this new file (required)")
}

func newSecretBackupCommand() *cobra.Command {
	o := &secretBackupOptions{}
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Write a secret's backup blob, all versions, to a file (as az keyvault secret backup)",
		Long: `Write the secret's backup blob (all versions; opaque and integrity-protected, no value
in clear) to --file. The file must not exist yet, so that no backup is overwritten by
mistake. coffer secret restore brings the secret back from it.`,
		Example: `  coffer secret backup --vault-name myvault --name db-password --file db-password.bak`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(kindSecret, "backup"); err != nil {
				return err
			}
			if o.File == "" {
				return requireFlag("file", "coffer secret backup --vault-name VAULT --name NAME --file PATH")
			}
			return runSecrets(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, sc *azsecrets.Client) error {
				res, err := sc.BackupSecret(ctx, o.Name, nil)
				if err != nil {
					return c.explainObject(ctx, err, kindSecret, o.VaultName, o.Name)
				}
				return createNew("file", o.File, res.Value, 0o600)
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
