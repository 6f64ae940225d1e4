package cli

import (
	"context"

	"github.com/spf13/cobra"
)

// newDeleteCommand is `coffer KIND delete`: soft-delete an object with all its versions,
// print its deleted form, and say on stderr until when it can be recovered and how.
func newDeleteCommand(k *kind) *cobra.Command {
	o := &objectOptions{}
	cmd := &cobra.Command{
		Use:  "delete",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(k.name, "delete"); err != nil {
				return err
			}
			return onVault(cmd, &o.clientOptions, o.VaultName, k.open, func(ctx context.Context, c *client, calls objectCalls) error {
				d, err := calls.delete(ctx, o.Name)
				if err != nil {
					return c.explainObject(ctx, err, k.name, o.VaultName, o.Name)
				}
				if err := printObject(cmd, o.Output, d.json, k.deletedColumns); err != nil {
					return err
				}
				d.kind, d.vault, d.name = k.name, o.VaultName, o.Name
				d.noteDeleted(cmd.ErrOrStderr())
				return nil
			})
		},
	}
	k.describe(cmd, cmdHelp{
		short: "Delete a {kind}, all versions; it stays recoverable until its scheduledPurgeDate (as az keyvault {kind} delete)",
		example: `  coffer {kind} delete --vault-name myvault --name {sample}
  coffer {kind} recover --vault-name myvault --name {sample}    # changed your mind`,
	})
	o.AddFlags(cmd.Flags(), k.name)
	return clientCommand(cmd)
}
