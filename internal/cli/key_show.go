package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type keyShowOptions struct {
	objectOptions
	Version string
}

func (o *keyShowOptions) AddFlags(fs *pflag.FlagSet) {
	o.objectOptions.AddFlags(fs, kindKey)
	versionFlag(fs, &o.Version, kindKey)
}

func newKeyShowCommand() *cobra.Command {
	o := &keyShowOptions{}
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show a key's public part and attributes (as az keyvault key show)",
		Long: `Show a key's latest version, or --version, as az prints it: the public JSON web key
(n/e or crv/x/y) and the attributes. A deleted key is reported with the date it will be
purged and the commands that recover or purge it.`,
		Example: `  coffer key show --vault-name myvault --name signing
  coffer key show --id https://myvault.localhost:8443/keys/signing/0123456789abcdef`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			idVersion, err := o.check(kindKey, "show")
			if err != nil {
				return err
			}
			return runKeys(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, kc *azkeys.Client) error {
				res, err := kc.GetKey(ctx, o.Name, pickVersion(o.Version, idVersion), nil)
				if err != nil {
					return c.explainObject(ctx, err, kindKey, o.VaultName, o.Name)
				}
				m := keyJSON(res.KeyBundle)
				return printOut(cmd.OutOrStdout(), o.Output, m, keyTable([]map[string]any{m}))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
