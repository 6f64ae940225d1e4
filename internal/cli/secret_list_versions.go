package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type secretListVersionsOptions struct {
	objectOptions
	maxResults
}

func (o *secretListVersionsOptions) AddFlags(fs *pflag.FlagSet) {
	o.objectOptions.AddFlags(fs, kindSecret)
	o.maxResults.AddFlags(fs)
}

func newSecretListVersionsCommand() *cobra.Command {
	o := &secretListVersionsOptions{}
	cmd := &cobra.Command{
		Use:   "list-versions",
		Short: "List the versions of a secret, without values (as az keyvault secret list-versions)",
		Example: `  coffer secret list-versions --vault-name myvault --name db-password
  coffer secret list-versions --vault-name myvault -n db-password -o table`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(kindSecret, "list-versions"); err != nil {
				return err
			}
			return runSecrets(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, sc *azsecrets.Client) error {
				var out []map[string]any
				pager := sc.NewListSecretPropertiesVersionsPager(o.Name, nil)
				for pager.More() && !o.full(len(out)) {
					page, err := pager.NextPage(ctx)
					if err != nil {
						return c.explainObject(ctx, err, kindSecret, o.VaultName, o.Name)
					}
					for _, p := range page.Value {
						if p != nil && !o.full(len(out)) {
							out = append(out, secretBaseJSON(p.Attributes, p.ContentType, p.ID, p.Managed, p.Tags))
						}
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
