package cli

import "github.com/spf13/cobra"

// newPurgeCommand is `coffer KIND purge`: remove a deleted object for good. On a terminal
// it asks first, and a purge that cannot happen says so before the question; elsewhere it
// needs --yes.
func newPurgeCommand(k *kind) *cobra.Command {
	pf := &purgeFlags{}
	return k.command(dataSpec[objectCalls]{
		verb: "purge", target: &objectOptions{}, flags: pf.AddFlags,
		help: cmdHelp{
			short: "Purge a deleted {kind} for good; this cannot be undone (as az keyvault {kind} purge)",
			long: k.purgeLong + `

On a terminal it asks you to type the name first; --yes purges without asking, and is
needed when stdin is not a terminal (a script, a pipe): without it the command refuses at
once with exit code 2.`,
			example: `  coffer {kind} purge --vault-name myvault --name {sample}
  coffer {kind} purge --vault-name myvault --name {sample} --yes   # in a script`,
		},
		check: func(r *dataRun[objectCalls]) error {
			return pf.checkAsk(r.cmd, "coffer "+k.name+" purge --vault-name "+r.vault+" --name "+r.name)
		},
		run: func(r *dataRun[objectCalls]) error {
			if !pf.Yes {
				if err := r.c.confirmPurgeObject(r.ctx, r.cmd, pf, k.name, r.vault, r.name, k.purgeQuestion); err != nil {
					return err
				}
			}
			if err := r.sdk.purge(r.ctx, r.name); err != nil {
				return r.explainDeletedOp(err)
			}
			return nil
		},
	})
}
