package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/webhook"
)

func itoa(n int) string { return strconv.Itoa(n) }

// historyPage bounds the ledger entries one page shows.
const historyPage = 200

type historyData struct {
	Vault, Kind, Name string
	Vaults            []string
	Entries           []ledger.Entry
	Next              string
	VerifyAsked       bool
	Verified          bool
	VerifyProblem     string
	Checked           int64
	Webhooks          []webhook.Subscription
	Pending           []pendingRow
	PendingMore       bool
}

// pendingRow is a purge warning (or purge notice) not yet delivered to its webhook.
type pendingRow struct {
	Type, Vault, Kind, Name, URL, LastError string
	ScheduledPurge                          time.Time
	Attempts                                int
}

// pendingLimit bounds the undelivered events the history page reads.
const pendingLimit = 500

// history shows the deletion ledger of a vault or an object — who deleted, recovered or
// purged what and when — whether the ledger's hash chain verifies, and the vault's
// purge-warning webhooks. The administrator may read the whole ledger; anyone else the
// ledger of a vault it may list anything in.
func (c *Console) history(w http.ResponseWriter, r *http.Request, req *call) error {
	ctx := r.Context()
	q := r.URL.Query()
	d := historyData{Vault: q.Get("vault"), Kind: q.Get("kind"), Name: q.Get("name")}
	req.Event.Operation, req.Event.Vault = "LedgerList", d.Vault
	var err error
	if d.Vaults, err = c.visibleVaultNames(ctx, req); err != nil {
		return err
	}
	if !req.Principal.Admin {
		if d.Vault == "" {
			if len(d.Vaults) == 0 {
				req.Event.Decision = "denied: the principal may list nothing in any vault"
				return &refusal{"read the deletion history", "You may list nothing in any vault."}
			}
			d.Vault = d.Vaults[0]
		}
		if !slices.ContainsFunc(d.Vaults, func(v string) bool { return strings.EqualFold(v, d.Vault) }) {
			req.Event.Decision = "denied: the principal may list nothing in the vault"
			return &refusal{"read the deletion history of vault " + d.Vault, "You may list nothing in it."}
		}
		req.Event.Decision = "allowed: the principal may list in the vault"
	} else {
		req.Event.Decision = "allowed: administrator"
	}
	f := ledger.Filter{Vault: d.Vault, Kind: d.Kind, Name: d.Name, Limit: historyPage}
	if a, err := strconv.ParseInt(q.Get("after"), 10, 64); err == nil && a > 0 {
		f.After = a
	}
	entries, next, err := c.opts.Vaults.LedgerEntries(ctx, f)
	if err != nil {
		return err
	}
	d.Entries = entries
	if next > 0 {
		v := url.Values{"vault": {d.Vault}, "kind": {d.Kind}, "name": {d.Name}}
		v.Set("after", strconv.FormatInt(next, 10))
		d.Next = "/console/history?" + v.Encode()
	}
	// Walking the whole chain reads every entry, so it runs when asked (a button on the
	// page), not on every view.
	if q.Get("verify") == "1" {
		d.VerifyAsked = true
		var anchors []ledger.Anchor
		if c.opts.Anchors != nil {
			anchors = c.opts.Anchors()
		}
		res, verr, err := c.opts.Vaults.VerifyLedger(ctx, anchors...)
		if err != nil {
			return err
		}
		var te *ledger.TamperError
		switch {
		case verr == nil:
			d.Verified, d.Checked = true, res.Count
		case errors.As(verr, &te):
			d.VerifyProblem = "The chain is broken at entry " + strconv.FormatInt(te.Seq, 10) + ": " + te.Problem
		default:
			d.VerifyProblem = verr.Error()
		}
	}
	subs, err := c.opts.Vaults.ListWebhooks(ctx)
	if err != nil {
		return err
	}
	urls := map[string]string{}
	for _, s := range subs {
		if d.Vault == "" || strings.EqualFold(s.Vault, d.Vault) {
			s.Secret, s.CAPEM = "", ""
			d.Webhooks = append(d.Webhooks, s)
			urls[s.ID] = s.URL
		}
	}
	pending, err := c.opts.Vaults.PendingDeliveries(ctx, pendingLimit)
	if err != nil {
		return err
	}
	d.PendingMore = len(pending) == pendingLimit
	for _, p := range pending {
		if u, ok := urls[p.Webhook]; ok {
			d.Pending = append(d.Pending, pendingRow{Type: p.Event.Type, Vault: p.Event.Vault, Kind: p.Event.Kind, Name: p.Event.Name,
				URL: u, LastError: p.LastError, ScheduledPurge: p.Event.ScheduledPurgeDate, Attempts: p.Attempts})
		}
	}
	c.render(w, req, http.StatusOK, "history", page{Title: "Deletion history", Nav: "history", Data: d})
	return nil
}
