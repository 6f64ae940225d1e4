package cli

import "github.com/spf13/cobra"

// newListDeletedCommand is `coffer KIND list-deleted`: a vault's deleted objects of the
// kind, with their scheduledPurgeDate, in the columns every kind shares.
func newListDeletedCommand(k *kind) *cobra.Command {
	return k.listing(dataSpec[objectCalls]{
		verb: "list-deleted", target: &vaultOptions{},
		help: cmdHelp{
			short: "List a vault's deleted {kind}s, with their scheduledPurgeDate (as az keyvault {kind} list-deleted)",
			example: `  coffer {kind} list-deleted --vault-name myvault
  coffer {kind} list-deleted --vault-name myvault -o table`,
		},
	}, deletedListColumns, func(r *dataRun[objectCalls], max maxResults) ([]map[string]any, error) {
		return r.sdk.listDeleted(r.ctx, max)
	})
}
