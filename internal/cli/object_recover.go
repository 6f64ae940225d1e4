package cli

import (
	"github.com/spf13/cobra"
)

// newRecoverCommand is `coffer KIND recover`: bring a deleted object back, all versions,
// and print it.
func newRecoverCommand(k *kind) *cobra.Command {
	return k.command(dataSpec[objectCalls]{
		verb: "recover", target: &objectOptions{},
		help: cmdHelp{
			short:   "Recover a deleted {kind} with all its versions (as az keyvault {kind} recover)",
			example: "  coffer {kind} recover --vault-name myvault --name {sample}",
		},
		run: func(r *dataRun[objectCalls]) error {
			m, err := r.sdk.recover(r.ctx, r.name)
			if err != nil {
				return r.explainDeletedOp(err)
			}
			return r.print(m, k.objectColumns)
		},
	})
}
