package server_test

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/testenv"
	"github.com/coffer/coffer/internal/webhook"
)

// hookReceiver is a webhook receiver over HTTPS with its own CA: it answers every POST
// with the status it is set to and keeps what it got.
type hookReceiver struct {
	t      *testing.T
	srv    *httptest.Server
	status atomic.Int32
	notify chan struct{}

	mu   sync.Mutex
	reqs []hookRequest
}

type hookRequest struct {
	status int // what the receiver answered
	header http.Header
	body   []byte
	event  webhook.CloudEvent
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{t: t, notify: make(chan struct{}, 1)}
	r.status.Store(http.StatusOK)
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		hr := hookRequest{status: int(r.status.Load()), header: req.Header.Clone(), body: body}
		if req.Method != http.MethodPost || req.URL.Path != "/hook" {
			hr.status = http.StatusNotFound
		}
		if err := json.Unmarshal(body, &hr.event); err != nil {
			t.Errorf("receiver: body %q: %v", body, err)
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, hr)
		r.mu.Unlock()
		select {
		case r.notify <- struct{}{}:
		default:
		}
		w.WriteHeader(hr.status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// ca is the PEM of the receiver's certificate, for the subscription to trust.
func (r *hookReceiver) ca() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw}))
}

func (r *hookReceiver) url() string { return r.srv.URL + "/hook" }

// all returns what the receiver got so far.
func (r *hookReceiver) all() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

// accepted returns the deliveries the receiver answered 2xx.
func (r *hookReceiver) accepted() []hookRequest {
	var out []hookRequest
	for _, q := range r.all() {
		if q.status < 300 {
			out = append(out, q)
		}
	}
	return out
}

// waitFor waits (bounded) until cond holds for what the receiver got.
func (r *hookReceiver) waitFor(what string, cond func([]hookRequest) bool) []hookRequest {
	r.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if got := r.all(); cond(got) {
			return got
		}
		select {
		case <-r.notify:
		case <-deadline:
			r.t.Fatalf("receiver: timed out waiting for %s; got %s", what, types(r.all()))
		}
	}
}

func types(rs []hookRequest) string {
	var s []string
	for _, q := range rs {
		s = append(s, q.event.Type+"("+q.event.Subject+")="+http.StatusText(q.status))
	}
	return strings.Join(s, ", ")
}

func countAccepted(typ string) func([]hookRequest) bool {
	return func(rs []hookRequest) bool {
		n := 0
		for _, q := range rs {
			if q.status < 300 && q.event.Type == typ {
				n++
			}
		}
		return n > 0
	}
}

// fastWebhooks makes retries and polling quick for a test.
func fastWebhooks(c *server.Config) { c.WebhookRetryBase = 20 * time.Millisecond }

type subscription struct {
	ID      string    `json:"id"`
	Vault   string    `json:"vault"`
	URL     string    `json:"url"`
	Before  string    `json:"before"`
	Secret  string    `json:"secret"`
	CA      string    `json:"ca"`
	Created time.Time `json:"created"`
}

func subscribe(t *testing.T, st *testenv.Stack, vaultName string, r *hookReceiver, before string) subscription {
	t.Helper()
	status, _, b := st.ARM(t, "POST", "/admin/webhooks", map[string]string{"vault": vaultName, "url": r.url(), "before": before, "ca": r.ca()})
	if status != http.StatusCreated {
		t.Fatalf("POST /admin/webhooks: %d %s", status, b)
	}
	var sub subscription
	if err := json.Unmarshal(b, &sub); err != nil || sub.ID == "" || len(sub.Secret) < 40 {
		t.Fatalf("subscription %s: %v", b, err)
	}
	return sub
}

// checkDelivery checks a delivery's headers, signature and CloudEvent envelope.
func checkDelivery(t *testing.T, q hookRequest, sub subscription, typ, subject string) {
	t.Helper()
	if ct := q.header.Get("Content-Type"); ct != "application/cloudevents+json" {
		t.Errorf("Content-Type %q", ct)
	}
	if sig := q.header.Get("Coffer-Signature"); !webhook.Verify(sub.Secret, q.body, sig) || !strings.HasPrefix(sig, "sha256=") {
		t.Errorf("signature %q does not verify", sig)
	}
	if webhook.Verify("another secret", q.body, q.header.Get("Coffer-Signature")) {
		t.Error("the signature verifies under another secret")
	}
	e := q.event
	if e.SpecVersion != "1.0" || e.ID == "" || e.Type != typ || e.Subject != subject || e.Time.IsZero() || e.DataContentType != "application/json" {
		t.Errorf("envelope %+v, want type %s subject %s", e, typ, subject)
	}
	var raw map[string]any
	json.Unmarshal(q.body, &raw)
	for _, k := range []string{"specversion", "id", "source", "type", "subject", "time", "data"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("CloudEvent lacks %s: %s", k, q.body)
		}
	}
}

// outboxLen counts the deliveries waiting in the server's outbox.
func outboxLen(t *testing.T, st *testenv.Stack) int {
	t.Helper()
	return pendingIn(t, server.StoreOf(st.Server))
}

// outboxLenAt counts the outbox of a stopped server's data dir.
func outboxLenAt(t *testing.T, dataDir string) int {
	t.Helper()
	store, err := server.OpenStoreForTest(t.Context(), dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	return pendingIn(t, store)
}

// pendingIn counts the deliveries waiting in store's outbox.
func pendingIn(t *testing.T, store storage.Backend) int {
	t.Helper()
	var n int
	if err := store.View(t.Context(), func(tx storage.Tx) error {
		ds, err := webhook.Pending(tx, 0, 0)
		n = len(ds)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitOutboxEmpty waits (bounded) until the worker has removed every delivery.
func waitOutboxEmpty(t *testing.T, st *testenv.Stack) {
	t.Helper()
	pollUntil(t, 20*time.Second, "the outbox empties", func() bool { return outboxLen(t, st) == 0 },
		func() string { return fmt.Sprintf("it still holds %d deliveries", outboxLen(t, st)) })
}

// TestWebhookWarnsThenPurged: a subscription on the default vault (90 days) with a
// 72-hour window; a deleted secret gets exactly one SecretPurgeImminent, signed, when the
// time shift brings it into the window, then one SecretPurged after the retention; a
// secret recovered meanwhile gets nothing.
func TestWebhookWarnsThenPurged(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{Config: fastWebhooks})
	rcv := newHookReceiver(t)
	sub := subscribe(t, st, "default", rcv, "72h")
	if sub.Vault != "default" || sub.Before != "72h0m0s" || sub.URL != rcv.url() || sub.CA != rcv.ca() {
		t.Fatalf("subscription %+v", sub)
	}

	c := st.Secrets(t, "default")
	setEach(t, c, "v", "doomed", "saved")
	del := deleteSecret(t, c, "doomed")
	lifecycle(t, c, "saved", "delete", "recover")

	// Not yet in the window: nothing.
	st.ShiftTime(t, 86*24*time.Hour)
	sweep(t, st)
	if n := outboxLen(t, st); n != 0 || len(rcv.all()) != 0 {
		t.Fatalf("before the window: outbox %d, receiver %s", n, types(rcv.all()))
	}

	// 88 days: within 72 hours of the purge.
	st.ShiftTime(t, 2*24*time.Hour)
	wantSweep(t, st, someActions, "in the window")
	got := rcv.waitFor("SecretPurgeImminent", countAccepted("Coffer.KeyVault.SecretPurgeImminent"))
	// Sweeping again, later in the window, raises nothing more.
	st.ShiftTime(t, time.Hour)
	wantSweep(t, st, 0, "later in the window")
	if n := outboxLen(t, st); n != 0 {
		t.Fatalf("outbox holds %d after the delivery", n)
	}
	if got = rcv.all(); len(got) != 1 {
		t.Fatalf("want exactly one delivery, got %s", types(got))
	}
	w := got[0]
	checkDelivery(t, w, sub, "Coffer.KeyVault.SecretPurgeImminent", "doomed")
	wantSource := "/subscriptions/" + testenv.DefaultSubscription + "/resourceGroups/coffer/providers/Microsoft.KeyVault/vaults/default"
	d := w.event.Data
	if w.event.Source != wantSource || d.VaultName != "default" || d.ObjectName != "doomed" || d.ObjectType != "Secret" ||
		!d.DeletedDate.Equal(*del.DeletedDate) || !d.ScheduledPurgeDate.Equal(*del.ScheduledPurgeDate) ||
		d.RecoveryID != *del.RecoveryID || d.ID != st.Server.VaultURL("default")+"secrets/doomed" {
		t.Errorf("warning %s\nwant source %s, recoveryId %s", w.body, wantSource, *del.RecoveryID)
	}
	if w.header.Get("Coffer-Webhook-Id") != sub.ID {
		t.Errorf("Coffer-Webhook-Id %q", w.header.Get("Coffer-Webhook-Id"))
	}

	// Past the retention: the sweeper purges it and says so.
	st.ShiftTime(t, 3*24*time.Hour)
	wantSweep(t, st, someActions, "past the retention")
	rcv.waitFor("SecretPurged", countAccepted("Coffer.KeyVault.SecretPurged"))
	waitOutboxEmpty(t, st) // the worker has recorded the answer
	got = rcv.all()
	if len(got) != 2 {
		t.Fatalf("want the warning and the purge, got %s", types(got))
	}
	p := got[1]
	checkDelivery(t, p, sub, "Coffer.KeyVault.SecretPurged", "doomed")
	if p.event.ID == w.event.ID || !p.event.Data.ScheduledPurgeDate.Equal(*del.ScheduledPurgeDate) || p.event.Source != wantSource {
		t.Errorf("purge notice %s", p.body)
	}
	for _, q := range got {
		if q.event.Subject == "saved" {
			t.Errorf("the recovered secret got %s", q.event.Type)
		}
	}
	m := scrape(t, st)
	if m[`coffer_webhook_deliveries_total{result="success"}`] != 2 || m["coffer_webhook_failures_total"] != 0 {
		t.Errorf("webhook metrics: success %v, failures %v", m[`coffer_webhook_deliveries_total{result="success"}`], m["coffer_webhook_failures_total"])
	}

	// A purge by hand is reported too.
	lifecycle(t, c, "saved", "delete", "purge")
	got = rcv.waitFor("SecretPurged of saved", func(rs []hookRequest) bool { return len(rs) == 3 })
	checkDelivery(t, got[2], sub, "Coffer.KeyVault.SecretPurged", "saved")

	// The secret never reaches the audit log.
	st.Stop()
	if path := st.Server.AuditLogPath(); path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), sub.Secret) {
			t.Error("the audit log holds the webhook secret")
		}
	}
}

// TestWebhookRetryAndRestart: a vault of 7 days' retention made through ARM; the
// receiver is down (503), so the warning is retried with the same id and signature until
// it comes back; then the purge notice is still undelivered when Coffer stops, and the
// restarted server delivers it.
func TestWebhookRetryAndRestart(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{Config: fastWebhooks})
	createHookedVault(t, st, "hooked", 7)
	rcv := newHookReceiver(t)
	sub := subscribe(t, st, "hooked", rcv, "72h")
	rcv.status.Store(http.StatusServiceUnavailable)

	c := st.Secrets(t, "hooked")
	setValue(t, c, "s", "v")
	deleteSecret(t, c, "s")
	st.ShiftTime(t, 5*24*time.Hour)
	wantSweep(t, st, someActions, "2 days before the purge")
	failed := rcv.waitFor("three failed attempts", func(rs []hookRequest) bool { return len(rs) >= 3 })
	for _, q := range failed {
		if q.event.ID != failed[0].event.ID || q.status != http.StatusServiceUnavailable {
			t.Fatalf("retries differ: %s", types(failed))
		}
		checkDelivery(t, q, sub, "Coffer.KeyVault.SecretPurgeImminent", "s")
	}
	rcv.status.Store(http.StatusOK)
	got := rcv.waitFor("the warning accepted", countAccepted("Coffer.KeyVault.SecretPurgeImminent"))
	waitOutboxEmpty(t, st) // the worker has recorded the answer
	if m := scrape(t, st); m["coffer_webhook_failures_total"] < 3 || m[`coffer_webhook_deliveries_total{result="failure"}`] < 3 ||
		m[`coffer_webhook_deliveries_total{result="success"}`] != 1 {
		t.Errorf("webhook metrics: failures %v, success %v", m["coffer_webhook_failures_total"], m[`coffer_webhook_deliveries_total{result="success"}`])
	}
	if a := rcv.accepted(); len(a) != 1 || a[0].event.ID != failed[0].event.ID {
		t.Fatalf("accepted %s", types(got))
	}
	if q := rcv.accepted()[0]; q.header.Get("Coffer-Delivery-Attempt") == "1" {
		t.Errorf("the accepted delivery says attempt 1")
	}

	// The purge notice: undelivered when Coffer stops, delivered after the restart.
	rcv.status.Store(http.StatusServiceUnavailable)
	st.ShiftTime(t, 3*24*time.Hour)
	wantSweep(t, st, someActions, "past the retention")
	rcv.waitFor("a failed purge notice", func(rs []hookRequest) bool {
		return slices.ContainsFunc(rs, func(q hookRequest) bool { return q.event.Type == "Coffer.KeyVault.SecretPurged" })
	})
	st.Stop()
	if n := outboxLenAt(t, st.DataDir); n != 1 {
		t.Fatalf("outbox holds %d after the stop, want the purge notice", n)
	}
	rcv.status.Store(http.StatusOK)
	st2 := testenv.NewStack(t, testenv.Options{DataDir: st.DataDir, Config: fastWebhooks})
	rcv.waitFor("the purge notice after the restart", countAccepted("Coffer.KeyVault.SecretPurged"))
	a := rcv.accepted()
	if len(a) != 2 || a[1].event.Type != "Coffer.KeyVault.SecretPurged" {
		t.Fatalf("accepted %s", types(a))
	}
	checkDelivery(t, a[1], sub, "Coffer.KeyVault.SecretPurged", "s")
	waitOutboxEmpty(t, st2)
}

// TestWebhookVaultEvents: a deleted vault gets VaultPurgeImminent, and when it is purged
// by hand, the deleted secret in it gets its SecretPurged beside the VaultPurged; a
// subscription made after a secret was deleted still warns about it.
func TestWebhookVaultEvents(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{Config: fastWebhooks})
	createHookedVault(t, st, "gone", 7)
	c := st.Secrets(t, "gone")
	setValue(t, c, "inside", "v")
	deleteSecret(t, c, "inside")
	st.ShiftTime(t, 24*time.Hour)
	rcv := newHookReceiver(t)
	sub := subscribe(t, st, "gone", rcv, "144h") // made after the delete: 6 days before the purge is now
	if status, _, b := st.ARM(t, "DELETE", armVaultPath("gone"), nil); status != 200 {
		t.Fatalf("delete vault: %d %s", status, b)
	}
	wantSweep(t, st, someActions, "the vault deleted")
	st.ShiftTime(t, 24*time.Hour) // the vault's window opens one day after its deletion
	sweep(t, st)
	rcv.waitFor("both warnings", func(rs []hookRequest) bool { return len(rs) == 2 })
	status, _, b := st.ARM(t, "POST", armPurgePath("gone"), nil)
	if status != 202 && status != 200 {
		t.Fatalf("purge vault: %d %s", status, b)
	}
	got := rcv.waitFor("both purge notices", func(rs []hookRequest) bool { return len(rs) == 4 })
	// Deliveries run in parallel: their order is not the events' order.
	want := []string{"Coffer.KeyVault.SecretPurgeImminent(inside)", "Coffer.KeyVault.SecretPurged(inside)", "Coffer.KeyVault.VaultPurgeImminent(gone)", "Coffer.KeyVault.VaultPurged(gone)"}
	var have []string
	var vaultPurged hookRequest
	for _, q := range got {
		have = append(have, q.event.Type+"("+q.event.Subject+")")
		checkDelivery(t, q, sub, q.event.Type, q.event.Subject)
		if q.event.Type == "Coffer.KeyVault.VaultPurged" {
			vaultPurged = q
		}
	}
	slices.Sort(have)
	if strings.Join(have, " ") != strings.Join(want, " ") {
		t.Fatalf("events %v\nwant %v", have, want)
	}
	v := vaultPurged.event.Data
	if v.ObjectType != "Vault" || v.VaultName != "gone" || v.ID != vaultPurged.event.Source ||
		v.RecoveryID != "/subscriptions/"+armSub+"/providers/Microsoft.KeyVault/locations/westus/deletedVaults/gone" ||
		v.ScheduledPurgeDate.Sub(v.DeletedDate) != 7*24*time.Hour {
		t.Errorf("vault purge notice %s", vaultPurged.body)
	}
	sweep(t, st) // the stale warn and purge entries go quietly
	waitOutboxEmpty(t, st)
	if n := len(rcv.all()); n != 4 {
		t.Fatalf("%d deliveries after the last sweep", n)
	}
}

// TestWebhookAdminRoutes: list, create and delete, administrator only, with the secret
// shown once; bad input is refused with a message.
func TestWebhookAdminRoutes(t *testing.T) {
	st := testenv.NewStack(t)
	rcv := newHookReceiver(t)
	if status, _, _ := st.Request(t, "GET", "/admin/webhooks", "", nil); status != 401 {
		t.Fatalf("no token: %d", status)
	}
	sub := subscribe(t, st, "DEFAULT", rcv, "90m")
	if sub.Vault != "default" || sub.Before != "1h30m0s" {
		t.Fatalf("created %+v", sub)
	}
	status, _, b := st.ARM(t, "GET", "/admin/webhooks", nil)
	if status != 200 || strings.Contains(string(b), sub.Secret) || !strings.Contains(string(b), sub.ID) || strings.Contains(string(b), `"secret"`) {
		t.Fatalf("list: %d %s", status, b)
	}
	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"fail/http-url", map[string]string{"vault": "default", "url": "http://127.0.0.1/hook", "before": "72h"}, 400, "https"},
		{"fail/bad-duration", map[string]string{"vault": "default", "url": rcv.url(), "before": "3 days"}, 400, "Go duration"},
		{"fail/zero-before", map[string]string{"vault": "default", "url": rcv.url(), "before": "0s"}, 400, "before must be"},
		{"fail/too-long-before", map[string]string{"vault": "default", "url": rcv.url(), "before": "2400h"}, 400, "before must be"},
		{"fail/bad-ca", map[string]string{"vault": "default", "url": rcv.url(), "before": "72h", "ca": "not a pem"}, 400, "PEM"},
		{"fail/no-vault", map[string]string{"vault": "nosuchvault", "url": rcv.url(), "before": "72h"}, 404, "VaultNotFound"},
		{"fail/not-json", "{", 400, "BadRequest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, b := st.ARM(t, "POST", "/admin/webhooks", tc.body)
			if status != tc.status || !strings.Contains(string(b), tc.code) {
				t.Fatalf("%d %s, want %d with %q", status, b, tc.status, tc.code)
			}
		})
	}
	if status, _, _ := st.ARM(t, "PUT", "/admin/webhooks", nil); status != 405 {
		t.Fatalf("PUT: %d", status)
	}
	if status, _, _ := st.ARM(t, "GET", "/admin/webhooks/"+sub.ID, nil); status != 405 {
		t.Fatalf("GET one: %d", status)
	}
	// Another principal is refused.
	tok := token(t, testenv.Credential(t, newPrincipal(t, st, "other"), st.HTTP), armScope)
	if status, _, b := st.Request(t, "DELETE", "/admin/webhooks/"+sub.ID, "Bearer "+tok, nil); status != 403 {
		t.Fatalf("another principal deletes: %d %s", status, b)
	}
	if status, _, b := st.ARM(t, "DELETE", "/admin/webhooks/"+sub.ID, nil); status != 204 {
		t.Fatalf("delete: %d %s", status, b)
	}
	if status, _, b := st.ARM(t, "DELETE", "/admin/webhooks/"+sub.ID, nil); status != 404 || !strings.Contains(string(b), "WebhookNotFound") {
		t.Fatalf("delete again: %d %s", status, b)
	}
	if _, _, b := st.ARM(t, "GET", "/admin/webhooks", nil); string(b) != `{"value":[]}` {
		t.Fatalf("list after delete: %s", b)
	}
}

// createHookedVault makes a vault through ARM with the given retention.
func createHookedVault(t *testing.T, st *testenv.Stack, name string, retentionDays int) {
	t.Helper()
	body := armVaultBody(st)
	body["properties"].(map[string]any)["softDeleteRetentionInDays"] = retentionDays
	if status, _, b := st.ARM(t, "PUT", armVaultPath(name), body); status != 200 && status != 201 {
		t.Fatalf("create vault %s: %d %s", name, status, b)
	}
}
