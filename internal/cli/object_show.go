package cli

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type showOptions struct {
	objectOptions
	Version string
}

func (o *showOptions) AddFlags(fs *pflag.FlagSet, kind string) {
	o.objectOptions.AddFlags(fs, kind)
	versionFlag(fs, &o.Version, kind)
}

// newShowCommand is `coffer KIND show`: one version of an object, the latest by default.
// A deleted object is explained (explainObject).
func newShowCommand(k *kind) *cobra.Command {
	o := &showOptions{}
	cmd := &cobra.Command{
		Use:  "show",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			idVersion, err := o.check(k.name, "show")
			if err != nil {
				return err
			}
			return onVault(cmd, &o.clientOptions, o.VaultName, k.open, func(ctx context.Context, c *client, calls objectCalls) error {
				m, err := calls.get(ctx, o.Name, pickVersion(o.Version, idVersion))
				if err != nil {
					return c.explainObject(ctx, err, k.name, o.VaultName, o.Name)
				}
				return printObject(cmd, o.Output, m, k.showColumns)
			})
		},
	}
	k.describe(cmd, cmdHelp{
		short:   "Show a {kind} (as az keyvault {kind} show)",
		example: "  coffer {kind} show --vault-name myvault --name {sample}",
	})
	o.AddFlags(cmd.Flags(), k.name)
	return clientCommand(cmd)
}
