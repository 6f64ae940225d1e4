package admin

import (
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/vault"
	"github.com/coffer/coffer/internal/webhook"
)

// The purge-warning webhook subscriptions:
//
//	GET    /admin/webhooks        {"value":[subscription without secret, …]}
//	POST   /admin/webhooks        {"vault","url","before","ca"?} → 201 subscription with its secret
//	DELETE /admin/webhooks/{id}   204

// maxWebhookBody bounds POST /admin/webhooks: a URL and a few CA certificates.
const maxWebhookBody = 256 << 10

func (a *Admin) listWebhooks(w http.ResponseWriter, r *http.Request, _ *plane.Call, _ string) error {
	subs, err := a.opts.Vaults.ListWebhooks(r.Context())
	if err != nil {
		return a.internal("list webhooks", err, "The webhook subscriptions could not be read.")
	}
	if subs == nil {
		subs = []webhook.Subscription{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"value": subs})
}

func (a *Admin) createWebhook(w http.ResponseWriter, r *http.Request, c *plane.Call, _ string) error {
	var in struct {
		Vault  string `json:"vault"`
		URL    string `json:"url"`
		Before string `json:"before"`
		CA     string `json:"ca"`
	}
	err := readJSON(w, r, maxWebhookBody, &in, false)
	var before time.Duration
	if err == nil {
		before, err = time.ParseDuration(in.Before)
	}
	if err != nil || in.Vault == "" || in.URL == "" {
		return badBody(err, `The body must be {"vault": "V", "url": "https://…", "before": "72h", "ca": "PEM (optional)"}; before is a Go duration such as 72h or 90m.`)
	}
	c.Event.Vault = in.Vault
	if err := c.BeforeChange(r.Context()); err != nil {
		return err
	}
	sub, err := a.opts.Vaults.CreateWebhook(r.Context(), in.Vault, in.URL, before, in.CA)
	var invalid *webhook.InvalidError
	switch {
	case errors.As(err, &invalid):
		return errorf(http.StatusBadRequest, "BadRequest", "The webhook subscription is invalid: "+invalid.Msg+".")
	case errors.Is(err, vault.ErrVaultNotFound):
		return errorf(http.StatusNotFound, "VaultNotFound", "There is no vault "+quoteID(in.Vault)+", live or deleted.")
	case err != nil:
		return a.internal("create webhook", err, "The webhook subscription could not be created.")
	}
	c.Event.Vault, c.Event.ObjectID = sub.Vault, "webhooks/"+sub.ID
	a.opts.Log.Info("webhook subscription created", "id", sub.ID, "vault", sub.Vault, "url", sub.URL, "before", time.Duration(sub.Before))
	return writeJSON(w, http.StatusCreated, sub) // the only answer that carries the secret
}

func (a *Admin) deleteWebhook(w http.ResponseWriter, r *http.Request, c *plane.Call, id string) error {
	c.Event.ObjectID = "webhooks/" + quoteID(id)
	if _, err := uuid.Parse(id); err == nil {
		c.Event.ObjectID = "webhooks/" + id
	}
	if err := c.BeforeChange(r.Context()); err != nil {
		return err
	}
	sub, err := a.opts.Vaults.DeleteWebhook(r.Context(), id)
	switch {
	case errors.Is(err, webhook.ErrNotFound):
		return errorf(http.StatusNotFound, "WebhookNotFound", "No webhook subscription has the id "+quoteID(id)+".")
	case err != nil:
		return a.internal("delete webhook", err, "The webhook subscription could not be deleted.")
	}
	c.Event.Vault, c.Event.ObjectID = sub.Vault, "webhooks/"+sub.ID
	a.opts.Log.Info("webhook subscription deleted", "id", sub.ID, "vault", sub.Vault)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
