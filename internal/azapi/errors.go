package azapi

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/vault"
	"github.com/coffer/coffer/internal/wiretext"
)

// apiError is an error with its Azure wire form, rendered by the plane adapter.
type apiError = plane.Error

func badParameter(format string, args ...any) error {
	return &apiError{Status: http.StatusBadRequest, Code: "BadParameter", Message: fmt.Sprintf(format, args...)}
}

// wireErrorBody is Azure's error object, as a certificate operation carries it.
type wireErrorBody struct {
	Code       string          `json:"code"`
	Message    string          `json:"message"`
	InnerError *wireInnerError `json:"innererror,omitempty"`
}

type wireInnerError struct {
	Code string `json:"code"`
}

// errorTable maps each domain error kind to its HTTP status, Azure error.code and
// innererror.code. Messages come from describe. Anything not here is a 500.
var errorTable = []struct {
	kind   error
	status int
	code   string // "" means "<Kind>NotFound"
	inner  string
}{
	{vault.ErrVaultNotFound, http.StatusNotFound, "VaultNotFound", ""},
	{vault.ErrNotFound, http.StatusNotFound, "", ""},
	{vault.ErrDeletedNotFound, http.StatusNotFound, "", ""},
	{vault.ErrDeletedButRecoverable, http.StatusConflict, "Conflict", "ObjectIsDeletedButRecoverable"},
	{vault.ErrAlreadyExists, http.StatusConflict, "Conflict", "ObjectAlreadyExists"},
	{vault.ErrPurgeProtected, http.StatusForbidden, "Forbidden", "ForbiddenByPolicy"},
	{vault.ErrDisabled, http.StatusForbidden, "Forbidden", ""},
	{vault.ErrManaged, http.StatusForbidden, "Forbidden", ""},
	{vault.ErrOperationNotAllowed, http.StatusForbidden, "Forbidden", "KeyOperationForbidden"},
	{vault.ErrBadParameter, http.StatusBadRequest, "BadParameter", ""},
	{vault.ErrNoOperation, http.StatusNotFound, "PendingCertificateNotFound", ""},
}

// vaultRef names the vault a request addressed, as error messages show it. location is
// known once the request has read the vault.
type vaultRef struct {
	name, location string
}

// toAPIError renders err as Azure would; ok is false for an unexpected error.
func toAPIError(err error, v vaultRef) (*apiError, bool) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae, true
	}
	var ve *vault.Error
	if !errors.As(err, &ve) {
		return nil, false
	}
	for _, row := range errorTable {
		if !errors.Is(err, row.kind) {
			continue
		}
		out := &apiError{Status: row.status, Code: row.code, Inner: row.inner, Message: describe(ve, v)}
		if out.Code == "" {
			out.Code = title(ve.ObjectKind) + "NotFound"
		}
		switch row.kind {
		case vault.ErrDisabled:
			out.Inner = title(ve.ObjectKind) + "Disabled"
		case vault.ErrManaged:
			out.Inner = title(ve.ObjectKind) + "ManagedByKeyVault"
		}
		return out, true
	}
	return nil, false
}

func title(k vault.Kind) string {
	if k == "" {
		return ""
	}
	return strings.ToUpper(string(k[:1])) + string(k[1:])
}

func date(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// describe writes the message of a domain error: Azure's text, and where a person is
// likely stuck (a reserved name, purge protection) what they can do next. The name comes
// from the request; it is shown bounded (wiretext.Echo), also where the domain's own text
// holds it.
func describe(ve *vault.Error, v vaultRef) string {
	c := *ve
	e := &c
	if name := wiretext.Echo(e.Name); name != e.Name {
		e.Detail = strings.ReplaceAll(e.Detail, e.Name, name)
		e.Name = name
	}
	e.Version = wiretext.Echo(e.Version)
	k, K := string(e.ObjectKind), title(e.ObjectKind)
	switch {
	case errors.Is(e, vault.ErrVaultNotFound):
		return fmt.Sprintf("Vault %s does not exist or is deleted.", e.Name)
	case errors.Is(e, vault.ErrNotFound) && e.ObjectKind == "contacts":
		return "No certificate contacts are set for this vault."
	case errors.Is(e, vault.ErrNotFound) && e.ObjectKind == "issuer":
		return fmt.Sprintf("Issuer not found: %s", e.Name)
	case errors.Is(e, vault.ErrNotFound):
		name := e.Name
		if e.Version != "" {
			name += "/" + e.Version
		}
		return fmt.Sprintf("A %s with (name/id) %s was not found in this key vault. If you recently deleted this %s you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", k, name, k)
	case errors.Is(e, vault.ErrDeletedNotFound):
		return fmt.Sprintf("Deleted %s not found: %s", K, e.Name)
	case errors.Is(e, vault.ErrDeletedButRecoverable):
		return fmt.Sprintf("%s %s is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the %s can only be recovered or purged. "+
			"Recover the deleted %s to use it again, or purge it first (not possible while the vault has purge protection) to reuse the name; "+
			"otherwise it is purged automatically at its scheduledPurgeDate %s.",
			K, e.Name, k, k, date(e.ScheduledPurgeDate))
	case errors.Is(e, vault.ErrAlreadyExists) && e.Detail != "":
		return e.Detail
	case errors.Is(e, vault.ErrAlreadyExists):
		return fmt.Sprintf("%s %s already exists in this vault; a backup can only be restored under a name that is not in use.", K, e.Name)
	case errors.Is(e, vault.ErrPurgeProtected):
		return fmt.Sprintf("Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed (scheduledPurgeDate %s); until then it can be recovered.\r\nVault: %s;location=%s", date(e.ScheduledPurgeDate), v.name, v.location)
	case errors.Is(e, vault.ErrNoOperation):
		return fmt.Sprintf("Pending certificate not found: %s", e.Name)
	case errors.Is(e, vault.ErrManaged):
		return fmt.Sprintf("Operation %q is not allowed as this object's lifetime is managed by Key Vault: the %s %s backs certificate %s. Change it through the certificate.", e.Detail, k, e.Name, e.Name)
	case errors.Is(e, vault.ErrDisabled) && e.Detail == "":
		return fmt.Sprintf("Operation get is not allowed on a disabled %s.", k)
	case errors.Is(e, vault.ErrBadParameter), e.Detail != "":
		if e.Detail != "" {
			return e.Detail
		}
		return "The request is invalid."
	}
	return e.Error()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := jsonBufs.Get().(*bytes.Buffer)
	defer putJSONBuf(buf)
	b := []byte(`{"error":{"code":"InternalError","message":"The server could not encode its answer."}}`)
	if err := marshalJSON(buf, v); err != nil {
		status = http.StatusInternalServerError
	} else {
		b = buf.Bytes()
	}
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Cache-Control"] = noCache
	w.WriteHeader(status)
	w.Write(b)
}

// marshalJSON appends v to buf as json.Marshal would, through the go-json-experiment
// engine in its encoding/json mode (jsonv1): the same bytes (TestEncodeJSONAsEncodingJSON)
// in about two thirds of the time, on every answer. It writes into buf, a pooled buffer,
// rather than returning a fresh copy: one allocation of the answer's size less.
func marshalJSON(buf *bytes.Buffer, v any) error {
	return json.MarshalWrite(buf, v, jsonv1.DefaultOptionsV1())
}

// jsonBufs are the buffers answers are encoded in. One that grew beyond maxPooledJSON (a
// long list page) is dropped rather than kept for the small answers that follow.
var jsonBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledJSON = 64 << 10

func putJSONBuf(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledJSON {
		buf.Reset()
		jsonBufs.Put(buf)
	}
}

var (
	jsonContentType = []string{"application/json; charset=utf-8"}
	noCache         = []string{"no-cache"}
)
