package cli

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// newRestoreCommand is `coffer KIND restore`: bring an object back, all versions, from the
// blob of coffer KIND backup. Its name is in the blob, and must be free; an error names
// no object (explainObject reads the name from a conflict's message).
func newRestoreCommand(k *kind) *cobra.Command {
	file := &fileFlag{hint: "coffer " + k.name + " restore --vault-name VAULT --file PATH"}
	var blob []byte
	return k.command(dataSpec[objectCalls]{
		verb: "restore", target: &vaultOptions{},
		help: cmdHelp{
			short:   "Restore a {kind}, all versions, from a backup file (as az keyvault {kind} restore)",
			example: "  coffer {kind} restore --vault-name myvault --file {sample}.bak",
		},
		flags: func(fs *pflag.FlagSet) {
			file.AddFlags(fs, "backup blob written by coffer "+k.name+" backup (required)")
		},
		check: func(*dataRun[objectCalls]) error {
			if err := file.check(); err != nil {
				return err
			}
			var err error
			blob, err = readFile("file", file.path)
			return err
		},
		columns: k.objectColumns,
		answer: func(r *dataRun[objectCalls]) (map[string]any, error) {
			return r.sdk.restore(r.ctx, blob)
		},
	})
}
