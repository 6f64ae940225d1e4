package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// recycleBinItem is one entry of coffer recycle-bin, as the server's
// GET /admin/recycle-bin lists it, with dates as az prints them.
type recycleBinItem struct {
	Kind               string `json:"kind"`
	Vault              string `json:"vault"`
	Name               string `json:"name"`
	DeletedDate        any    `json:"deletedDate"`
	ScheduledPurgeDate any    `json:"scheduledPurgeDate"`
	TimeLeft           string `json:"timeLeft"`
	PurgeAllowed       bool   `json:"purgeAllowed"`
	RecoveryID         string `json:"recoveryId"`
}

func newRecycleBinCommand() *cobra.Command {
	opts, vault := &clientOptions{}, ""
	return newClientCommand(cmdSpec{
		use: "recycle-bin", opts: opts,
		help: cmdHelp{
			short: "List everything deleted that can still be recovered, soonest purged first",
			long: `List every soft-deleted vault, secret, key and certificate you can see, in one list
sorted by scheduledPurgeDate: the first entries are the first Coffer purges for good. Each
entry says how much time is left and whether you may purge it before then (not under
purge protection, nor without the purge permission).

The administrator sees everything; another principal sees the deleted secrets, keys and
certificates of the kinds its access policy lets it list in each vault, and no deleted
vault. Recover an entry with coffer KIND recover (coffer vault recover for a vault).`,
			example: `  coffer recycle-bin
  coffer recycle-bin --vault-name myvault -o table
  coffer secret recover --vault-name myvault --name db-password   # bring one back`,
		},
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&vault, "vault-name", "", "list only this vault's deleted objects (or the vault itself, when it is deleted)")
		},
		run: func(cmd *cobra.Command, c *client) error {
			path := "/admin/recycle-bin"
			if vault != "" {
				path += "?" + url.Values{"vault": {vault}}.Encode()
			}
			type entry struct {
				Kind, Vault, Name, TimeLeft, RecoveryID string
				DeletedDate, ScheduledPurgeDate         *time.Time
				PurgeAllowed                            bool
			}
			in, err := adminList[entry](cmd.Context(), c, path)
			if err != nil {
				if e, ok := azErrorOf(err); ok && e.status == http.StatusNotFound && e.code == "VaultNotFound" {
					return notFoundError(fmt.Errorf("no vault %q, live or deleted", vault), "check the name: coffer vault list")
				}
				return err
			}
			out := make([]recycleBinItem, 0, len(in))
			for _, v := range in {
				out = append(out, recycleBinItem{Kind: v.Kind, Vault: v.Vault, Name: v.Name,
					DeletedDate: azDate(v.DeletedDate), ScheduledPurgeDate: azDate(v.ScheduledPurgeDate),
					TimeLeft: v.TimeLeft, PurgeAllowed: v.PurgeAllowed, RecoveryID: v.RecoveryID})
			}
			return printOut(cmd.OutOrStdout(), opts.Output, out, recycleBinTable(out))
		},
	})
}

func recycleBinTable(items []recycleBinItem) func() table {
	return func() table {
		t := table{header: []string{"Kind", "Vault", "Name", "DeletedDate", "ScheduledPurgeDate", "TimeLeft", "PurgeAllowed"}}
		for _, it := range items {
			t.rows = append(t.rows, []string{it.Kind, it.Vault, it.Name, cell(it.DeletedDate), cell(it.ScheduledPurgeDate),
				it.TimeLeft, strconv.FormatBool(it.PurgeAllowed)})
		}
		return t
	}
}
