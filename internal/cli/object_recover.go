package cli

import "github.com/spf13/cobra"

// newRecoverCommand is `coffer KIND recover`: bring a deleted object back, all versions,
// and print it.
func newRecoverCommand(k *kind) *cobra.Command {
	return k.command(dataSpec[objectCalls]{
		verb: "recover", target: &objectOptions{}, columns: k.objectColumns,
		explain: (*dataRun[objectCalls]).explainDeletedOp,
		help: cmdHelp{
			short:   "Recover a deleted {kind} with all its versions (as az keyvault {kind} recover)",
			example: "  coffer {kind} recover --vault-name myvault --name {sample}",
		},
		answer: func(r *dataRun[objectCalls]) (map[string]any, error) {
			return r.sdk.recover(r.ctx, r.name)
		},
	})
}
