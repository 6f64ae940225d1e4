package cli

import "github.com/spf13/cobra"

func newVaultDeleteCommand() *cobra.Command {
	ref := &vaultRef{}
	return newVaultOpCommand(vaultSpec{
		verb: "delete", ref: ref, flags: ref.AddFlags, require: ref.nameRequired("delete"),
		help: cmdHelp{
			short: "Delete a vault; it stays recoverable until its retention ends (as az keyvault delete)",
			long: `Soft-delete a vault and everything in it, as az keyvault delete does. Like az it prints
nothing on stdout; on stderr it says until when the vault can be recovered and how.`,
			example: `  coffer vault delete --name myvault
  coffer vault recover --name myvault    # changed your mind`,
		},
		run: func(r *vaultRun) error {
			rg, err := ref.group(r.ctx, r.vc)
			if err != nil {
				return err
			}
			if _, err := r.vc.Delete(r.ctx, rg, ref.Name, nil); err != nil {
				return err
			}
			if d, err := findDeletedVault(r.ctx, r.vc, ref.Name); err == nil && d != nil {
				deletedVaultObject(d, ref.Name).noteDeleted(r.cmd.ErrOrStderr())
			}
			return nil
		},
	})
}
