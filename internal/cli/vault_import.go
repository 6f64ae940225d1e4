package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"

	"filippo.io/age"
	"github.com/coffer/coffer/internal/vaultfile"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// importSummary is POST /admin/import/{vault}'s answer.
type importSummary struct {
	Vault                  string         `json:"vault"`
	Source                 string         `json:"source"`
	ExportedAt             string         `json:"exportedAt"`
	ExportedBy             string         `json:"exportedBy,omitempty"`
	DryRun                 bool           `json:"dryRun,omitempty"`
	Records                int64          `json:"records"`
	Counts                 map[string]int `json:"counts"`
	PurgedNotImported      []importItem   `json:"purgedNotImported"`
	RoleAssignmentsSkipped []string       `json:"roleAssignmentsSkipped,omitempty"`
	Items                  []importItem   `json:"items,omitempty"`
}

type importItem struct {
	Kind               string `json:"kind"`
	Name               string `json:"name"`
	Versions           int    `json:"versions"`
	Deleted            bool   `json:"deleted,omitempty"`
	ScheduledPurgeDate string `json:"scheduledPurgeDate,omitempty"`
}

func newVaultImportCommand() *cobra.Command {
	opts := &clientOptions{}
	var name, file string
	var identities []string
	var passphrase, dry bool
	return newClientCommand(cmdSpec{
		use: "import", opts: opts,
		help: cmdHelp{
			short: "Import a vault exported by coffer vault export, as a new vault (administrator only)",
			long: `Import a file written by coffer vault export (POST /admin/import/{vault}) as the new
vault --name, on this deployment or any other (another KEK, bbolt or PostgreSQL): the same
object ids and versions, the same dates, deleted objects still deleted until their
original scheduled purge date (one whose date has passed is not imported; the summary
lists it), purge protection kept.

The file is decrypted here, with --identity (an age identity file, AGE-SECRET-KEY-1…) or
--passphrase (asked on the terminal, else read from ` + passphraseEnv + `), and its records
stream to the server over TLS. The import is all or nothing: a name in use (also by a
soft-deleted vault), a damaged or truncated file or a wrong key leaves nothing behind.
--dry-run reads and checks the whole file and lists what would be imported.`,
			example: `  coffer vault import --file myvault.cfx --name myvault2 --identity key.txt
  coffer vault import --file myvault.cfx --name myvault2 --identity key.txt --dry-run -o table`,
		},
		flags: func(fs *pflag.FlagSet) {
			fs.StringVarP(&name, "name", "n", "", "the new vault's name")
			fs.StringVarP(&file, "file", "f", "", "the export to import")
			fs.StringArrayVar(&identities, "identity", nil, "an age identity file (as age-keygen writes); repeatable")
			fs.BoolVar(&passphrase, "passphrase", false, "decrypt with a passphrase (asked on the terminal, else from "+passphraseEnv+")")
			fs.BoolVar(&dry, "dry-run", false, "list what would be imported, and change nothing")
		},
		check: func(cmd *cobra.Command) error {
			switch {
			case name == "" || file == "":
				return usageError(errors.New("--name and --file are required"))
			case len(identities) == 0 && !passphrase:
				return usageError(errors.New("say how to decrypt the file: --identity key.txt or --passphrase"))
			}
			return nil
		},
		run: func(cmd *cobra.Command, c *client) error {
			var ids []age.Identity
			for _, f := range identities {
				got, err := vaultfile.IdentityFile(f)
				if err != nil {
					return usageError(err)
				}
				ids = append(ids, got...)
			}
			if passphrase {
				p, err := readPassphrase(cmd, false)
				if err != nil {
					return usageError(err)
				}
				id, err := vaultfile.PassphraseIdentity(p)
				if err != nil {
					return usageError(err)
				}
				ids = append(ids, id)
			}
			f, err := os.Open(file)
			if err != nil {
				return err
			}
			defer f.Close()
			plain, err := vaultfile.Decrypt(f, ids...)
			if err != nil {
				return fmt.Errorf("%s: %w; nothing was imported", file, err)
			}
			// A read error (age found the file damaged or cut) aborts the upload: the
			// server takes a stream only once its trailer is in, so nothing is created.
			prog := newProgress(cmd)
			defer prog.done()
			body := &countingReader{r: plain, on: func(n int64) { prog.update("importing %s: %d MB", name, n>>20) }}
			path := "/admin/import/" + url.PathEscape(name)
			if dry {
				path += "?dryRun=true"
			}
			resp, err := c.stream(cmd.Context(), http.MethodPost, path, io.NopCloser(body))
			if err != nil {
				if body.err != nil {
					return fmt.Errorf("%s is damaged or truncated: %w; nothing was imported", file, body.err)
				}
				return err
			}
			defer resp.Body.Close()
			var sum importSummary
			if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(&sum); err != nil {
				return fmt.Errorf("the server's answer: %w", err)
			}
			prog.done()
			return printOut(cmd.OutOrStdout(), opts.Output, sum, func() table {
				if dry {
					t := table{header: []string{"Kind", "Name", "Versions", "Deleted", "ScheduledPurgeDate"}}
					for _, it := range sum.Items {
						t.rows = append(t.rows, []string{it.Kind, it.Name, strconv.Itoa(it.Versions), strconv.FormatBool(it.Deleted), it.ScheduledPurgeDate})
					}
					for _, it := range sum.PurgedNotImported {
						t.rows = append(t.rows, []string{it.Kind, it.Name, strconv.Itoa(it.Versions), "purge date passed: not imported", it.ScheduledPurgeDate})
					}
					return t
				}
				t := table{header: []string{"What", "Count"}}
				for _, k := range sortedKeys(sum.Counts) {
					t.rows = append(t.rows, []string{k, strconv.Itoa(sum.Counts[k])})
				}
				t.rows = append(t.rows, []string{"purgedNotImported", strconv.Itoa(len(sum.PurgedNotImported))})
				return t
			})
		},
	})
}
