package cli

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type listVersionsOptions struct {
	objectOptions
	maxResults
}

func (o *listVersionsOptions) AddFlags(fs *pflag.FlagSet, kind string) {
	o.objectOptions.AddFlags(fs, kind)
	o.maxResults.AddFlags(fs)
}

// newListVersionsCommand is `coffer KIND list-versions`: the properties of every version
// of an object.
func newListVersionsCommand(k *kind) *cobra.Command {
	o := &listVersionsOptions{}
	cmd := &cobra.Command{
		Use:  "list-versions",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(k.name, "list-versions"); err != nil {
				return err
			}
			return onVault(cmd, &o.clientOptions, o.VaultName, k.open, func(ctx context.Context, c *client, calls objectCalls) error {
				out, err := calls.listVersions(ctx, o.Name, o.maxResults)
				if err != nil {
					return c.explainObject(ctx, err, k.name, o.VaultName, o.Name)
				}
				return printList(cmd, o.Output, out, k.itemColumns)
			})
		},
	}
	k.describe(cmd, cmdHelp{
		short:   "List the versions of a {kind} (as az keyvault {kind} list-versions)",
		example: "  coffer {kind} list-versions --vault-name myvault --name {sample}",
	})
	o.AddFlags(cmd.Flags(), k.name)
	return clientCommand(cmd)
}
