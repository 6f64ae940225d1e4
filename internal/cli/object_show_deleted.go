package cli

import (
	"github.com/spf13/cobra"
)

// newShowDeletedCommand is `coffer KIND show-deleted`: a deleted object, with the dates
// of its deletion and of its purge.
func newShowDeletedCommand(k *kind) *cobra.Command {
	return k.command(dataSpec[objectCalls]{
		verb: "show-deleted", target: &objectOptions{},
		help: cmdHelp{
			short:   "Show a deleted {kind} (as az keyvault {kind} show-deleted)",
			example: "  coffer {kind} show-deleted --vault-name myvault --name {sample}",
		},
		run: func(r *dataRun[objectCalls]) error {
			d, err := r.sdk.getDeleted(r.ctx, r.name)
			if err != nil {
				return r.explainDeletedOp(err)
			}
			return r.print(d.json, k.deletedColumns)
		},
	})
}
