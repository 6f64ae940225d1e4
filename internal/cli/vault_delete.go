package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type vaultDeleteOptions struct {
	vaultRef
	clientOptions
}

func (o *vaultDeleteOptions) AddFlags(fs *pflag.FlagSet) {
	o.vaultRef.AddFlags(fs)
	o.clientOptions.AddFlags(fs)
}

func newVaultDeleteCommand() *cobra.Command {
	o := &vaultDeleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a vault; it stays recoverable until its retention ends (as az keyvault delete)",
		Long: `Soft-delete a vault and everything in it, as az keyvault delete does. Like az it prints
nothing on stdout; on stderr it says until when the vault can be recovered and how.`,
		Example: `  coffer vault delete --name myvault
  coffer vault recover --name myvault    # changed your mind`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.requireName("delete"); err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			c, err := newClient(&o.clientOptions)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			vc, err := o.vaultsClient(c)
			if err != nil {
				return err
			}
			rg, err := o.group(ctx, vc)
			if err != nil {
				return err
			}
			if _, err := vc.Delete(ctx, rg, o.Name, nil); err != nil {
				return err
			}
			if d, err := findDeletedVault(ctx, vc, o.Name); err == nil && d != nil {
				dv := deletedVaultObject(d, o.Name)
				fmt.Fprintf(cmd.ErrOrStderr(), "coffer: hint: vault %s is deleted; it can be recovered until %s: %s\n",
					o.Name, humanDate(dv.purgeDate), dv.command("recover"))
			}
			return nil
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
