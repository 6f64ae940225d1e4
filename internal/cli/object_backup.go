package cli

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// newBackupCommand is `coffer KIND backup`: write an object's backup blob, all versions,
// to a file that must not exist yet.
func newBackupCommand(k *kind) *cobra.Command {
	file := &fileFlag{hint: "coffer " + k.name + " backup --vault-name VAULT --name NAME --file PATH"}
	return k.command(dataSpec[objectCalls]{
		verb: "backup", target: &objectOptions{},
		help: cmdHelp{
			short:   "Write a {kind}'s backup blob, all versions, to a new file (as az keyvault {kind} backup)",
			example: "  coffer {kind} backup --vault-name myvault --name {sample} --file {sample}.bak",
		},
		flags: func(fs *pflag.FlagSet) { file.AddFlags(fs, "write the backup blob to this new file (required)") },
		check: func(*dataRun[objectCalls]) error { return file.check() },
		run: func(r *dataRun[objectCalls]) error {
			blob, err := r.sdk.backup(r.ctx, r.name)
			if err != nil {
				return r.explainObject(err, r.name)
			}
			return createNew("file", file.path, blob, 0o600)
		},
	})
}
