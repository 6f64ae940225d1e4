package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type keyListVersionsOptions struct {
	objectOptions
	maxResults
}

func (o *keyListVersionsOptions) AddFlags(fs *pflag.FlagSet) {
	o.objectOptions.AddFlags(fs, kindKey)
	o.maxResults.AddFlags(fs)
}

func newKeyListVersionsCommand() *cobra.Command {
	o := &keyListVersionsOptions{}
	cmd := &cobra.Command{
		Use:     "list-versions",
		Short:   "List the versions of a key (as az keyvault key list-versions)",
		Example: `  coffer key list-versions --vault-name myvault --name signing`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(kindKey, "list-versions"); err != nil {
				return err
			}
			return runKeys(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, kc *azkeys.Client) error {
				var out []map[string]any
				pager := kc.NewListKeyPropertiesVersionsPager(o.Name, nil)
				for pager.More() && !o.full(len(out)) {
					page, err := pager.NextPage(ctx)
					if err != nil {
						return c.explainObject(ctx, err, kindKey, o.VaultName, o.Name)
					}
					for _, p := range page.Value {
						if p != nil && !o.full(len(out)) {
							out = append(out, keyItemJSON(p.Attributes, p.KID, p.Managed, p.Tags))
						}
					}
				}
				out = nonNil(out)
				return printOut(cmd.OutOrStdout(), o.Output, out, keysTable(out))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
