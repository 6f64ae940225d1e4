package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/coffer/coffer/internal/server"
)

type storageCopyOptions struct {
	from string
	to   string
}

func (o *storageCopyOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.from, "from", server.DefaultDataDir, "data dir of the stopped server whose embedded storage (DIR/coffer.db) is copied")
	fs.StringVar(&o.to, "to", "", "empty PostgreSQL database to copy into: postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=…")
}

func newStorageCommand() *cobra.Command {
	o := &storageCopyOptions{}
	cp := &cobra.Command{
		Use:   "copy",
		Short: "Copy a stopped server's embedded storage into an empty PostgreSQL database",
		Long: `Copy the embedded storage of a stopped server (DIR/coffer.db) into an empty PostgreSQL
database: every vault, version, deleted object, date, the tenant and administrator, the
keyring and the storage id. Values stay sealed: nothing is decrypted, no key is needed.

Afterwards start the same data dir on PostgreSQL with --storage; further servers start
on the same database with COFFER_MASTER_KEY set to the content of DIR/master.key.
DIR/coffer.db is left as it was, a backup: do not start DIR without --storage again
(it would serve that old file, apart from the database), and do not run the offline
keyring or master-key commands on DIR (they work on that old file).`,
		Example: `  coffer storage copy --from ./coffer-data --to 'postgres://coffer:secret@db:5432/coffer?sslmode=require'
  coffer server --data-dir ./coffer-data --storage 'postgres://coffer:secret@db:5432/coffer?sslmode=require'
  COFFER_MASTER_KEY=$(cat ./coffer-data/master.key) coffer server --data-dir ./coffer-data-2 --storage 'postgres://…'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.to == "" {
				return &hintError{code: exitUsage, err: errors.New("--to is required"), hints: []string{"give the empty PostgreSQL database: --to 'postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=…'"}}
			}
			n, err := server.CopyStorage(cmd.Context(), o.from, o.to)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "copied %d keys from %s to PostgreSQL (key count and checksum verified)\n", n, filepath.Join(o.from, "coffer.db"))
			fmt.Fprintf(out, "next: coffer server --data-dir %s --storage '<the same postgres:// URL>'\n", o.from)
			key := "COFFER_MASTER_KEY=<the key " + o.from + " runs with>"
			if _, err := os.Stat(filepath.Join(o.from, "master.key")); err == nil {
				key = "COFFER_MASTER_KEY=$(cat " + filepath.Join(o.from, "master.key") + ")"
			}
			fmt.Fprintf(out, "further servers: %s coffer server --data-dir OTHER-DIR --storage '<the same URL>'\n", key)
			fmt.Fprintf(out, "%s stays as it was: do not start %s without --storage again\n", filepath.Join(o.from, "coffer.db"), o.from)
			return nil
		},
	}
	o.AddFlags(cp.Flags())
	compact := offlineCommand("compact", cmdHelp{
		short: "Give back the space of purged data: rewrite a stopped server's coffer.db with only what is live",
		long: `Rewrite the embedded storage of a stopped server (DATA-DIR/coffer.db) into a new file
holding only what is live, and put it in the old file's place. The database file never
shrinks by itself: space freed by deletes and purges is reused by later writes, but the
file keeps the size of the most it ever held. After a mass purge, compact gives it back.

Every page is checked first (a damaged file is refused: restore it from a backup). The
new file is written beside the old one (free space for what is live is needed), the txid
record (DATA-DIR/coffer.db.txid) is set to it, then it is renamed over the old one: a
crash at any point leaves the old file or the new one, whole. Nothing is decrypted.`,
		example: `  coffer storage compact --data-dir ./coffer-data`,
	}, func(cmd *cobra.Command, dataDir string) error {
		res, err := server.CompactStorage(dataDir)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "compacted %s: %d → %d bytes\n", filepath.Join(dataDir, "coffer.db"), res.Before, res.After)
		return nil
	})
	return newGroup("storage", cmdHelp{short: "Move a server's storage to another backend, or compact it"}, cp, compact)
}
