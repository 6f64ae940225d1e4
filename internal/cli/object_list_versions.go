package cli

import "github.com/spf13/cobra"

// newListVersionsCommand is `coffer KIND list-versions`: the properties of every version
// of an object.
func newListVersionsCommand(k *kind) *cobra.Command {
	return k.listing(dataSpec[objectCalls]{
		verb: "list-versions", target: &objectOptions{},
		help: cmdHelp{
			short:   "List the versions of a {kind} (as az keyvault {kind} list-versions)",
			example: "  coffer {kind} list-versions --vault-name myvault --name {sample}",
		},
	}, k.itemColumns, func(r *dataRun[objectCalls], max maxResults) ([]map[string]any, error) {
		return r.sdk.listVersions(r.ctx, r.name, max)
	})
}
