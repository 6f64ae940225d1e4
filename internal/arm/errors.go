package arm

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/vault"
	"github.com/coffer/coffer/internal/wiretext"
)

// armError is an answer in ARM's error shape.
type armError struct {
	status    int
	code, msg string
}

func (e *armError) Error() string { return e.code + ": " + e.msg }

func badRequest(msg string) *armError {
	return &armError{http.StatusBadRequest, "BadRequest", msg}
}

// echo shows a value from the request (a path segment, a query parameter, a body member)
// in a message, bounded: a message must not carry back whatever the client sent.
func echo(s string) string { return wiretext.Echo(s) }

// shown is a path parameter as a message shows it (echo).
func (p params) shown(k string) string { return echo(p[k]) }

// shownError is a domain error whose name (from the request) is bounded, also where its
// detail holds it.
func shownError(ve *vault.Error) *vault.Error {
	name := echo(ve.Name)
	if name == ve.Name {
		return ve
	}
	c := *ve
	c.Detail = strings.ReplaceAll(c.Detail, c.Name, name)
	c.Name = name
	return &c
}

// Azure's texts for the vault errors whose wording clients and users recognise.
const (
	deletedNameText = "A vault with the same name already exists in deleted state. You need to either recover or purge existing key vault. " +
		"Follow this link https://go.microsoft.com/fwlink/?linkid=2149745 for more information on soft delete."
	nameTakenText = "The vault name '%s' is already in use. Vault names are globally unique so it is possible that the name is already taken. " +
		"If you are sure that the vault name was not taken then it is possible that a vault with the same name was recently deleted " +
		"but not purged after being placed in a recoverable state. If the vault is in a recoverable state then the vault will need " +
		"to be explicitly purged before reusing the name. For more information on VaultAlreadyExists, soft delete and purging a vault " +
		"follow this link https://go.microsoft.com/fwlink/?linkid=2147740."
	purgeProtectedText = "Operation 'DeletedVaultPurge' is not allowed."
)

// fromDomain maps a vault error to its ARM answer (the table below); anything else is
// Coffer's own failure: 500 with a fixed message, the details only logged.
func (a *API) fromDomain(r *http.Request, reqID string, err error) *armError {
	var ve *vault.Error
	if errors.As(err, &ve) {
		ve = shownError(ve)
		switch {
		case errors.Is(err, vault.ErrVaultNotFound):
			return &armError{http.StatusNotFound, "ResourceNotFound",
				"The vault '" + ve.Name + "' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"}
		case errors.Is(err, vault.ErrVaultDeletedName):
			return &armError{http.StatusConflict, "ConflictError", deletedNameText +
				" The deleted vault '" + ve.Name + "' is kept until " + rfc3339(ve.ScheduledPurgeDate) + "."}
		case errors.Is(err, vault.ErrVaultNameTaken):
			return &armError{http.StatusConflict, "VaultAlreadyExists", fmt.Sprintf(nameTakenText, ve.Name)}
		case errors.Is(err, vault.ErrVaultNameInvalid):
			return &armError{http.StatusBadRequest, "VaultNameNotValid",
				"The vault name '" + ve.Name + "' is not valid. " + ve.Detail}
		case errors.Is(err, vault.ErrInvalidVault):
			return badRequest(ve.Detail)
		case errors.Is(err, vault.ErrVaultPurgeProtected):
			return &armError{http.StatusConflict, "InvalidOperation", purgeProtectedText +
				" The vault '" + ve.Name + "' has purge protection: it stays recoverable and is purged automatically on " +
				rfc3339(ve.ScheduledPurgeDate) + ", when its retention ends."}
		case errors.Is(err, vault.ErrBadParameter):
			return badRequest(ve.Detail)
		}
	}
	a.log.Error("management plane request failed", "requestId", reqID, "method", r.Method, "path", r.URL.Path, "err", err)
	return &armError{http.StatusInternalServerError, "InternalServerError",
		"Coffer could not complete the request because of an internal error; nothing was changed unless a later read shows it. Request id " + reqID + "; the server log has the details."}
}

// writeJSON answers v as JSON with status.
var writeJSON = plane.WriteJSON

// rfc3339 is ARM's date form: RFC 3339, UTC, whole seconds.
func rfc3339(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}
