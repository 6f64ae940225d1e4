package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/audit"
	"github.com/coffer/coffer/internal/vault"
	"github.com/coffer/coffer/internal/webhook"
)

// The webhook subscription admin routes (interface.md §3): administrator only, checked
// by serveAdmin before these run.
//
//	GET    /admin/webhooks        {"value":[subscription without secret, …]}
//	POST   /admin/webhooks        {"vault","url","before","ca"?} → 201 subscription with its secret
//	DELETE /admin/webhooks/{id}   204

// maxWebhookBody bounds POST /admin/webhooks: a URL and a few CA certificates.
const maxWebhookBody = 256 << 10

// webhookOperation names a webhook route for the audit log and metrics ("" when path is
// not one).
func webhookOperation(method, path string) string {
	switch {
	case path == "/admin/webhooks" && method == http.MethodGet:
		return "WebhookList"
	case path == "/admin/webhooks" && method == http.MethodPost:
		return "WebhookCreate"
	case strings.HasPrefix(path, "/admin/webhooks/") && method == http.MethodDelete:
		return "WebhookDelete"
	}
	return ""
}

// serveWebhooks answers the webhook routes; it reports false when path is not one.
func (s *Server) serveWebhooks(w http.ResponseWriter, r *http.Request, ev *audit.Event, path string) bool {
	if path == "/admin/webhooks" {
		switch r.Method {
		case http.MethodGet:
			s.listWebhooks(w, r)
		case http.MethodPost:
			s.createWebhook(w, r, ev)
		default:
			w.Header().Set("Allow", "GET, POST")
			writeARMError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", `Use GET to list the webhook subscriptions or POST {"vault": "V", "url": "https://…", "before": "72h"} to create one.`)
		}
		return true
	}
	id, ok := strings.CutPrefix(path, "/admin/webhooks/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return false
	}
	if r.Method != http.MethodDelete {
		w.Header().Set("Allow", "DELETE")
		writeARMError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Use DELETE /admin/webhooks/{id} to delete a webhook subscription.")
		return true
	}
	s.deleteWebhook(w, r, ev, id)
	return true
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) {
	subs, err := s.vaults.ListWebhooks(r.Context())
	if err != nil {
		s.log.Error("list webhooks", "err", err)
		writeARMError(w, http.StatusInternalServerError, "InternalError", "The webhook subscriptions could not be read.")
		return
	}
	if subs == nil {
		subs = []webhook.Subscription{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": subs})
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, ev *audit.Event) {
	var in struct {
		Vault  string `json:"vault"`
		URL    string `json:"url"`
		Before string `json:"before"`
		CA     string `json:"ca"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	var before time.Duration
	if err == nil {
		before, err = time.ParseDuration(in.Before)
	}
	if err != nil || in.Vault == "" || in.URL == "" {
		writeARMError(w, http.StatusBadRequest, "BadRequest", `The body must be {"vault": "V", "url": "https://…", "before": "72h", "ca": "PEM (optional)"}; before is a Go duration such as 72h or 90m.`)
		return
	}
	ev.Vault = in.Vault
	if !s.auditRequest(w, r.Context(), *ev) {
		return
	}
	sub, err := s.vaults.CreateWebhook(r.Context(), in.Vault, in.URL, before, in.CA)
	var invalid *webhook.InvalidError
	switch {
	case errors.As(err, &invalid):
		writeARMError(w, http.StatusBadRequest, "BadRequest", "The webhook subscription is invalid: "+invalid.Msg+".")
		return
	case errors.Is(err, vault.ErrVaultNotFound):
		writeARMError(w, http.StatusNotFound, "VaultNotFound", "There is no vault "+quoteID(in.Vault)+", live or deleted.")
		return
	case err != nil:
		s.log.Error("create webhook", "err", err)
		writeARMError(w, http.StatusInternalServerError, "InternalError", "The webhook subscription could not be created.")
		return
	}
	ev.Vault, ev.ObjectID = sub.Vault, "webhooks/"+sub.ID
	s.log.Info("webhook subscription created", "id", sub.ID, "vault", sub.Vault, "url", sub.URL, "before", time.Duration(sub.Before))
	writeJSON(w, http.StatusCreated, sub) // the only answer that carries the secret
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, ev *audit.Event, id string) {
	ev.ObjectID = "webhooks/" + quoteID(id)
	if _, err := uuid.Parse(id); err == nil {
		ev.ObjectID = "webhooks/" + id
	}
	if !s.auditRequest(w, r.Context(), *ev) {
		return
	}
	sub, err := s.vaults.DeleteWebhook(r.Context(), id)
	switch {
	case errors.Is(err, webhook.ErrNotFound):
		writeARMError(w, http.StatusNotFound, "WebhookNotFound", "No webhook subscription has the id "+quoteID(id)+".")
		return
	case err != nil:
		s.log.Error("delete webhook", "err", err)
		writeARMError(w, http.StatusInternalServerError, "InternalError", "The webhook subscription could not be deleted.")
		return
	}
	ev.Vault, ev.ObjectID = sub.Vault, "webhooks/"+sub.ID
	s.log.Info("webhook subscription deleted", "id", sub.ID, "vault", sub.Vault)
	w.WriteHeader(http.StatusNoContent)
}
