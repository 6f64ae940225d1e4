package cli

import "github.com/spf13/cobra"

// newShowCommand is `coffer KIND show`: one version of an object, the latest by default.
// A deleted object is explained (explainObject).
func newShowCommand(k *kind) *cobra.Command {
	return k.command(dataSpec[objectCalls]{
		verb: "show", target: &versionOptions{}, columns: k.showColumns,
		help: cmdHelp{
			short:   "Show a {kind} (as az keyvault {kind} show)",
			example: "  coffer {kind} show --vault-name myvault --name {sample}",
		},
		answer: func(r *dataRun[objectCalls]) (map[string]any, error) {
			return r.sdk.get(r.ctx, r.name, r.version)
		},
	})
}
