package cli

import (
	"context"

	"github.com/spf13/cobra"
)

// newShowDeletedCommand is `coffer KIND show-deleted`: a deleted object, with the dates
// of its deletion and of its purge.
func newShowDeletedCommand(k *kind) *cobra.Command {
	o := &objectOptions{}
	cmd := &cobra.Command{
		Use:  "show-deleted",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(k.name, "show-deleted"); err != nil {
				return err
			}
			return onVault(cmd, &o.clientOptions, o.VaultName, k.open, func(ctx context.Context, c *client, calls objectCalls) error {
				d, err := calls.getDeleted(ctx, o.Name)
				if err != nil {
					return c.explainDeletedOp(ctx, err, k.name, o.VaultName, o.Name)
				}
				return printObject(cmd, o.Output, d.json, k.deletedColumns)
			})
		},
	}
	k.describe(cmd, cmdHelp{
		short:   "Show a deleted {kind} (as az keyvault {kind} show-deleted)",
		example: "  coffer {kind} show-deleted --vault-name myvault --name {sample}",
	})
	o.AddFlags(cmd.Flags(), k.name)
	return clientCommand(cmd)
}
