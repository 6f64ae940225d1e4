package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// ledgerEntry is one deletion-ledger entry as GET /admin/ledger answers it.
type ledgerEntry struct {
	Seq                int64  `json:"seq"`
	Time               string `json:"time"`
	Action             string `json:"action"`
	Kind               string `json:"kind,omitempty"`
	Vault              string `json:"vault,omitempty"`
	Name               string `json:"name,omitempty"`
	Principal          string `json:"principal"`
	ClientID           string `json:"clientId,omitempty"`
	RequestID          string `json:"requestId,omitempty"`
	DeletedDate        string `json:"deletedDate,omitempty"`
	ScheduledPurgeDate string `json:"scheduledPurgeDate,omitempty"`
	LateBySeconds      int64  `json:"lateBySeconds,omitempty"`
	Note               string `json:"note,omitempty"`
	PrunedThrough      int64  `json:"prunedThrough,omitempty"`
	PrunedHash         string `json:"prunedHash,omitempty"`
	PrevHash           string `json:"prevHash"`
	Hash               string `json:"hash,omitempty"`
}

// ledgerMaxPages bounds how many pages coffer ledger follows (1000 entries each).
const ledgerMaxPages = 10000

func newLedgerCommand() *cobra.Command {
	opts, vault, name, kind := &clientOptions{}, "", "", ""
	cmd := newClientCommand(cmdSpec{
		use: "ledger", opts: opts,
		help: cmdHelp{
			short: "Show the deletion ledger: who deleted, recovered or purged what, and when (administrator only)",
			long: `Show the deletion ledger (GET /admin/ledger, every page): one entry for each delete,
recover, purge and automatic purge of a vault, secret, key or certificate, with who asked
(principal object id, client id, request id in the audit log), when, the deletion's
scheduledPurgeDate, and for an automatic purge how late the sweeper came. Entries outlive
the purge (coffer server --ledger-retention).

The entries form a hash chain; coffer ledger verify checks it.`,
			example: `  coffer ledger
  coffer ledger --vault-name myvault --name db-password -o table
  coffer ledger verify`,
		},
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&vault, "vault-name", "", "only entries of this vault (its objects and the vault itself)")
			fs.StringVarP(&name, "name", "n", "", "only entries of objects (or vaults) of this name")
			fs.StringVar(&kind, "kind", "", "only entries of this kind: vault, secret, key or certificate")
		},
		run: func(cmd *cobra.Command, c *client) error {
			q := url.Values{}
			for k, v := range map[string]string{"vault": vault, "name": name, "kind": kind} {
				if v != "" {
					q.Set(k, v)
				}
			}
			entries := []ledgerEntry{}
			for range ledgerMaxPages {
				path := "/admin/ledger"
				if len(q) > 0 {
					path += "?" + q.Encode()
				}
				var page struct {
					Value    []ledgerEntry `json:"value"`
					NextLink string        `json:"nextLink"`
				}
				if err := c.call(cmd.Context(), http.MethodGet, path, nil, &page, http.StatusOK); err != nil {
					return err
				}
				entries = append(entries, page.Value...)
				if page.NextLink == "" {
					break
				}
				// The next page: the same filter after the last entry (nextLink's own
				// host may be a --public-url this client does not dial).
				next, err := url.Parse(page.NextLink)
				if err != nil || next.Query().Get("after") == "" {
					return fmt.Errorf("the server's nextLink %q has no after=SEQ", page.NextLink)
				}
				q.Set("after", next.Query().Get("after"))
			}
			return printOut(cmd.OutOrStdout(), opts.Output, entries, func() table {
				t := table{header: []string{"Seq", "Time", "Action", "Kind", "Vault", "Name", "Principal", "ScheduledPurgeDate", "LateBySeconds"}}
				for _, e := range entries {
					t.rows = append(t.rows, []string{strconv.FormatInt(e.Seq, 10), e.Time, e.Action, e.Kind, e.Vault, e.Name, e.Principal,
						e.ScheduledPurgeDate, strconv.FormatInt(e.LateBySeconds, 10)})
				}
				return t
			})
		},
	})
	cmd.AddCommand(newLedgerVerifyCommand())
	return cmd
}

func newLedgerVerifyCommand() *cobra.Command {
	opts := &clientOptions{}
	return newClientCommand(cmdSpec{
		use: "verify", opts: opts,
		help: cmdHelp{
			short: "Check the deletion ledger's hash chain; exit 4 when an entry was edited, removed or cut off",
			long: `Check the deletion ledger's hash chain (POST /admin/ledger/verify): every entry's hash,
the links between entries, the head, the pruning checkpoint, and the heads the server
copied into its audit log. It prints the result as JSON; when the chain is broken it
says at which entry and exits with code 4.`,
			example: `  coffer ledger verify`,
		},
		run: func(cmd *cobra.Command, c *client) error {
			var res map[string]json.RawMessage
			if err := c.call(cmd.Context(), http.MethodPost, "/admin/ledger/verify", nil, &res, http.StatusOK, http.StatusConflict); err != nil {
				return err
			}
			tab := func() table {
				t := table{header: []string{"Ok", "Count", "BrokenAt", "Problem"}}
				t.rows = append(t.rows, []string{string(res["ok"]), string(res["count"]), string(res["brokenAt"]), unquote(res["problem"])})
				return t
			}
			if err := printOut(cmd.OutOrStdout(), opts.Output, res, tab); err != nil {
				return err
			}
			if string(res["ok"]) != "true" {
				return conflictError(fmt.Errorf("the deletion ledger failed verification at entry %s: %s", res["brokenAt"], unquote(res["problem"])),
					"an entry was edited, removed or cut off in storage since it was written; the audit log's LedgerCheckpoint records hold the heads it had")
			}
			return nil
		},
	})
}

// unquote is a JSON string's text ("" for anything else).
func unquote(raw json.RawMessage) string {
	var s string
	json.Unmarshal(raw, &s)
	return s
}
