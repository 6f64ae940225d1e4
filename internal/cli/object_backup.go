package cli

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type backupOptions struct {
	objectOptions
	File string
}

func (o *backupOptions) AddFlags(fs *pflag.FlagSet, kind string) {
	o.objectOptions.AddFlags(fs, kind)
	fs.StringVarP(&o.File, "file", "f", "", "write the backup blob to this new file (required)")
}

// newBackupCommand is `coffer KIND backup`: write an object's backup blob, all versions,
// to a file that must not exist yet.
func newBackupCommand(k *kind) *cobra.Command {
	o := &backupOptions{}
	cmd := &cobra.Command{
		Use:  "backup",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(k.name, "backup"); err != nil {
				return err
			}
			if o.File == "" {
				return requireFlag("file", "coffer "+k.name+" backup --vault-name VAULT --name NAME --file PATH")
			}
			return onVault(cmd, &o.clientOptions, o.VaultName, k.open, func(ctx context.Context, c *client, calls objectCalls) error {
				blob, err := calls.backup(ctx, o.Name)
				if err != nil {
					return c.explainObject(ctx, err, k.name, o.VaultName, o.Name)
				}
				return createNew("file", o.File, blob, 0o600)
			})
		},
	}
	k.describe(cmd, cmdHelp{
		short:   "Write a {kind}'s backup blob, all versions, to a new file (as az keyvault {kind} backup)",
		example: "  coffer {kind} backup --vault-name myvault --name {sample} --file {sample}.bak",
	})
	o.AddFlags(cmd.Flags(), k.name)
	return clientCommand(cmd)
}
