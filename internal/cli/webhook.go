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
	cmd := &cobra.Command{
		Use:   "webhook",
		Short: "Warnings before a purge: webhook subscriptions (administrator only)",
		Long: `Manage webhook subscriptions through Coffer's admin routes (/admin/webhooks); these
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
	}
	cmd.AddCommand(
		newWebhookCreateCommand(),
		newWebhookListCommand(),
		newWebhookDeleteCommand(),
	)
	return cmd
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

type webhookCreateOptions struct {
	clientOptions
	VaultName  string
	URL        string
	Before     time.Duration
	ReceiverCA string
}

func (o *webhookCreateOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.VaultName, "vault-name", "", "vault whose deletions and purges are reported (required)")
	fs.StringVar(&o.URL, "url", "", "https:// URL of the receiver (required)")
	fs.DurationVar(&o.Before, "before", 72*time.Hour, "warn this long before a deleted object's scheduledPurgeDate (e.g. 72h, 90m)")
	fs.StringVar(&o.ReceiverCA, "receiver-ca", "", "PEM file of the CA to trust for the receiver's certificate (default: the server's system roots)")
	o.clientOptions.AddFlags(fs)
}

func newWebhookCreateCommand() *cobra.Command {
	o := &webhookCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Subscribe a URL to a vault's purge warnings and notices; prints the signing secret once",
		Long: `Subscribe a URL to a vault's purge warnings and notices and print the subscription with
its signing secret: {"id", "vault", "url", "before", "secret", "created"}. This is the
only time the secret is shown; keep it where the receiver can check Coffer-Signature.

--ca is the CA that coffer trusts for the Coffer server, as in every client command; the
CA that the Coffer server trusts for the receiver is --receiver-ca.`,
		Example: `  coffer webhook create --vault-name myvault --url https://hooks.example.com/coffer --before 72h
  coffer webhook create --vault-name myvault --url https://10.0.0.5:8443/in --receiver-ca receiver-ca.pem -o table`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case o.VaultName == "":
				return usageError(errors.New("--vault-name is required"), "coffer webhook create --vault-name V --url https://… --before 72h")
			case o.URL == "":
				return usageError(errors.New("--url is required"), "coffer webhook create --vault-name V --url https://… --before 72h")
			}
			if err := o.validate(); err != nil {
				return err
			}
			in := map[string]string{"vault": o.VaultName, "url": o.URL, "before": o.Before.String()}
			if o.ReceiverCA != "" {
				pem, err := os.ReadFile(o.ReceiverCA)
				if err != nil {
					return usageError(fmt.Errorf("read --receiver-ca: %w", err), "--receiver-ca is a PEM file of the CA that signed the receiver's certificate")
				}
				in["ca"] = string(pem)
			}
			c, err := newClient(&o.clientOptions)
			if err != nil {
				return err
			}
			var w webhookJSON
			if err := c.call(cmd.Context(), http.MethodPost, "/admin/webhooks", in, &w, http.StatusCreated); err != nil {
				return err
			}
			return printOut(cmd.OutOrStdout(), o.Output, w, webhookTable([]webhookJSON{w}, true))
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}

type webhookListOptions struct {
	clientOptions
}

func (o *webhookListOptions) AddFlags(fs *pflag.FlagSet) { o.clientOptions.AddFlags(fs) }

func newWebhookListCommand() *cobra.Command {
	o := &webhookListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the webhook subscriptions (never their secrets)",
		Example: `  coffer webhook list
  coffer webhook list -o table`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			c, err := newClient(&o.clientOptions)
			if err != nil {
				return err
			}
			var out struct {
				Value []webhookJSON `json:"value"`
			}
			if err := c.call(cmd.Context(), http.MethodGet, "/admin/webhooks", nil, &out, http.StatusOK); err != nil {
				return err
			}
			if out.Value == nil {
				out.Value = []webhookJSON{}
			}
			return printOut(cmd.OutOrStdout(), o.Output, out.Value, webhookTable(out.Value, false))
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}

type webhookDeleteOptions struct {
	clientOptions
	ID string
}

func (o *webhookDeleteOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.ID, "id", "", "id of the subscription to delete (required; see coffer webhook list)")
	o.clientOptions.AddFlags(fs)
}

func newWebhookDeleteCommand() *cobra.Command {
	o := &webhookDeleteOptions{}
	cmd := &cobra.Command{
		Use:     "delete",
		Short:   "Delete a webhook subscription; its undelivered events are dropped",
		Example: `  coffer webhook delete --id 5b0f1c2e-7d4a-4c1b-9e3f-2a6d8c0b4e71`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.ID == "" {
				return usageError(errors.New("--id is required"), "coffer webhook list shows the ids")
			}
			if err := o.validate(); err != nil {
				return err
			}
			c, err := newClient(&o.clientOptions)
			if err != nil {
				return err
			}
			return c.call(cmd.Context(), http.MethodDelete, "/admin/webhooks/"+url.PathEscape(o.ID), nil, nil, http.StatusNoContent, http.StatusOK)
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
