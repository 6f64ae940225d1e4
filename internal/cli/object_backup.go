package cli

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// newBackupCommand is `coffer KIND backup`: write an object's backup blob, all versions,
// to a file that must not exist yet.
func newBackupCommand(k *kind) *cobra.Command {
	file := ""
	return k.command(dataSpec[objectCalls]{
		verb: "backup", target: &objectOptions{},
		help: cmdHelp{
			short:   "Write a {kind}'s backup blob, all versions, to a new file (as az keyvault {kind} backup)",
			example: "  coffer {kind} backup --vault-name myvault --name {sample} --file {sample}.bak",
		},
		flags: func(fs *pflag.FlagSet) {
			fs.StringVarP(&file, "file", "f", "", "write the backup blob to this new file (required)")
		},
		check: func(*dataRun[objectCalls]) error {
			if file == "" {
				return requireFlag("file", "coffer "+k.name+" backup --vault-name VAULT --name NAME --file PATH")
			}
			return nil
		},
		run: func(r *dataRun[objectCalls]) error {
			blob, err := r.sdk.backup(r.ctx, r.name)
			if err != nil {
				return r.explainObject(err, r.name)
			}
			return createNew("file", file, blob, 0o600)
		},
	})
}
