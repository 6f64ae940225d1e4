package cli

import "github.com/spf13/cobra"

func newVaultShowDeletedCommand() *cobra.Command {
	ref := &deletedVaultRef{}
	return newVaultOpCommand(vaultSpec{
		verb: "show-deleted", ref: &ref.vaultRef, flags: ref.AddFlags, require: ref.nameRequired("show-deleted"),
		help: cmdHelp{
			short: "Show a deleted vault: when it was deleted and when it will be purged (as az keyvault show-deleted)",
			example: `  coffer vault show-deleted --name myvault
  coffer vault show-deleted -n myvault -l local`,
		},
		run: func(r *vaultRun) error {
			d, err := ref.find(r.ctx, r.vc)
			if err != nil {
				return err
			}
			return r.print(d, deletedVaultColumns)
		},
	})
}
