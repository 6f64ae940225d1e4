package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type keyRestoreOptions struct {
	vaultOptions
	File string
}

func (o *keyRestoreOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.File, "file", "f", "", "backup blob written by coffer key backup (required)")
	o.vaultOptions.AddFlags(fs)
}

func newKeyRestoreCommand() *cobra.Command {
	o := &keyRestoreOptions{}
	cmd := &cobra.Command{
		Use:     "restore",
		Short:   "Restore a key, all versions, from a backup file (as az keyvault key restore)",
		Example: `  coffer key restore --vault-name myvault --file signing.bak`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(kindKey, "restore"); err != nil {
				return err
			}
			if o.File == "" {
				return requireFlag("file", "coffer key restore --vault-name VAULT --file PATH")
			}
			blob, err := readFile("file", o.File)
			if err != nil {
				return err
			}
			return runKeys(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, kc *azkeys.Client) error {
				res, err := kc.RestoreKey(ctx, azkeys.RestoreKeyParameters{KeyBackup: blob}, nil)
				if err != nil {
					return c.explainObject(ctx, err, kindKey, o.VaultName, "")
				}
				m := keyJSON(res.KeyBundle)
				return printOut(cmd.OutOrStdout(), o.Output, m, keyTable([]map[string]any{m}))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
