package cli

import (
	"context"

	"github.com/spf13/cobra"
)

// newRecoverCommand is `coffer KIND recover`: bring a deleted object back, all versions,
// and print it.
func newRecoverCommand(k *kind) *cobra.Command {
	o := &objectOptions{}
	cmd := &cobra.Command{
		Use:  "recover",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(k.name, "recover"); err != nil {
				return err
			}
			return onVault(cmd, &o.clientOptions, o.VaultName, k.open, func(ctx context.Context, c *client, calls objectCalls) error {
				m, err := calls.recover(ctx, o.Name)
				if err != nil {
					return c.explainDeletedOp(ctx, err, k.name, o.VaultName, o.Name)
				}
				return printObject(cmd, o.Output, m, k.objectColumns)
			})
		},
	}
	k.describe(cmd, cmdHelp{
		short:   "Recover a deleted {kind} with all its versions (as az keyvault {kind} recover)",
		example: "  coffer {kind} recover --vault-name myvault --name {sample}",
	})
	o.AddFlags(cmd.Flags(), k.name)
	return clientCommand(cmd)
}
