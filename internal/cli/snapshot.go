package cli

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/coffer/coffer/internal/server"
)

// snapshot.go is the offline half of coffer snapshot (restore, and the check of a saved
// file): it uses the server's packages, as the other offline commands do. The online
// half, save, is a client command (snapshot_save.go).

func newSnapshotCommand() *cobra.Command {
	return newGroup("snapshot", cmdHelp{
		short: "Save an online snapshot of a running server's whole storage, or restore one offline",
		long: `An online snapshot is a consistent, point-in-time copy of a whole deployment — every
vault, object, version, deleted object, principal, the tenant, the CA and the keyring —
taken while the server keeps serving, and restorable onto the embedded store or
PostgreSQL whichever it came from. It holds the stored values as they are, still sealed
by the master key (the key-encryption key): keep the master key apart from it; without
it a snapshot cannot be used.`,
	}, newSnapshotSaveCommand(), newSnapshotRestoreCommand())
}

func newSnapshotRestoreCommand() *cobra.Command {
	var file, dataDir, dsn string
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Restore a snapshot into a new data dir or an empty PostgreSQL database (offline)",
		Long: `Restore a snapshot saved by coffer snapshot save into an empty target, offline: a new data
dir (--data-dir; DIR/coffer.db is created, DIR may hold a master.key already) or an empty
PostgreSQL database (--storage). The file is checked whole first (record count, order,
SHA-256): a damaged or truncated file is refused and nothing is written. Then it is
written and the target read back and compared. A target that holds data is refused.

Start the restored storage with the master key the source ran with: put it in
DIR/master.key (mode 0600), or set COFFER_MASTER_KEY.`,
		Example: `  coffer snapshot restore --file coffer.snapshot --data-dir ./coffer-restored
  cp master.key.backup ./coffer-restored/master.key && chmod 600 ./coffer-restored/master.key
  coffer server --data-dir ./coffer-restored

  coffer snapshot restore --file coffer.snapshot --storage 'postgres://coffer:secret@db:5432/coffer?sslmode=require'
  COFFER_MASTER_KEY=$(cat master.key.backup) coffer server --data-dir ./dir --storage 'postgres://…'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case file == "":
				return usageError(errors.New("--file is required"), "give the snapshot: --file coffer.snapshot")
			case (dataDir == "") == (dsn == ""):
				return usageError(errors.New("give one target: --data-dir DIR or --storage postgres://…"),
					"restore into a new data dir: --data-dir ./coffer-restored", "or into an empty PostgreSQL database: --storage 'postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=…'")
			}
			res, err := server.RestoreSnapshot(cmd.Context(), file, server.RestoreTarget{DataDir: dataDir, DSN: dsn})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "restored %d keys from %s (taken %s on %s) into %s (key count and checksum verified)\n",
				res.Records, file, res.Header.Created.Format("2006-01-02T15:04:05Z07:00"), res.Header.Source, res.Target)
			if dataDir != "" {
				fmt.Fprintf(out, "next: put the source's master key in %s (chmod 600) or set COFFER_MASTER_KEY, then: coffer server --data-dir %s\n", filepath.Join(dataDir, "master.key"), dataDir)
			} else {
				fmt.Fprintf(out, "next: COFFER_MASTER_KEY=<the source's master key> coffer server --data-dir NEW-DIR --storage '<the same postgres:// URL>'\n")
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&file, "file", "", "snapshot file to restore (made by coffer snapshot save)")
	fs.StringVar(&dataDir, "data-dir", "", "new data dir to restore into (DIR/coffer.db must not exist)")
	fs.StringVar(&dsn, "storage", "", "empty PostgreSQL database to restore into: postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=…")
	return cmd
}

// checkSnapshot reads back a file just saved: it must be a whole snapshot.
func checkSnapshot(path string) (records int64, sum string, err error) {
	_, s, err := server.CheckSnapshot(path)
	if err != nil {
		return 0, "", err
	}
	return s.Records, hex.EncodeToString(s.SHA256[:]), nil
}
