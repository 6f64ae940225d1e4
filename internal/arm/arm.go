// Package arm is the Azure Resource Manager surface of Coffer: Microsoft.KeyVault vaults,
// deleted vaults, purge, access policies, name checks, and the few generic ARM endpoints
// (subscriptions, resource groups, /resources) that armkeyvault and the az CLI call. It
// decodes ARM wire JSON, calls the vault domain, and encodes ARM answers; the vault
// lifecycle rules live in vault. It must not import server, azapi or identity.
package arm

import (
	"log/slog"
	"net/http"
	"net/url"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/vault"
)

// Options configure the management plane.
type Options struct {
	Vaults      *vault.Service
	PublicURL   *url.URL // vaultUri and other absolute URLs are built from it
	VaultDomain string
	TenantID    string
	Clock       clock.Clock // the vault clock (ARM dates)
	Log         *slog.Logger
}

// Caller is the authenticated principal of an ARM request.
type Caller struct {
	TenantID, ClientID, ObjectID string
	Admin                        bool
}

// API serves the management plane.
type API struct {
	opts Options
}

// New returns the management plane.
func New(opts Options) *API { return &API{opts: opts} }

// Serve answers one management-plane request; the server has authenticated it.
func (a *API) Serve(w http.ResponseWriter, r *http.Request, c Caller) {
	writeError(w, http.StatusNotFound, "NotFound", "Coffer has no resource or operation at "+r.URL.Path+".")
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("x-ms-error-code", code)
	w.WriteHeader(status)
	w.Write([]byte(`{"error":{"code":"` + code + `","message":` + quote(msg) + `}}`))
}

func quote(s string) string {
	b := []byte{'"'}
	for _, c := range s {
		switch c {
		case '"', '\\':
			b = append(b, '\\', byte(c))
		default:
			b = append(b, string(c)...)
		}
	}
	return string(append(b, '"'))
}
