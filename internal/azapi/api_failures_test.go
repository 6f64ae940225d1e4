package azapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/storage"
)

// mutations are changes of every kind, each on an object that exists (see prepare), so
// that each would succeed if it were let through.
var mutations = []struct{ method, path, op string }{
	{"PUT", "/secrets/s1", "SetSecret"},
	{"PATCH", "/secrets/s1", "UpdateSecret"},
	{"DELETE", "/secrets/s1", "DeleteSecret"},
	{"POST", "/keys/k2/create", "CreateKey"},
	{"POST", "/keys/k1/rotate", "RotateKey"},
	{"DELETE", "/keys/k1", "DeleteKey"},
	{"PUT", "/certificates/contacts", "SetCertificateContacts"},
	{"POST", "/certificates/c2/create", "CreateCertificate"},
}

// mutationBody carries what any of the mutations needs.
var mutationBody = map[string]any{"value": "hunter2-new-value", "kty": "EC", "contentType": "changed",
	"contacts": []map[string]string{{"name": "x"}}, "policy": ecPolicy("CN=c2", "Self")}

// prepare makes the objects the mutations act on and returns how the vault looks.
func (e *env) prepare(t *testing.T) string {
	t.Helper()
	e.must(t, 200, admin, "PUT", "/secrets/s1", map[string]any{"value": "v1"})
	e.must(t, 200, admin, "POST", "/keys/k1/create", map[string]any{"kty": "EC"})
	return e.snapshot(t)
}

// snapshot is what an administrator reads of the vault.
func (e *env) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{"/secrets", "/secrets/s1", "/secrets/s1/versions", "/keys", "/keys/k1/versions", "/certificates", "/certificates/contacts"} {
		rec := e.do(t, admin, "GET", p, nil)
		fmt.Fprintf(&b, "%s %d %s\n", p, rec.Code, rec.Body)
	}
	return b.String()
}

// TestAuditFailsClosed: when the audit log cannot take a mutation's request record, the
// mutation is refused with 503 and nothing changes; the outcome is still offered to the
// audit log. Reads, which have no request record, go on.
func TestAuditFailsClosed(t *testing.T) {
	for _, m := range mutations {
		t.Run(m.op, func(t *testing.T) {
			e := newEnv(t)
			before := e.prepare(t)
			e.sink.refuse = "request"
			n := len(e.sink.Events())
			rec := e.do(t, admin, m.method, m.path, mutationBody)
			wantErr(t, rec, apiErr{503, "ServiceUnavailable", "", []string{"The audit log cannot be written, so no change is allowed; nothing was changed."}})
			evs := e.sink.Events()[n:]
			if len(evs) != 1 || evs[0].Phase != "outcome" || evs[0].Status != 503 || evs[0].Operation != m.op || evs[0].Decision != "allowed: administrator" {
				t.Errorf("audit records %+v", evs)
			}
			if !strings.Contains(e.log.String(), "audit request record failed; refusing the change") {
				t.Errorf("log: %s", e.log)
			}
			if after := e.snapshot(t); after != before {
				t.Errorf("the vault changed:\n%s\nwas\n%s", after, before)
			}
		})
	}
}

// TestAuditRecordsBothPhases: a mutation is recorded before and after, with one request id.
func TestAuditRecordsBothPhases(t *testing.T) {
	e := newEnv(t)
	rec := e.do(t, admin, "PUT", "/secrets/s1", map[string]any{"value": "v"})
	evs := e.sink.Events()
	if rec.Code != 200 || len(evs) != 2 {
		t.Fatalf("%d, %d records", rec.Code, len(evs))
	}
	id := rec.Header().Get("X-Ms-Request-Id")
	for i, phase := range []string{"request", "outcome"} {
		ev := evs[i]
		if ev.Phase != phase || ev.RequestID != id || ev.Operation != "SetSecret" || ev.ObjectID != "secrets/s1" || ev.Vault != "az" ||
			ev.Principal.ObjectID != "admin-oid" || ev.Decision != "allowed: administrator" || ev.Time != start {
			t.Errorf("%s record %+v", phase, ev)
		}
	}
	if evs[0].Status != 0 || evs[1].Status != 200 {
		t.Errorf("statuses %d, %d", evs[0].Status, evs[1].Status)
	}
	// A failed outcome record is logged; the answer stands.
	e.sink.refuse = "outcome"
	e.must(t, 200, admin, "GET", "/secrets/s1", nil)
	if !strings.Contains(e.log.String(), "audit outcome record failed") {
		t.Errorf("log: %s", e.log)
	}
}

// TestDeletionLedgerNamesTheCaller: a delete is entered in the deletion ledger against
// the caller's object id (its client id when the token has none) and the request id.
func TestDeletionLedgerNamesTheCaller(t *testing.T) {
	appOnly := client{"az", plane.Principal{ClientID: "app-only", Admin: true}}
	for _, tc := range []struct {
		c                   client
		principal, clientID string
	}{
		{admin, "admin-oid", ""},
		{appOnly, "app-only", "app-only"},
		{reader, "reader-oid", "reader-app"},
	} {
		t.Run(tc.principal, func(t *testing.T) {
			e := newEnv(t)
			e.must(t, 200, admin, "POST", "/keys/k1/create", map[string]any{"kty": "oct"})
			rec := e.do(t, tc.c, "DELETE", "/keys/k1", nil)
			if rec.Code != 200 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			entries, _, err := e.svc.LedgerEntries(t.Context(), ledger.Filter{Vault: "az"})
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Fatalf("ledger %+v", entries)
			}
			got := entries[0]
			if got.Action != ledger.ActionDelete || got.Kind != "key" || got.Name != "k1" || got.Principal != tc.principal ||
				got.ClientID != tc.clientID || got.RequestID != rec.Header().Get("X-Ms-Request-Id") {
				t.Errorf("ledger entry %+v", got)
			}
		})
	}
}

// TestStorageFailures: a busy store or a full disk is a 503 with Retry-After, anything
// else a 500 that names the request id; in every case nothing changed.
func TestStorageFailures(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		want       apiErr
		retryAfter string
		logged     bool
	}{
		{"busy", fmt.Errorf("bbolt: %w", storage.ErrBusy), apiErr{503, "ServiceUnavailable", "", []string{"The vault is busy with conflicting changes; nothing was changed. Retry the request."}}, "1", false},
		{"disk-full", fmt.Errorf("bbolt: commit: %w: %w", storage.ErrUnavailable, syscall.ENOSPC), apiErr{503, "ServiceUnavailable", "", []string{"The vault's storage cannot take this request for now; nothing was changed. Retry the request later."}}, "5", false},
		{"broken", errors.New("disk on fire"), apiErr{500, "InternalError", "", []string{"The server failed to carry out the request; nothing was changed. Request id "}}, "", true},
	} {
		for _, m := range mutations {
			t.Run(tc.name+"/"+m.op, func(t *testing.T) {
				e := newEnv(t)
				before := e.prepare(t)
				e.store.updateErr = tc.err
				rec := e.do(t, admin, m.method, m.path, mutationBody)
				e.store.updateErr = nil
				wantErr(t, rec, tc.want)
				id := rec.Header().Get("X-Ms-Request-Id")
				if got := rec.Header().Get("Retry-After"); got != tc.retryAfter {
					t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
				}
				if tc.logged && !strings.Contains(str(jsonOf(t, rec), "error.message"), id+".") {
					t.Errorf("the message does not name request id %s", id)
				}
				if got := strings.Contains(e.log.String(), "disk on fire") && strings.Contains(e.log.String(), id); got != tc.logged {
					t.Errorf("logged %v, want %v: %s", got, tc.logged, e.log)
				}
				if ev := e.lastEvent(t); ev.Status != tc.want.status || ev.RequestID != id {
					t.Errorf("outcome record %+v", ev)
				}
				if after := e.snapshot(t); after != before {
					t.Errorf("the vault changed:\n%s\nwas\n%s", after, before)
				}
			})
		}
	}
}

// TestNoSecretValueLeaks: whatever goes wrong with a request carrying a secret value, the
// value appears in no answer, no audit record and no log line.
func TestNoSecretValueLeaks(t *testing.T) {
	const value = "hunter2-correct-horse"
	e := newEnv(t)
	e.must(t, 200, admin, "PUT", "/secrets/held", map[string]any{"value": value})
	e.must(t, 200, admin, "PUT", "/secrets/gone", map[string]any{"value": value})
	e.must(t, 200, admin, "DELETE", "/secrets/gone", nil)
	e.must(t, 200, admin, "POST", "/keys/k1/create", map[string]any{"kty": "oct"})
	steps := []struct {
		name   string
		c      client
		method string
		path   string
		body   any
		setup  func()
	}{
		{"denied", reader, "PUT", "/secrets/s1", map[string]any{"value": value}, nil},
		{"syntax", admin, "PUT", "/secrets/s1", `{"value":"` + value + `",}`, nil},
		{"wrong type", admin, "PUT", "/secrets/s1", `{"value":"` + value + `","tags":"` + value + `"}`, nil},
		{"over the limit", admin, "PUT", "/secrets/s1", map[string]any{"value": strings.Repeat(value, 2000)}, nil},
		{"bad name", admin, "PUT", "/secrets/s_1", map[string]any{"value": value}, nil},
		{"name reserved", admin, "PUT", "/secrets/gone", map[string]any{"value": value}, nil},
		{"disabled", admin, "GET", "/secrets/off", nil, func() {
			e.must(t, 200, admin, "PUT", "/secrets/off", map[string]any{"value": value, "attributes": map[string]any{"enabled": false}})
		}},
		{"restore", admin, "POST", "/secrets/restore", map[string]any{"value": value + "!"}, nil},
		{"encrypt", admin, "POST", "/keys/k1/encrypt", map[string]any{"alg": "A128GCM", "value": enc([]byte(value))}, nil},
		{"audit down", admin, "PUT", "/secrets/s1", map[string]any{"value": value}, func() { e.sink.refuse = "request" }},
		{"store broken", admin, "PUT", "/secrets/s1", map[string]any{"value": value}, func() { e.sink.refuse, e.store.updateErr = "", errors.New("broken") }},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.setup != nil {
				s.setup()
			}
			rec := e.do(t, s.c, s.method, s.path, s.body)
			if rec.Code < 400 {
				t.Fatalf("%d: the step was meant to fail", rec.Code)
			}
			if strings.Contains(rec.Body.String(), value) || strings.Contains(fmt.Sprint(rec.Header()), value) {
				t.Errorf("the answer holds the value: %s", rec.Body)
			}
		})
	}
	records, err := json.Marshal(e.sink.Events())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(records), value) || strings.Contains(e.log.String(), value) {
		t.Errorf("the value is in the audit records or the log:\n%s\n%s", records, e.log)
	}
	e.store.updateErr = nil
	wantErr(t, e.do(t, admin, "GET", "/secrets/s1", nil), apiErr{http.StatusNotFound, "SecretNotFound", "", nil})
}
