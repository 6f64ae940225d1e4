package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type keyRotateOptions struct {
	objectOptions
}

func (o *keyRotateOptions) AddFlags(fs *pflag.FlagSet) { o.objectOptions.AddFlags(fs, kindKey) }

func newKeyRotateCommand() *cobra.Command {
	o := &keyRotateOptions{}
	cmd := &cobra.Command{
		Use:     "rotate",
		Short:   "Create a new version of a key with the same type and size (as az keyvault key rotate)",
		Example: `  coffer key rotate --vault-name myvault --name signing`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(kindKey, "rotate"); err != nil {
				return err
			}
			return onVault(cmd, &o.clientOptions, o.VaultName, (*client).keysClient, func(ctx context.Context, c *client, kc *azkeys.Client) error {
				res, err := kc.RotateKey(ctx, o.Name, nil)
				if err != nil {
					return c.explainObject(ctx, err, kindKey, o.VaultName, o.Name)
				}
				m := keyJSON(res.KeyBundle)
				return printObject(cmd, o.Output, m, keyColumns)
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
