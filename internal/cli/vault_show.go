package cli

import "github.com/spf13/cobra"

func newVaultShowCommand() *cobra.Command {
	ref := &vaultRef{}
	return newVaultOpCommand(vaultSpec{
		verb: "show", ref: ref, flags: ref.AddFlags, require: ref.nameRequired("show"),
		help: cmdHelp{
			short: "Show a vault (as az keyvault show)",
			long: `Show a vault as az keyvault show prints it. Without -g the group is found by listing
the subscription's vaults, as az does. A deleted vault is reported with the commands that
recover or purge it.`,
			example: `  coffer vault show --name myvault
  coffer vault show -n myvault -g rg -o table`,
		},
		run: func(r *vaultRun) error {
			_, v, err := ref.get(r.ctx, r.vc)
			if err != nil {
				return err
			}
			return r.print(v, vaultColumns)
		},
	})
}
