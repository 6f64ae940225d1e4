package cli

import "github.com/spf13/cobra"

// newShowDeletedCommand is `coffer KIND show-deleted`: a deleted object, with the dates
// of its deletion and of its purge.
func newShowDeletedCommand(k *kind) *cobra.Command {
	return k.command(dataSpec[objectCalls]{
		verb: "show-deleted", target: &objectOptions{}, columns: k.deletedColumns,
		explain: (*dataRun[objectCalls]).explainDeletedOp,
		help: cmdHelp{
			short:   "Show a deleted {kind} (as az keyvault {kind} show-deleted)",
			example: "  coffer {kind} show-deleted --vault-name myvault --name {sample}",
		},
		answer: func(r *dataRun[objectCalls]) (map[string]any, error) {
			d, err := r.sdk.getDeleted(r.ctx, r.name)
			return d.json, err
		},
	})
}
