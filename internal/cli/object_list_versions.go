package cli

import (
	"github.com/spf13/cobra"
)

// newListVersionsCommand is `coffer KIND list-versions`: the properties of every version
// of an object.
func newListVersionsCommand(k *kind) *cobra.Command {
	max := &maxResults{}
	return k.command(dataSpec[objectCalls]{
		verb: "list-versions", target: &objectOptions{}, flags: max.AddFlags,
		help: cmdHelp{
			short:   "List the versions of a {kind} (as az keyvault {kind} list-versions)",
			example: "  coffer {kind} list-versions --vault-name myvault --name {sample}",
		},
		run: func(r *dataRun[objectCalls]) error {
			out, err := r.sdk.listVersions(r.ctx, r.name, *max)
			if err != nil {
				return r.explainObject(err, r.name)
			}
			return printList(r.cmd, r.output, out, k.itemColumns)
		},
	})
}
