package cli

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type listOptions struct {
	vaultOptions
	maxResults
	ListFlag bool // the kind's own flag (kind.listFlag)
}

func (o *listOptions) AddFlags(fs *pflag.FlagSet, k *kind) {
	o.maxResults.AddFlags(fs)
	fs.BoolVar(&o.ListFlag, k.listFlag, false, k.listFlagUsage)
	o.vaultOptions.AddFlags(fs)
}

// newListCommand is `coffer KIND list`: a vault's objects of the kind, each as its latest
// version's properties.
func newListCommand(k *kind) *cobra.Command {
	o := &listOptions{}
	cmd := &cobra.Command{
		Use:  "list",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(k.name, "list"); err != nil {
				return err
			}
			return onVault(cmd, &o.clientOptions, o.VaultName, k.open, func(ctx context.Context, c *client, calls objectCalls) error {
				out, err := calls.list(ctx, o.ListFlag, o.maxResults)
				if err != nil {
					return c.explainObject(ctx, err, k.name, o.VaultName, "")
				}
				return printList(cmd, o.Output, out, k.itemColumns)
			})
		},
	}
	k.describe(cmd, cmdHelp{
		short: "List a vault's {kind}s (as az keyvault {kind} list)",
		example: `  coffer {kind} list --vault-name myvault
  coffer {kind} list --vault-name myvault -o table`,
	})
	o.AddFlags(cmd.Flags(), k)
	return clientCommand(cmd)
}
