package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type secretListOptions struct {
	vaultOptions
	maxResults
	IncludeManaged bool
}

func (o *secretListOptions) AddFlags(fs *pflag.FlagSet) {
	o.maxResults.AddFlags(fs)
	fs.BoolVar(&o.IncludeManaged, "include-managed", false, "also list the secrets that back certificates")
	o.vaultOptions.AddFlags(fs)
}

func newSecretListCommand() *cobra.Command {
	o := &secretListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List a vault's secrets, without values (as az keyvault secret list)",
		Example: `  coffer secret list --vault-name myvault
  coffer secret list --vault-name myvault -o table`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(kindSecret, "list"); err != nil {
				return err
			}
			return runSecrets(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, sc *azsecrets.Client) error {
				var out []map[string]any
				pager := sc.NewListSecretPropertiesPager(nil)
				for pager.More() && !o.full(len(out)) {
					page, err := pager.NextPage(ctx)
					if err != nil {
						return c.explainObject(ctx, err, kindSecret, o.VaultName, "")
					}
					for _, p := range page.Value {
						if p == nil || (!o.IncludeManaged && p.Managed != nil && *p.Managed) || o.full(len(out)) {
							continue
						}
						out = append(out, secretBaseJSON(p.Attributes, p.ContentType, p.ID, p.Managed, p.Tags))
					}
				}
				out = nonNil(out)
				return printOut(cmd.OutOrStdout(), o.Output, out, secretsTable(out))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
