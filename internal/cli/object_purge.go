package cli

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type purgeOptions struct {
	objectOptions
	purgeFlags
}

func (o *purgeOptions) AddFlags(fs *pflag.FlagSet, kind string) {
	o.objectOptions.AddFlags(fs, kind)
	o.purgeFlags.AddFlags(fs)
}

// newPurgeCommand is `coffer KIND purge`: remove a deleted object for good. On a terminal
// it asks first; a purge that cannot happen says so before the question.
func newPurgeCommand(k *kind) *cobra.Command {
	o := &purgeOptions{}
	cmd := &cobra.Command{
		Use:  "purge",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(k.name, "purge"); err != nil {
				return err
			}
			if err := o.checkAsk(cmd, "coffer "+k.name+" purge --vault-name "+o.VaultName+" --name "+o.Name); err != nil {
				return err
			}
			return onVault(cmd, &o.clientOptions, o.VaultName, k.open, func(ctx context.Context, c *client, calls objectCalls) error {
				if !o.Yes {
					if err := c.confirmPurgeObject(ctx, cmd, &o.purgeFlags, k.name, o.VaultName, o.Name, k.purgeQuestion); err != nil {
						return err
					}
				}
				if err := calls.purge(ctx, o.Name); err != nil {
					return c.explainDeletedOp(ctx, err, k.name, o.VaultName, o.Name)
				}
				return nil
			})
		},
	}
	k.describe(cmd, cmdHelp{
		short: "Purge a deleted {kind} for good; this cannot be undone (as az keyvault {kind} purge)",
		long: k.purgeLong + `

On a terminal it asks you to type the name first; --yes purges without asking, and is
needed when stdin is not a terminal (a script, a pipe): without it the command refuses at
once with exit code 2.`,
		example: `  coffer {kind} purge --vault-name myvault --name {sample}
  coffer {kind} purge --vault-name myvault --name {sample} --yes   # in a script`,
	})
	o.AddFlags(cmd.Flags(), k.name)
	return clientCommand(cmd)
}
