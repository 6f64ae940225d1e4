package azapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/vault"
)

// Body caps (docs/limits.md): a 25,600-byte value written entirely as \u00XX escapes
// is 150 KiB on its own; restore admits every blob our backup produces.
const (
	maxSecretBody  = 512 << 10
	maxRestoreBody = 4 << 20
)

// secretShape says which SecretBundle shape to render.
type secretShape int

const (
	withValue    secretShape = iota // set, get
	withoutValue                    // update, recover, restore
	deleted                         // delete, get deleted
	listItem                        // list: version-less id
	versionItem                     // list versions: versioned id
	deletedItem                     // list deleted: version-less id
)

func (a *API) renderSecret(r *request, s vault.Secret, shape secretShape) wireSecret {
	days := s.Vault.RetentionDays
	out := wireSecret{
		ID:          r.url("/secrets/" + s.Object.Name + "/" + s.ID),
		ContentType: s.ContentType,
		Tags:        s.Tags,
		Attributes: wireAttributes{
			Enabled:   &s.Enabled,
			NotBefore: unix(s.NotBefore),
			Expires:   unix(s.Expires),
			Created:   unix(s.Created),
			Updated:   unix(s.Updated),
		},
	}
	if s.Object.Managed {
		out.Managed = &s.Object.Managed
		if shape != listItem && shape != deletedItem {
			out.Kid = r.url("/keys/" + s.Object.Name + "/" + s.ID)
		}
	}
	out.Attributes.RecoveryLevel = s.Vault.RecoveryLevel()
	out.Attributes.RecoverableDays = &days
	switch shape {
	case withValue:
		v := s.Value
		out.Value = &v
	case listItem, deletedItem:
		out.ID = r.url("/secrets/" + s.Object.Name)
	}
	if shape == deleted || shape == deletedItem {
		out.RecoveryID = r.url("/deletedsecrets/" + s.Object.Name)
		out.DeletedDate = unix(s.Object.DeletedDate)
		out.ScheduledPurgeDate = unix(s.Object.ScheduledPurgeDate)
	}
	return out
}

func timePtr(u *int64) *time.Time {
	if u == nil {
		return nil
	}
	t := time.Unix(*u, 0).UTC()
	return &t
}

func (a *API) setSecret(w http.ResponseWriter, r *request) (int, error) {
	var in wireSecretSet
	if err := decodeBody(r, maxSecretBody, &in); err != nil {
		return 0, err
	}
	if in.Value == nil {
		return 0, badParameter("The request body must have a 'value' property holding the secret value.")
	}
	p := vault.SecretParams{Value: *in.Value, Tags: in.Tags}
	if in.ContentType != nil {
		p.ContentType = *in.ContentType
	}
	if at := in.Attributes; at != nil {
		p.Enabled, p.NotBefore, p.Expires = at.Enabled, timePtr(at.NotBefore), timePtr(at.Expires)
	}
	s, err := r.vaults.SetSecret(ctx(r), r.vault, r.param("name"), p)
	if err != nil {
		return 0, err
	}
	return ok(w, a.renderSecret(r, s, withValue))
}

func (a *API) getSecret(w http.ResponseWriter, r *request) (int, error) {
	s, err := r.vaults.GetSecret(ctx(r), r.vault, r.param("name"), r.param("version"))
	if err != nil {
		return 0, err
	}
	// A pointer, the commonest answer's: the encoder copies a struct it is given by
	// value into a new one of its own first (same bytes either way).
	ws := a.renderSecret(r, s, withValue)
	return ok(w, &ws)
}

func (a *API) updateSecret(w http.ResponseWriter, r *request) (int, error) {
	var in wireSecretUpdate
	if err := decodeBody(r, maxSecretBody, &in); err != nil {
		return 0, err
	}
	u := vault.SecretUpdate{ContentType: in.ContentType, Tags: in.Tags}
	if at := in.Attributes; at != nil {
		u.Enabled, u.NotBefore, u.Expires = at.Enabled, timePtr(at.NotBefore), timePtr(at.Expires)
	}
	s, err := r.vaults.UpdateSecret(ctx(r), r.vault, r.param("name"), r.param("version"), u)
	if err != nil {
		return 0, err
	}
	return ok(w, a.renderSecret(r, s, withoutValue))
}

func (a *API) listSecrets(w http.ResponseWriter, r *request) (int, error) {
	return a.listSecretPage(w, r, listItem, r.vaults.Secrets().List)
}

func (a *API) listDeletedSecrets(w http.ResponseWriter, r *request) (int, error) {
	return a.listSecretPage(w, r, deletedItem, r.vaults.Secrets().ListDeleted)
}

func (a *API) listSecretVersions(w http.ResponseWriter, r *request) (int, error) {
	name := r.param("name")
	return a.listSecretPage(w, r, versionItem, func(c ctxT, v, after string, limit int) ([]vault.Secret, string, error) {
		return r.vaults.Secrets().ListVersions(c, v, name, after, limit)
	})
}

func (a *API) listSecretPage(w http.ResponseWriter, r *request, shape secretShape, list func(c ctxT, v, after string, limit int) ([]vault.Secret, string, error)) (int, error) {
	return listed(w, r, list, func(s vault.Secret) (wireSecret, bool) { return a.renderSecret(r, s, shape), true })
}

func (a *API) deleteSecret(w http.ResponseWriter, r *request) (int, error) {
	return named(w, r, r.vaults.Secrets().Delete, func(s vault.Secret) any { return a.renderSecret(r, s, deleted) })
}

func (a *API) getDeletedSecret(w http.ResponseWriter, r *request) (int, error) {
	return named(w, r, r.vaults.Secrets().GetDeleted, func(s vault.Secret) any { return a.renderSecret(r, s, deleted) })
}

func (a *API) recoverSecret(w http.ResponseWriter, r *request) (int, error) {
	return named(w, r, r.vaults.Secrets().Recover, func(s vault.Secret) any { return a.renderSecret(r, s, withoutValue) })
}

func (a *API) purgeSecret(w http.ResponseWriter, r *request) (int, error) {
	return purged(w, r, r.vaults.Secrets().Purge)
}

func (a *API) backupSecret(w http.ResponseWriter, r *request) (int, error) {
	return backedUp(w, r, r.vaults.Secrets().Backup)
}

func (a *API) restoreSecret(w http.ResponseWriter, r *request) (int, error) {
	return restored(w, r, r.vaults.Secrets().Restore, func(s vault.Secret) any { return a.renderSecret(r, s, withoutValue) })
}

// decodeB64URL is lenient on input: padded or not.
func decodeB64URL(s string) ([]byte, error) { return b64url.DecodeString(strings.TrimRight(s, "=")) }

func ok(w http.ResponseWriter, v any) (int, error) {
	writeJSON(w, http.StatusOK, v)
	return http.StatusOK, nil
}
