package cli

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// newListCommand is `coffer KIND list`: a vault's objects of the kind, each as its latest
// version's properties. The kind's own flag (kind.listFlag) says what else to list.
func newListCommand(k *kind) *cobra.Command {
	withListFlag := false
	return k.listing(dataSpec[objectCalls]{
		verb: "list", target: &vaultOptions{},
		help: cmdHelp{
			short: "List a vault's {kind}s (as az keyvault {kind} list)",
			example: `  coffer {kind} list --vault-name myvault
  coffer {kind} list --vault-name myvault -o table`,
		},
		flags: func(fs *pflag.FlagSet) { fs.BoolVar(&withListFlag, k.listFlag, false, k.listFlagUsage) },
	}, k.itemColumns, func(r *dataRun[objectCalls], max maxResults) ([]map[string]any, error) {
		return r.sdk.list(r.ctx, withListFlag, max)
	})
}
