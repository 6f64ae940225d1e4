package cli

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// webhookJSON is a webhook subscription as the admin routes answer it; Secret only in
// the answer to its creation.
type webhookJSON struct {
	ID      string `json:"id"`
	Vault   string `json:"vault"`
	URL     string `json:"url"`
	Before  string `json:"before"`
	Secret  string `json:"secret,omitempty"`
	CA      string `json:"ca,omitempty"`
	Created string `json:"created"`
}

func newWebhookCommand() *cobra.Command {
	return newGroup("webhook", cmdHelp{
		short: "Warnings before a purge: webhook subscriptions (administrator only)",
		long: `Manage webhook subscriptions through Coffer's admin routes (/admin/webhooks); these
commands need the administrator's credentials.

A subscription names a vault, an https:// URL and a window (--before). Coffer POSTs a
CloudEvents 1.0 JSON event (Content-Type: application/cloudevents+json) to the URL when a
deleted secret, key or certificate of the vault — or the deleted vault itself — comes
within the window of its scheduledPurgeDate (type Coffer.KeyVault.SecretPurgeImminent,
…KeyPurgeImminent, …CertificatePurgeImminent, …VaultPurgeImminent), and when it is
purged, by hand, by the retention or with its vault (…SecretPurged, …VaultPurged, …).
A recovered object gets no warning.

Each request carries Coffer-Signature: sha256=HEX, the HMAC-SHA256 of the body keyed by
the subscription's secret, which webhook create prints once. Delivery is at least once:
failures are retried with exponential backoff (up to 5 minutes apart), also across
restarts; a receiver drops repeats by the event's id.`,
	}, newWebhookCreateCommand(), newWebhookListCommand(), newWebhookDeleteCommand())
}

func webhookTable(ws []webhookJSON, secret bool) func() table {
	return func() table {
		t := table{header: []string{"Id", "Vault", "Url", "Before", "Created"}}
		if secret {
			t.header = append(t.header, "Secret")
		}
		for _, w := range ws {
			row := []string{w.ID, w.Vault, w.URL, w.Before, w.Created}
			if secret {
				row = append(row, w.Secret)
			}
			t.rows = append(t.rows, row)
		}
		return t
	}
}

func newWebhookCreateCommand() *cobra.Command {
	opts, vault, receiverURL, receiverCA := &clientOptions{}, "", "", ""
	var before time.Duration
	var in map[string]string
	return newClientCommand(cmdSpec{
		use: "create", opts: opts,
		help: cmdHelp{
			short: "Subscribe a URL to a vault's purge warnings and notices; prints the signing secret once",
			long: `Subscribe a URL to a vault's purge warnings and notices and print the subscription with
its signing secret: {"id", "vault", "url", "before", "secret", "created"}. This is the
only time the secret is shown; keep it where the receiver can check Coffer-Signature.

--ca is the CA that coffer trusts for the Coffer server, as in every client command; the
CA that the Coffer server trusts for the receiver is --receiver-ca.`,
			example: `  coffer webhook create --vault-name myvault --url https://hooks.example.com/coffer --before 72h
  coffer webhook create --vault-name myvault --url https://10.0.0.5:8443/in --receiver-ca receiver-ca.pem -o table`,
		},
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&vault, "vault-name", "", "vault whose deletions and purges are reported (required)")
			fs.StringVar(&receiverURL, "url", "", "https:// URL of the receiver (required)")
			fs.DurationVar(&before, "before", 72*time.Hour, "warn this long before a deleted object's scheduledPurgeDate (e.g. 72h, 90m)")
			fs.StringVar(&receiverCA, "receiver-ca", "", "PEM file of the CA to trust for the receiver's certificate (default: the server's system roots)")
		},
		require: func([]string) error {
			switch {
			case vault == "":
				return usageError(errors.New("--vault-name is required"), "coffer webhook create --vault-name V --url https://… --before 72h")
			case receiverURL == "":
				return usageError(errors.New("--url is required"), "coffer webhook create --vault-name V --url https://… --before 72h")
			}
			return nil
		},
		check: func(*cobra.Command) error {
			in = map[string]string{"vault": vault, "url": receiverURL, "before": before.String()}
			if receiverCA != "" {
				pem, err := os.ReadFile(receiverCA)
				if err != nil {
					return usageError(fmt.Errorf("read --receiver-ca: %w", err), "--receiver-ca is a PEM file of the CA that signed the receiver's certificate")
				}
				in["ca"] = string(pem)
			}
			return nil
		},
		run: func(cmd *cobra.Command, c *client) error {
			var w webhookJSON
			if err := c.call(cmd.Context(), http.MethodPost, "/admin/webhooks", in, &w, http.StatusCreated); err != nil {
				return err
			}
			return printOut(cmd.OutOrStdout(), opts.Output, w, webhookTable([]webhookJSON{w}, true))
		},
	})
}

func newWebhookListCommand() *cobra.Command {
	return newAdminListCommand(noArgs, cmdHelp{
		short: "List the webhook subscriptions (never their secrets)",
		example: `  coffer webhook list
  coffer webhook list -o table`,
	}, "/admin/webhooks", func(ws []webhookJSON) func() table { return webhookTable(ws, false) })
}

func newWebhookDeleteCommand() *cobra.Command {
	id := ""
	return newClientCommand(cmdSpec{
		use: "delete", opts: &clientOptions{},
		help: cmdHelp{
			short:   "Delete a webhook subscription; its undelivered events are dropped",
			example: `  coffer webhook delete --id 5b0f1c2e-7d4a-4c1b-9e3f-2a6d8c0b4e71`,
		},
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&id, "id", "", "id of the subscription to delete (required; see coffer webhook list)")
		},
		require: func([]string) error {
			if id == "" {
				return usageError(errors.New("--id is required"), "coffer webhook list shows the ids")
			}
			return nil
		},
		run: func(cmd *cobra.Command, c *client) error {
			return c.call(cmd.Context(), http.MethodDelete, "/admin/webhooks/"+url.PathEscape(id), nil, nil, http.StatusNoContent, http.StatusOK)
		},
	})
}
