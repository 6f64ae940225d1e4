package cli

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type vaultShowOptions struct {
	vaultRef
	clientOptions
}

func (o *vaultShowOptions) AddFlags(fs *pflag.FlagSet) {
	o.vaultRef.AddFlags(fs)
	o.clientOptions.AddFlags(fs)
}

func newVaultShowCommand() *cobra.Command {
	o := &vaultShowOptions{}
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show a vault (as az keyvault show)",
		Long: `Show a vault as az keyvault show prints it. Without -g the group is found by listing
the subscription's vaults, as az does. A deleted vault is reported with the commands that
recover or purge it.`,
		Example: `  coffer vault show --name myvault
  coffer vault show -n myvault -g rg -o table`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.requireName("show"); err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			c, err := newClient(&o.clientOptions)
			if err != nil {
				return err
			}
			vc, err := o.vaultsClient(c)
			if err != nil {
				return err
			}
			_, v, err := o.get(cmd.Context(), vc)
			if err != nil {
				return err
			}
			return printVault(cmd, o.Output, v)
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
