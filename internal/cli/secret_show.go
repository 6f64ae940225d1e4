package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type secretShowOptions struct {
	objectOptions
	Version string
}

func (o *secretShowOptions) AddFlags(fs *pflag.FlagSet) {
	o.objectOptions.AddFlags(fs, kindSecret)
	versionFlag(fs, &o.Version, kindSecret)
}

func newSecretShowCommand() *cobra.Command {
	o := &secretShowOptions{}
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show a secret with its value (as az keyvault secret show)",
		Long: `Show a secret's latest version, or --version, with its value, as az prints it. A secret
that is deleted is reported with the date it will be purged and the commands that recover
or purge it.`,
		Example: `  coffer secret show --vault-name myvault --name db-password
  coffer secret show --vault-name myvault -n db-password -o tsv
  coffer secret show --id https://myvault.localhost:8443/secrets/db-password/0123456789abcdef`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			idVersion, err := o.check(kindSecret, "show")
			if err != nil {
				return err
			}
			return runSecrets(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, sc *azsecrets.Client) error {
				res, err := sc.GetSecret(ctx, o.Name, pickVersion(o.Version, idVersion), nil)
				if err != nil {
					return c.explainObject(ctx, err, kindSecret, o.VaultName, o.Name)
				}
				m := secretJSON(res.Secret, true)
				return printOut(cmd.OutOrStdout(), o.Output, m, secretValueTable([]map[string]any{m}))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
