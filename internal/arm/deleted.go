package arm

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/vault"
)

func (a *API) listDeletedVaults(w http.ResponseWriter, r *http.Request, p params, c Caller) error {
	vs, err := a.opts.Vaults.ListDeletedVaults(r.Context(), p["sub"])
	if err != nil {
		return err
	}
	items := make([]deletedVaultJSON, 0, len(vs))
	for _, v := range vs {
		items = append(items, deletedVaultJSONOf(v))
	}
	return writePage(a, w, r, items)
}

func deletedNotFound(p params) error {
	return &armError{http.StatusNotFound, "ResourceNotFound",
		"There is no deleted vault '" + p.shown("name") + "' in location '" + p.shown("loc") + "' of subscription '" + p.shown("sub") +
			"'. GET /subscriptions/{sub}/providers/Microsoft.KeyVault/deletedVaults lists the deleted vaults with their locations."}
}

// deletedVault returns the deleted vault the path names: its subscription and location
// must match, as the location addresses the deletedVaults entry.
func (a *API) deletedVault(r *http.Request, p params) (vault.Vault, error) {
	v, err := a.opts.Vaults.GetDeletedVault(r.Context(), p["name"])
	if errors.Is(err, vault.ErrVaultNotFound) || err == nil && (!inScope(v, p["sub"], "") || !sameLocation(v.Location, p["loc"])) {
		return v, deletedNotFound(p)
	}
	return v, err
}

func (a *API) getDeletedVault(w http.ResponseWriter, r *http.Request, p params, c Caller) error {
	v, err := a.deletedVault(r, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, deletedVaultJSONOf(v))
}

// purgeDeletedVault purges a deleted vault and everything in it at once, then answers
// as Azure's long-running purge does: 202, the absolute Location of an operation that
// is already done, and Retry-After: 1 (azcore's poller would otherwise wait 30 s).
func (a *API) purgeDeletedVault(w http.ResponseWriter, r *http.Request, p params, c Caller) error {
	if _, err := a.deletedVault(r, p); err != nil {
		return err
	}
	err := c.vaults.PurgeVault(r.Context(), p["name"])
	a.rolesMoved()
	if errors.Is(err, vault.ErrVaultNotFound) {
		return deletedNotFound(p) // recovered or purged meanwhile
	}
	if err != nil {
		return err
	}
	a.log.Info("purged a deleted vault", "vault", p["name"])
	loc := a.publicBase() + "/subscriptions/" + url.PathEscape(p["sub"]) + "/providers/Microsoft.KeyVault/locations/" +
		url.PathEscape(p["loc"]) + "/operationResults/" + a.newOperationID() + "?api-version=" + url.QueryEscape(r.URL.Query().Get("api-version"))
	h := w.Header()
	h.Set("Location", loc)
	h.Set("Retry-After", "1")
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// Operation ids are "purge.<unix seconds>.<16 hex>". An id is only ever issued for a
// purge that has finished, so the id itself says "succeeded", and every server on the
// same storage answers it without shared state. A made-up id of that form learns
// nothing but "done".
const opPrefix = "purge."

func (a *API) newOperationID() string {
	var b [8]byte
	rand.Read(b[:])
	return opPrefix + strconv.FormatInt(a.now().Unix(), 10) + "." + hex.EncodeToString(b[:])
}

func validOperationID(id string) bool {
	rest, ok := strings.CutPrefix(id, opPrefix)
	if !ok {
		return false
	}
	secs, random, ok := strings.Cut(rest, ".")
	if !ok || len(random) != 16 {
		return false
	}
	if secs == "" || len(secs) > 12 || strings.Trim(secs, "0123456789") != "" {
		return false
	}
	_, err := hex.DecodeString(random)
	return err == nil
}

// getOperation answers the operation URL of a purge: 200, done (the purge finished
// before its 202 was sent).
func (a *API) getOperation(w http.ResponseWriter, r *http.Request, p params, c Caller) error {
	id := p["id"]
	if !validOperationID(id) {
		return &armError{http.StatusNotFound, "ResourceNotFound", "There is no operation '" + echo(id) + "'."}
	}
	secs, _, _ := strings.Cut(strings.TrimPrefix(id, opPrefix), ".")
	n, _ := strconv.ParseInt(secs, 10, 64)
	at := rfc3339(time.Unix(n, 0))
	return writeJSON(w, http.StatusOK, map[string]string{
		"id":        "/subscriptions/" + p["sub"] + "/providers/Microsoft.KeyVault/locations/" + p["loc"] + "/operationResults/" + id,
		"name":      id,
		"status":    "Succeeded",
		"startTime": at,
		"endTime":   at,
	})
}

// publicBase is --public-url without a trailing "/".
func (a *API) publicBase() string {
	if a.opts.PublicURL == nil {
		return ""
	}
	return strings.TrimSuffix(a.opts.PublicURL.String(), "/")
}

func (a *API) now() time.Time {
	if a.opts.Clock != nil {
		return a.opts.Clock.Now().UTC()
	}
	return clock.Real{}.Now()
}
