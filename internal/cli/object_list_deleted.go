package cli

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type listDeletedOptions struct {
	vaultOptions
	maxResults
}

func (o *listDeletedOptions) AddFlags(fs *pflag.FlagSet) {
	o.maxResults.AddFlags(fs)
	o.vaultOptions.AddFlags(fs)
}

// newListDeletedCommand is `coffer KIND list-deleted`: a vault's deleted objects of the
// kind, with their scheduledPurgeDate.
func newListDeletedCommand(k *kind) *cobra.Command {
	o := &listDeletedOptions{}
	cmd := &cobra.Command{
		Use:  "list-deleted",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(k.name, "list-deleted"); err != nil {
				return err
			}
			return onVault(cmd, &o.clientOptions, o.VaultName, k.open, func(ctx context.Context, c *client, calls objectCalls) error {
				out, err := calls.listDeleted(ctx, o.maxResults)
				if err != nil {
					return c.explainObject(ctx, err, k.name, o.VaultName, "")
				}
				return printList(cmd, o.Output, out, deletedListColumns)
			})
		},
	}
	k.describe(cmd, cmdHelp{
		short: "List a vault's deleted {kind}s, with their scheduledPurgeDate (as az keyvault {kind} list-deleted)",
		example: `  coffer {kind} list-deleted --vault-name myvault
  coffer {kind} list-deleted --vault-name myvault -o table`,
	})
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
