package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/vault"
)

// binPage is how many rows of the recycle bin one page shows.
const binPage = 100

// binRow is one row of the recycle bin.
type binRow struct {
	Kind, Vault, Name         string
	Deleted, PurgeAt          time.Time
	TimeLeft                  string
	DeletedBy                 string // from the deletion ledger; "" when it has no entry
	CanRecover, CanPurge      bool
	RecoverWhy, PurgeWhy      string // why the action is not offered
	PurgeProtected            bool
	Collection, RowID, HintID string
}

type binData struct {
	Rows         []binRow
	Vaults       []string
	Vault, Kind  string
	Total        int
	Prev, Next   string // links to the neighbouring pages
	From, To     int
	Kinds        []string
	FilterActive bool
}

// recycleBin shows every soft-deleted vault (administrator only) and object the
// principal may list, soonest purged first, with who deleted it and what it may do.
func (c *Console) recycleBin(w http.ResponseWriter, r *http.Request, req *call) error {
	ctx := r.Context()
	q := r.URL.Query()
	onlyVault, onlyKind := q.Get("vault"), q.Get("kind")
	req.Event.Vault = onlyVault
	req.Event.Decision = "allowed: the list holds what the principal may list"
	bin, _, err := c.opts.Vaults.RecycleBin(ctx, vault.RecycleBinFilter{
		Vault:  onlyVault,
		Vaults: func(vault.Vault) bool { return req.Principal.Admin },
		Objects: func(v vault.Vault, kind vault.Kind) bool {
			return (onlyKind == "" || onlyKind == string(kind)) && req.access.may(v, ops[collectionOf(kind)]["list"], "")
		},
	})
	if err != nil {
		return err
	}
	if onlyKind != "" {
		bin = slices.DeleteFunc(bin, func(b vault.BinItem) bool { return string(b.Kind) != onlyKind })
	}
	d := binData{Vault: onlyVault, Kind: onlyKind, Total: len(bin), Kinds: []string{"vault", "secret", "key", "certificate"},
		FilterActive: onlyVault != "" || onlyKind != ""}
	if d.Vaults, err = c.visibleVaultNames(ctx, req); err != nil {
		return err
	}
	start, _ := strconv.Atoi(q.Get("from"))
	if start < 0 || start >= len(bin) {
		start = 0
	}
	end := min(start+binPage, len(bin))
	shown := bin[start:end]
	d.From, d.To = start+1, end
	link := func(from int) string {
		v := url.Values{}
		if onlyVault != "" {
			v.Set("vault", onlyVault)
		}
		if onlyKind != "" {
			v.Set("kind", onlyKind)
		}
		v.Set("from", strconv.Itoa(from))
		return "/console/recycle-bin?" + v.Encode()
	}
	if start > 0 {
		d.Prev = link(max(0, start-binPage))
	}
	if end < len(bin) {
		d.Next = link(end)
	}
	keys := make([]string, len(shown))
	for i, b := range shown {
		keys[i] = deleterKey(b.Vault.Name, string(b.Kind), b.Name)
	}
	by, err := c.deleters(ctx, keys)
	if err != nil {
		return err
	}
	now := c.opts.Vaults.Now()
	for i, b := range shown {
		row := binRow{Kind: string(b.Kind), Vault: b.Vault.Name, Name: b.Name, Deleted: b.DeletedDate, PurgeAt: b.ScheduledPurgeDate,
			TimeLeft: timeLeft(b.ScheduledPurgeDate.Sub(now)), PurgeProtected: b.Vault.PurgeProtection,
			DeletedBy: by[deleterKey(b.Vault.Name, string(b.Kind), b.Name)],
			RowID:     "row-" + strconv.Itoa(start+i), HintID: "hint-" + strconv.Itoa(start+i)}
		if b.Kind == vault.KindVault {
			row.CanRecover, row.CanPurge = req.Principal.Admin, req.Principal.Admin
		} else {
			row.Collection = collectionOf(b.Kind)
			var why string
			if row.CanRecover, why = req.access.decide(b.Vault, ops[row.Collection]["recover"], b.Name); !row.CanRecover {
				row.RecoverWhy = "You may not recover it: " + why + "."
			}
			if row.CanPurge, why = req.access.decide(b.Vault, ops[row.Collection]["purge"], b.Name); !row.CanPurge {
				row.PurgeWhy = "You may not purge it: " + why + "."
			}
		}
		if b.Vault.PurgeProtection && row.CanPurge {
			row.CanPurge = false
			row.PurgeWhy = "Purge protection is on for vault " + b.Vault.Name + ": it cannot be purged by hand. It will be purged automatically on " +
				b.ScheduledPurgeDate.UTC().Format("2006-01-02 15:04 UTC") + "."
		}
		d.Rows = append(d.Rows, row)
	}
	c.render(w, req, http.StatusOK, "recyclebin", page{Title: "Recycle bin", Nav: "bin", Data: d})
	return nil
}

func deleterKey(v, kind, name string) string {
	return strings.ToLower(v) + "/" + kind + "/" + strings.ToLower(name)
}

// deleters returns, per deleted vault or object, who deleted it last (principal name
// and client id where the principal is known), from the deletion ledger.
func (c *Console) deleters(ctx context.Context, keys []string) (map[string]string, error) {
	names := map[string]string{}
	if ps, err := c.opts.Principals.ListPrincipals(ctx); err == nil {
		for _, p := range ps {
			names[strings.ToLower(p.ObjectID)] = p.Name
		}
	}
	last, err := c.lastDeletes(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(last))
	for k, e := range last {
		who := e.Principal
		if n := names[strings.ToLower(e.Principal)]; n != "" {
			who = n + " (" + e.ClientID + ")"
		}
		out[k] = who
	}
	return out, nil
}

// deleteIndex is the last delete entry of each vault and object in the ledger, kept up
// to date by reading only the entries added since (the ledger is append-only; its head
// says how far it goes), so that the recycle bin does not read the whole ledger on every
// page. Every server keeps its own, from the one ledger in the storage.
type deleteIndex struct {
	mu   sync.Mutex
	seq  int64 // the last entry folded in
	last map[string]ledger.Entry
}

// lastDeletes returns the last delete entry of each of keys that has one.
func (c *Console) lastDeletes(ctx context.Context, keys []string) (map[string]ledger.Entry, error) {
	head, err := c.opts.Vaults.LedgerHead(ctx)
	if err != nil {
		return nil, err
	}
	x := &c.deletes
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.last == nil || head.Seq < x.seq {
		x.seq, x.last = 0, map[string]ledger.Entry{}
	}
	f := ledger.Filter{After: x.seq, Limit: 10000}
	for x.seq < head.Seq {
		es, next, err := c.opts.Vaults.LedgerEntries(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if e.Action == ledger.ActionDelete {
				x.last[deleterKey(e.Vault, e.Kind, e.Name)] = e
			}
			x.seq = max(x.seq, e.Seq)
		}
		if next == 0 {
			x.seq = max(x.seq, head.Seq)
			break
		}
		f.After = next
	}
	out := make(map[string]ledger.Entry, len(keys))
	for _, k := range keys {
		if e, ok := x.last[k]; ok {
			out[k] = e
		}
	}
	return out, nil
}

// visibleVaultNames are the vaults the filter offers: the live ones the principal sees
// (the administrator: every vault, deleted ones too).
func (c *Console) visibleVaultNames(ctx context.Context, req *call) ([]string, error) {
	all, err := c.opts.Vaults.AllVaults(ctx)
	if err != nil {
		return nil, err
	}
	now := c.opts.Vaults.Now()
	var out []string
	for _, v := range all {
		if req.Principal.Admin || v.State(now) == vault.Active && req.access.sees(v) {
			out = append(out, v.Name)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out, nil
}

// binTarget is the object a recover or purge form names.
type binTarget struct{ vault, kind, name string }

func formTarget(r *http.Request) (binTarget, error) {
	t := binTarget{vault: r.PostForm.Get("vault"), kind: r.PostForm.Get("kind"), name: r.PostForm.Get("name")}
	if t.vault == "" || t.name == "" || !slices.Contains([]string{"vault", "secret", "key", "certificate"}, t.kind) {
		return t, formError("The form must name a vault, a kind (vault, secret, key or certificate) and a name.")
	}
	return t, nil
}

// doneData is the page after an action.
type doneData struct {
	Message string
	Hint    string
	Links   []doneLink
}

type doneLink struct{ Href, Text string }

// recover brings a deleted vault or object back.
func (c *Console) recover(w http.ResponseWriter, r *http.Request, req *call) error {
	t, err := formTarget(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	req.Event.Vault = t.vault
	if t.kind == "vault" {
		req.Event.Operation = "RecoverDeletedVault"
		if err := c.adminOnly(req, "recover vault "+t.vault); err != nil {
			return err
		}
		if err := req.BeforeChange(ctx); err != nil {
			return err
		}
		_, err := c.opts.Vaults.As(req.actor(), nil).RecoverVault(ctx, t.vault)
		c.rolesMoved()
		if err != nil {
			return err
		}
	} else {
		coll := t.kind + "s"
		o := ops[coll]["recover"]
		req.Event.Operation, req.Event.ObjectID = o.name, coll+"/"+t.name
		vr := c.opts.Vaults.As(req.actor(), req.decider(o, t.name, "recover "+t.kind+" "+t.name+" in vault "+t.vault))
		if _, err := vr.GetVault(ctx, t.vault); err != nil {
			return err
		}
		if err := req.BeforeChange(ctx); err != nil {
			return err
		}
		if err := objects[coll].recover(ctx, vr, t.vault, t.name); err != nil {
			return err
		}
	}
	c.render(w, req, http.StatusOK, "done", page{Title: "Recovered", Nav: "bin", Data: doneData{
		Message: strings.ToUpper(t.kind[:1]) + t.kind[1:] + " " + t.name + " is recovered, with every version.",
		Links:   []doneLink{{"/console/recycle-bin", "Back to the recycle bin"}, {"/console/vaults/" + url.PathEscape(t.vault), "Open vault " + t.vault}}}})
	return nil
}

// purge removes a deleted vault or object for good, once the person has typed its name.
func (c *Console) purge(w http.ResponseWriter, r *http.Request, req *call) error {
	t, err := formTarget(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	req.Event.Vault = t.vault
	if r.PostForm.Get("confirm") != t.name {
		req.Event.Decision = "denied: the name was not typed to confirm"
		return formError("To purge " + t.kind + " " + t.name + ", type its name exactly into the confirmation box.")
	}
	if t.kind == "vault" {
		req.Event.Operation = "PurgeDeletedVault"
		if err := c.adminOnly(req, "purge vault "+t.vault); err != nil {
			return err
		}
		if err := req.BeforeChange(ctx); err != nil {
			return err
		}
		err := c.opts.Vaults.As(req.actor(), nil).PurgeVault(ctx, t.vault)
		c.rolesMoved()
		if err != nil {
			return err
		}
	} else {
		coll := t.kind + "s"
		o := ops[coll]["purge"]
		req.Event.Operation, req.Event.ObjectID = o.name, coll+"/"+t.name
		vr := c.opts.Vaults.As(req.actor(), req.decider(o, t.name, "purge "+t.kind+" "+t.name+" in vault "+t.vault))
		if _, err := vr.GetVault(ctx, t.vault); err != nil {
			return err
		}
		if err := req.BeforeChange(ctx); err != nil {
			return err
		}
		err = objects[coll].purge(ctx, vr, t.vault, t.name)
		if err != nil {
			return err
		}
	}
	c.render(w, req, http.StatusOK, "done", page{Title: "Purged", Nav: "bin", Data: doneData{
		Message: strings.ToUpper(t.kind[:1]) + t.kind[1:] + " " + t.name + " is purged: it is gone for good.",
		Links:   []doneLink{{"/console/recycle-bin", "Back to the recycle bin"}}}})
	return nil
}

// rolesMoved: a vault's recover or purge moved its role assignments (in the vault
// domain's transaction): this server's view of them is stale at once.
func (c *Console) rolesMoved() {
	if c.opts.RBAC != nil {
		c.opts.RBAC.Invalidate()
	}
}

// adminOnly refuses a vault-level action to anyone but the administrator (deleted
// vaults are the administrator's, as in GET /admin/recycle-bin).
func (c *Console) adminOnly(req *call, what string) error {
	if req.Principal.Admin {
		req.Event.Decision = "allowed: administrator"
		return nil
	}
	req.Event.Decision = "denied: only the administrator may recover or purge a deleted vault"
	return &refusal{what, "Only the administrator may recover or purge a deleted vault."}
}

// decider is the decision a vault.Request hands each vault it acts on: o on the object
// name, recorded in the request's audit record.
func (req *call) decider(o op, name, what string) func(vault.Vault) error {
	return func(v vault.Vault) error {
		ok, why := req.access.decide(v, o, name)
		if ok {
			req.Event.Decision = "allowed: " + why
			return nil
		}
		req.Event.Decision = "denied: " + why
		if !req.access.sees(v) {
			return hiddenVault(v.Name)
		}
		return &refusal{what, "Reason: " + why + "."}
	}
}

// hiddenVault refuses a vault the principal may list nothing in exactly as one that does
// not exist, so that the console tells it nothing about the vaults there are (as the data
// plane answers both 403).
func hiddenVault(name string) error {
	return &refusal{"use vault " + name, "You may see nothing in it, or there is no vault of that name."}
}
