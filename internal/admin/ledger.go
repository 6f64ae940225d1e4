package admin

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/plane"
)

// ledgerPage bounds GET /admin/ledger; nextLink fetches the rest.
const ledgerPage = 1000

// listLedger answers GET /admin/ledger[?vault=V][&name=N][&kind=K][&after=SEQ]: the
// deletion ledger's entries in order, {"value":[…],"nextLink":…}.
func (a *Admin) listLedger(w http.ResponseWriter, r *http.Request, _ *plane.Call, _ string) error {
	q := r.URL.Query()
	f := ledger.Filter{Vault: q.Get("vault"), Name: q.Get("name"), Kind: q.Get("kind"), Limit: ledgerPage}
	if s := q.Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return errorf(http.StatusBadRequest, "BadRequest", "after must be a ledger sequence number (a whole number).")
		}
		f.After = n
	}
	var out struct {
		Value    []ledger.Entry `json:"value"`
		NextLink string         `json:"nextLink,omitempty"`
	}
	var next int64
	var err error
	if out.Value, next, err = a.opts.Vaults.LedgerEntries(r.Context(), f); err != nil {
		return a.internal("read the ledger", err, "The ledger could not be read.")
	}
	if next > 0 {
		q.Set("after", strconv.FormatInt(next, 10))
		out.NextLink = a.opts.PublicURL + "/admin/ledger?" + q.Encode()
	}
	return writeJSON(w, http.StatusOK, out)
}

// verifyLedger answers POST /admin/ledger/verify: it walks the hash chain and checks it
// against the heads the server copied into the audit log and against the anchors in the
// optional body ({"anchors":[{"seq":N,"hash":"…"}]}, e.g. taken from the audit log's
// LedgerCheckpoint records). 200 {"ok":true,"count":N,…}; 409 with what broke; 500 when
// the ledger cannot be read.
func (a *Admin) verifyLedger(w http.ResponseWriter, r *http.Request, _ *plane.Call, _ string) error {
	var in struct {
		Anchors []ledger.Anchor `json:"anchors"`
	}
	if err := readJSON(w, r, maxBody, &in, true); err != nil {
		return badBody(err, `The body must be empty or {"anchors":[{"seq":N,"hash":"…"}]}.`)
	}
	anchors := in.Anchors
	if a.opts.Anchors != nil {
		anchors = append(anchors, a.opts.Anchors()...)
	}
	res, verr, err := a.opts.Vaults.VerifyLedger(r.Context(), anchors...)
	var te *ledger.TamperError
	switch {
	case err == nil && verr == nil:
		return writeJSON(w, http.StatusOK, map[string]any{"ok": true, "count": res.Count, "head": res.Head, "checkpoint": res.Checkpoint, "anchorsChecked": len(anchors)})
	case errors.As(verr, &te):
		a.opts.Log.Error("the deletion ledger failed verification", "seq", te.Seq, "problem", te.Problem)
		return writeJSON(w, http.StatusConflict, map[string]any{"ok": false, "count": res.Count, "head": res.Head, "brokenAt": te.Seq, "problem": te.Problem,
			"error": map[string]string{"code": "LedgerTampered", "message": te.Error()}})
	default:
		a.opts.Log.Error("verify the ledger", "err", errors.Join(err, verr))
		return writeJSON(w, http.StatusInternalServerError, map[string]any{"ok": false,
			"error": map[string]string{"code": "InternalError", "message": "The ledger could not be read, so it was not verified."}})
	}
}
