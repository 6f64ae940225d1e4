package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/coffer/coffer/internal/server"
)

func newCheckCommand() *cobra.Command {
	var accept bool
	cmd := offlineCommand("check", cmdHelp{
		short: "Verify a stopped server's storage: structure, every value, the indexes",
		long: `Verify the embedded storage of a stopped server (DATA-DIR/coffer.db), offline:

  - the database file's own structure: both meta pages, every page and key order;
  - that it is not older than the last write the server acknowledged (the transaction
    recorded in DATA-DIR/coffer.db.txid);
  - that every stored value opens under the keyring and decodes as what its key says;
  - that the records agree with each other: objects and their versions, deletion dates
    and the scheduler's entries, the deletion ledger's hash chain, principals and keys.

Each problem is printed with what it affects (a vault, a secret, key or certificate, the
whole database). Exit code 0: no problem; 1: problems (or the check could not run).
The key-encryption key is COFFER_MASTER_KEY when set, else DATA-DIR/master.key.

A server refuses to start on a file older than its record: restore a newer backup, or,
to serve the file as it is (a backup restored on purpose), --accept-stale-database
records the file's transaction as the last one, and the next start goes on.`,
		example: `  coffer check --data-dir ./coffer-data
  coffer check --data-dir ./coffer-data --accept-stale-database   # after restoring an older backup on purpose`,
	}, func(cmd *cobra.Command, dataDir string) error {
		r, err := server.Check(cmd.Context(), dataDir, server.CheckOptions{MasterKey: os.Getenv("COFFER_MASTER_KEY"), AcceptStale: accept})
		if err != nil {
			return err
		}
		return printCheck(cmd, r, dataDir)
	})
	cmd.Flags().BoolVar(&accept, "accept-stale-database", false, "record the file's transaction as the last one acknowledged, so that a start serves it as it is (after restoring an older backup on purpose)")
	return cmd
}

// printCheck writes the report to stdout, a line per problem, and returns an error
// (exit code 1) when there are problems. Keys come from a file that may be damaged:
// every line is made safe for a terminal.
func printCheck(cmd *cobra.Command, r *server.CheckReport, dataDir string) error {
	out := cmd.OutOrStdout()
	line := func(format string, args ...any) { fmt.Fprintln(out, terminalSafe(fmt.Sprintf(format, args...))) }
	line("checked %s", r.Path)
	record := "no txid record yet: the next start writes one"
	if r.RecordFound {
		record = fmt.Sprintf("%s records transaction %d", r.TxidFile, r.Recorded)
	}
	line("  transaction %d (%s); %d pages, %d keys", r.Txid, record, r.Pages, r.Keys)
	if r.ValuesChecked {
		line("  %d values opened under the keyring", r.Values)
	} else {
		line("  values and indexes not checked: the file's structure must be sound first")
	}
	if r.Accepted {
		if r.Stale != "" {
			line("accepted as it is: %s", r.Stale)
		}
		line("  %s now records transaction %d: the next start serves the file as it is", r.TxidFile, r.Txid)
	} else if r.Stale != "" {
		line("  a start refuses this file until it is replaced or accepted (--accept-stale-database)")
	}
	if len(r.Problems) == 0 {
		line("no problems")
		return nil
	}
	for _, p := range r.Problems {
		line("problem: %s", p)
	}
	n := len(r.Problems)
	what := "problems"
	if n == 1 {
		what = "problem"
	}
	hints := []string{"each problem above says what it affects; restore " + r.Path + " from a backup taken before the damage (with the server stopped), then run coffer check again"}
	if r.Stale != "" {
		hints = append(hints, "to serve the file as it is anyway (a backup restored on purpose), accept it: coffer check --data-dir "+dataDir+" --accept-stale-database")
	}
	return &hintError{code: exitError, err: errors.New(terminalSafe(fmt.Sprintf("%d %s in %s", n, what, r.Path))), hints: hints}
}
