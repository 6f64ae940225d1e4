package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type keyListOptions struct {
	vaultOptions
	maxResults
	IncludeManaged bool
}

func (o *keyListOptions) AddFlags(fs *pflag.FlagSet) {
	o.maxResults.AddFlags(fs)
	fs.BoolVar(&o.IncludeManaged, "include-managed", false, "also list the keys that back certificates")
	o.vaultOptions.AddFlags(fs)
}

func newKeyListCommand() *cobra.Command {
	o := &keyListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List a vault's keys (as az keyvault key list)",
		Example: `  coffer key list --vault-name myvault
  coffer key list --vault-name myvault -o table`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(kindKey, "list"); err != nil {
				return err
			}
			return runKeys(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, kc *azkeys.Client) error {
				var out []map[string]any
				pager := kc.NewListKeyPropertiesPager(nil)
				for pager.More() && !o.full(len(out)) {
					page, err := pager.NextPage(ctx)
					if err != nil {
						return c.explainObject(ctx, err, kindKey, o.VaultName, "")
					}
					for _, p := range page.Value {
						if p == nil || (!o.IncludeManaged && p.Managed != nil && *p.Managed) || o.full(len(out)) {
							continue
						}
						out = append(out, keyItemJSON(p.Attributes, p.KID, p.Managed, p.Tags))
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
