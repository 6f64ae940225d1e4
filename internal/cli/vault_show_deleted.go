package cli

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type vaultShowDeletedOptions struct {
	deletedVaultRef
	clientOptions
}

func (o *vaultShowDeletedOptions) AddFlags(fs *pflag.FlagSet) {
	o.deletedVaultRef.AddFlags(fs)
	o.clientOptions.AddFlags(fs)
}

func newVaultShowDeletedCommand() *cobra.Command {
	o := &vaultShowDeletedOptions{}
	cmd := &cobra.Command{
		Use:   "show-deleted",
		Short: "Show a deleted vault: when it was deleted and when it will be purged (as az keyvault show-deleted)",
		Example: `  coffer vault show-deleted --name myvault
  coffer vault show-deleted -n myvault -l local`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.requireName("show-deleted"); err != nil {
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
			d, err := o.find(cmd.Context(), vc)
			if err != nil {
				return err
			}
			m, err := armJSON(d)
			if err != nil {
				return err
			}
			return printOut(cmd.OutOrStdout(), o.Output, m, deletedVaultsTable([]map[string]any{m}))
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
