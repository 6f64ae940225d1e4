package admin

import (
	"errors"
	"net/http"

	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/vault"
)

// The whole-vault export and import (coffer vault export / import). The server sends
// and takes the plaintext record stream (package vaultfile) over TLS; the CLI encrypts
// it with age before it touches a disk, and decrypts it on the way in, so the server
// never holds the recipients' identities or a passphrase. Both are the administrator's
// alone, like every admin route: an export carries every private key of the vault.

// actor is the principal of the call, as the deletion ledger records it.
func actor(c *plane.Call) vault.Actor {
	p := c.Principal
	who := p.ObjectID
	if who == "" {
		who = p.ClientID
	}
	return vault.Actor{Principal: who, ClientID: p.ClientID, RequestID: c.Event.RequestID}
}

// sentWriter notes whether the answer has started.
type sentWriter struct {
	http.ResponseWriter
	sent bool
}

func (w *sentWriter) Write(b []byte) (int, error) {
	if !w.sent {
		w.sent = true
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// exportVault answers GET /admin/export/{vault}: the vault as a vaultfile stream. A
// failure once the stream has started cuts the connection: the client then has a stream
// without its trailer, which no import takes.
func (a *Admin) exportVault(w http.ResponseWriter, r *http.Request, c *plane.Call, name string) error {
	c.Event.Vault = name
	if err := c.BeforeChange(r.Context()); err != nil {
		return err
	}
	sw := &sentWriter{ResponseWriter: w}
	_, err := a.opts.Vaults.As(actor(c), nil).Export(r.Context(), name, a.opts.PublicURL, sw)
	switch {
	case err == nil:
		return nil
	case sw.sent:
		a.opts.Log.Error("vault export cut off", "vault", name, "err", err)
		panic(http.ErrAbortHandler)
	}
	return a.vaultFileError(err, "The vault could not be exported.")
}

// importVault answers POST /admin/import/{vault}[?dryRun=true]: the body is a vaultfile
// stream; the answer the import's summary.
func (a *Admin) importVault(w http.ResponseWriter, r *http.Request, c *plane.Call, name string) error {
	c.Event.Vault = name
	dry := r.URL.Query().Get("dryRun") == "true"
	if !dry {
		if err := c.BeforeChange(r.Context()); err != nil {
			return err
		}
	}
	sum, err := a.opts.Vaults.As(actor(c), nil).Import(r.Context(), name, r.Body, vault.ImportOptions{DryRun: dry})
	if err != nil {
		return a.vaultFileError(err, "The vault could not be imported; nothing was imported.")
	}
	status := http.StatusCreated
	if dry {
		status = http.StatusOK
	}
	return writeJSON(w, status, sum)
}

// vaultFileError is the answer of a failed export or import.
func (a *Admin) vaultFileError(err error, msg string) error {
	var ve *vault.Error
	detail := err.Error()
	if errors.As(err, &ve) && ve.Detail != "" {
		detail = ve.Detail
	}
	switch {
	case errors.Is(err, vault.ErrVaultNotFound):
		return errorf(http.StatusNotFound, "VaultNotFound", "There is no live vault "+quoteID(ve.Name)+".")
	case errors.Is(err, vault.ErrVaultNameTaken):
		return errorf(http.StatusConflict, "VaultAlreadyExists", detail)
	case errors.Is(err, vault.ErrVaultNameInvalid):
		return errorf(http.StatusBadRequest, "VaultNameNotValid", detail)
	case errors.Is(err, vault.ErrBadParameter):
		return errorf(http.StatusBadRequest, "BadExport", detail)
	}
	return a.internal("vault export or import", err, msg)
}
