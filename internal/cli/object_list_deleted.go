package cli

import (
	"github.com/spf13/cobra"
)

// newListDeletedCommand is `coffer KIND list-deleted`: a vault's deleted objects of the
// kind, with their scheduledPurgeDate, in the columns every kind shares.
func newListDeletedCommand(k *kind) *cobra.Command {
	max := &maxResults{}
	return k.command(dataSpec[objectCalls]{
		verb: "list-deleted", target: &vaultOptions{}, flags: max.AddFlags,
		help: cmdHelp{
			short: "List a vault's deleted {kind}s, with their scheduledPurgeDate (as az keyvault {kind} list-deleted)",
			example: `  coffer {kind} list-deleted --vault-name myvault
  coffer {kind} list-deleted --vault-name myvault -o table`,
		},
		run: func(r *dataRun[objectCalls]) error {
			out, err := r.sdk.listDeleted(r.ctx, *max)
			if err != nil {
				return r.explainObject(err, "")
			}
			return printList(r.cmd, r.output, out, deletedListColumns)
		},
	})
}
