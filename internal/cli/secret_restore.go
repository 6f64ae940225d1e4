package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type secretRestoreOptions struct {
	vaultOptions
	File string
}

func (o *secretRestoreOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.File, "file", "f", "", "backup blob written by coffer secret backup (required)")
	o.vaultOptions.AddFlags(fs)
}

func newSecretRestoreCommand() *cobra.Command {
	o := &secretRestoreOptions{}
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Restore a secret, all versions, from a backup file (as az keyvault secret restore)",
		Long: `Restore a secret with all its versions and their ids from a backup blob, as az does.
The name must be free: not used by a live secret nor held by a deleted one.`,
		Example: `  coffer secret restore --vault-name myvault --file db-password.bak`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(kindSecret, "restore"); err != nil {
				return err
			}
			if o.File == "" {
				return requireFlag("file", "coffer secret restore --vault-name VAULT --file PATH")
			}
			blob, err := readFile("file", o.File)
			if err != nil {
				return err
			}
			return runSecrets(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, sc *azsecrets.Client) error {
				res, err := sc.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: blob}, nil)
				if err != nil {
					return c.explainObject(ctx, err, kindSecret, o.VaultName, "")
				}
				m := secretJSON(res.Secret, false)
				return printOut(cmd.OutOrStdout(), o.Output, m, secretsTable([]map[string]any{m}))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
