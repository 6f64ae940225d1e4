package cli

import (
	"github.com/spf13/cobra"
)

// newShowCommand is `coffer KIND show`: one version of an object, the latest by default.
// A deleted object is explained (explainObject).
func newShowCommand(k *kind) *cobra.Command {
	return k.command(dataSpec[objectCalls]{
		verb: "show", target: &versionOptions{},
		help: cmdHelp{
			short:   "Show a {kind} (as az keyvault {kind} show)",
			example: "  coffer {kind} show --vault-name myvault --name {sample}",
		},
		run: func(r *dataRun[objectCalls]) error {
			m, err := r.sdk.get(r.ctx, r.name, r.version)
			if err != nil {
				return r.explainObject(err, r.name)
			}
			return r.print(m, k.showColumns)
		},
	})
}
