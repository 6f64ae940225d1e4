package cli

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type restoreOptions struct {
	vaultOptions
	File string
}

func (o *restoreOptions) AddFlags(fs *pflag.FlagSet, kind string) {
	fs.StringVarP(&o.File, "file", "f", "", "backup blob written by coffer "+kind+" backup (required)")
	o.vaultOptions.AddFlags(fs)
}

// newRestoreCommand is `coffer KIND restore`: bring an object back, all versions, from the
// blob of coffer KIND backup. Its name is in the blob, and must be free.
func newRestoreCommand(k *kind) *cobra.Command {
	o := &restoreOptions{}
	cmd := &cobra.Command{
		Use:  "restore",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(k.name, "restore"); err != nil {
				return err
			}
			if o.File == "" {
				return requireFlag("file", "coffer "+k.name+" restore --vault-name VAULT --file PATH")
			}
			blob, err := readFile("file", o.File)
			if err != nil {
				return err
			}
			return onVault(cmd, &o.clientOptions, o.VaultName, k.open, func(ctx context.Context, c *client, calls objectCalls) error {
				m, err := calls.restore(ctx, blob)
				if err != nil {
					return c.explainObject(ctx, err, k.name, o.VaultName, "")
				}
				return printObject(cmd, o.Output, m, k.objectColumns)
			})
		},
	}
	k.describe(cmd, cmdHelp{
		short:   "Restore a {kind}, all versions, from a backup file (as az keyvault {kind} restore)",
		example: "  coffer {kind} restore --vault-name myvault --file {sample}.bak",
	})
	o.AddFlags(cmd.Flags(), k.name)
	return clientCommand(cmd)
}
