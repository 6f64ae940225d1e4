package cli

import "github.com/spf13/cobra"

// newDeleteCommand is `coffer KIND delete`: soft-delete an object with all its versions,
// print its deleted form, and say on stderr until when it can be recovered and how.
func newDeleteCommand(k *kind) *cobra.Command {
	return k.command(dataSpec[objectCalls]{
		verb: "delete", target: &objectOptions{},
		help: cmdHelp{
			short: "Delete a {kind}, all versions; it stays recoverable until its scheduledPurgeDate (as az keyvault {kind} delete)",
			example: `  coffer {kind} delete --vault-name myvault --name {sample}
  coffer {kind} recover --vault-name myvault --name {sample}    # changed your mind`,
		},
		run: func(r *dataRun[objectCalls]) error {
			d, err := r.sdk.delete(r.ctx, r.name)
			if err != nil {
				return r.explainObject(err, r.name)
			}
			if err := r.print(d.json, k.deletedColumns); err != nil {
				return err
			}
			d.kind, d.vault, d.name = k.name, r.vault, r.name
			d.noteDeleted(r.cmd.ErrOrStderr())
			return nil
		},
	})
}
