package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coffer/coffer/internal/audit"
	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/testenv"
)

// readAudit reads an audit log file into whole records (audit.ReadLog).
func readAudit(t *testing.T, path string) ([]audit.Event, string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := audit.ReadLog(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return out, string(raw)
}

// TestAuditLogLifecycle: with no audit flag, every request of a secret's lifecycle lands
// in DIR/audit/audit.log as JSON lines — a mutation's request record before its outcome —
// with the fields of the issue; a refused purge is recorded as denied; token issuance,
// admin and ARM requests are recorded; the ledger head is checkpointed; and no secret
// value, client secret or token is in the file.
func TestAuditLogLifecycle(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := t.Context()
	path := filepath.Join(st.DataDir, "audit", "audit.log")
	if got := st.Server.AuditLogPath(); got != path {
		t.Fatalf("AuditLogPath = %q, want %q", got, path)
	}
	c := st.Secrets(t, "default")
	const value = "lifecycle-canary-9d2f41"
	setValue(t, c, "lc", value)
	if _, err := c.GetSecret(ctx, "lc", "", nil); err != nil {
		t.Fatal(err)
	}
	lifecycle(t, c, "lc", "delete", "recover", "delete", "purge")
	setValue(t, c, "guarded", value)
	deleteSecret(t, c, "guarded")
	creds := newPrincipal(t, st, "auditor", "get")
	_, err := secretsAs(t, st, creds).PurgeDeletedSecret(ctx, "guarded", nil)
	wantCode(t, err, 403, "Forbidden")
	tokens := []string{st.ARMToken(t), token(t, st.Cred, "https://vault.azure.net")}
	adminOID := adminObjectID(t, st)
	st.Stop() // flushes nothing (every record is durable when written), checkpoints the ledger

	events, raw := readAudit(t, path)
	for p, want := range map[string]os.FileMode{filepath.Dir(path): 0o700, path: 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want mode %v", p, fi.Mode(), err, want)
		}
	}

	// The data plane, in order: who, what, which phase, which status.
	var got []string
	for _, e := range events {
		if e.Plane == "data" && e.Operation != "Authenticate" {
			who := "admin"
			if e.Principal.ClientID == creds.ClientID {
				who = "auditor"
			}
			got = append(got, fmt.Sprintf("%s %s %s %s %d %s", who, e.Operation, e.Phase, e.ObjectID, e.Status, strings.SplitN(e.Decision, ":", 2)[0]))
		}
	}
	want := []string{
		"admin SetSecret request secrets/lc 0 allowed", "admin SetSecret outcome secrets/lc 200 allowed",
		"admin GetSecret outcome secrets/lc 200 allowed",
		"admin DeleteSecret request secrets/lc 0 allowed", "admin DeleteSecret outcome secrets/lc 200 allowed",
		"admin RecoverDeletedSecret request deletedsecrets/lc 0 allowed", "admin RecoverDeletedSecret outcome deletedsecrets/lc 200 allowed",
		"admin DeleteSecret request secrets/lc 0 allowed", "admin DeleteSecret outcome secrets/lc 200 allowed",
		"admin PurgeDeletedSecret request deletedsecrets/lc 0 allowed", "admin PurgeDeletedSecret outcome deletedsecrets/lc 204 allowed",
		"admin SetSecret request secrets/guarded 0 allowed", "admin SetSecret outcome secrets/guarded 200 allowed",
		"admin DeleteSecret request secrets/guarded 0 allowed", "admin DeleteSecret outcome secrets/guarded 200 allowed",
		"auditor PurgeDeletedSecret outcome deletedsecrets/guarded 403 denied",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("data-plane records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Field by field, for the first change: the request record comes first and shares
	// its request id with the outcome.
	var req, out *audit.Event
	for i := range events {
		e := &events[i]
		if e.Operation == "SetSecret" && e.ObjectID == "secrets/lc" {
			if e.Phase == "request" {
				req = e
			} else {
				out = e
			}
		}
	}
	switch {
	case req == nil || out == nil:
		t.Fatal("SetSecret records missing")
	case req.RequestID == "" || req.RequestID != out.RequestID:
		t.Errorf("request ids %q / %q", req.RequestID, out.RequestID)
	case req.Principal != (audit.Principal{TenantID: st.Creds.TenantID, ClientID: st.Creds.ClientID, ObjectID: adminOID}):
		t.Errorf("principal %+v", req.Principal)
	case req.Vault != "default" || !strings.HasPrefix(req.Source, "127.0.0.1:") || req.Time.IsZero() || req.Time.After(out.Time):
		t.Errorf("request record %+v", *req)
	case out.Duration <= 0 || !strings.HasPrefix(out.Decision, "allowed: "):
		t.Errorf("outcome record %+v", *out)
	}

	// Token issuance, admin and ARM requests, and the ledger checkpoint.
	has := func(what string, match func(audit.Event) bool) {
		t.Helper()
		for _, e := range events {
			if match(e) {
				return
			}
		}
		t.Errorf("no %s record", what)
	}
	has("token for the auditor", func(e audit.Event) bool {
		return e.Plane == "identity" && e.Operation == "IssueToken" && e.Principal.ClientID == creds.ClientID && e.Status == 200 && strings.HasPrefix(e.Decision, "allowed")
	})
	has("principal create request", func(e audit.Event) bool {
		return e.Plane == "admin" && e.Operation == "PrincipalCreate" && e.Phase == "request"
	})
	has("principal create outcome", func(e audit.Event) bool {
		return e.Plane == "admin" && e.Operation == "PrincipalCreate" && e.Phase == "outcome" && e.Status == 201 && e.ObjectID == "principals/"+creds.ObjectID
	})
	has("access policy change", func(e audit.Event) bool {
		return e.Plane == "arm" && e.Phase == "request" && strings.Contains(e.Operation, "accessPolicies")
	})
	has("data-plane challenge", func(e audit.Event) bool {
		return e.Plane == "data" && e.Operation == "Authenticate" && e.Status == 401 && strings.HasPrefix(e.Decision, "denied")
	})
	has("ledger checkpoint", func(e audit.Event) bool {
		return e.Operation == "LedgerCheckpoint" && e.Ledger != nil && e.Ledger.Seq == 5 && len(e.Ledger.Hash) == 64
	})

	for _, leak := range append([]string{value, st.Creds.ClientSecret, creds.ClientSecret, "eyJ"}, tokens...) {
		if strings.Contains(raw, leak) {
			t.Errorf("the audit log holds %.24q…", leak)
		}
	}
}

// switchSink records until fail is set, then refuses every record.
type switchSink struct {
	fail atomic.Bool
	rec  audit.Recorder
}

func (s *switchSink) Record(ctx context.Context, e audit.Event) error {
	if s.fail.Load() {
		return errors.New("injected audit failure")
	}
	return s.rec.Record(ctx, e)
}

// TestAuditFailureRefusesChanges: when the audit log cannot be written, every change —
// data plane, ARM, admin — is refused with 503 and nothing changes; reads of what exists
// still answer once the log is back. Both an injected failing sink and the real file
// whose directory is removed.
func TestAuditFailureRefusesChanges(t *testing.T) {
	for _, tc := range []struct {
		name         string
		sink         *switchSink
		break_, mend func(st *testenv.Stack)
	}{
		{name: "fail/injected-sink", sink: &switchSink{}},
		{name: "fail/log-directory-removed",
			break_: func(st *testenv.Stack) {
				if err := os.RemoveAll(filepath.Join(st.DataDir, "audit")); err != nil {
					t.Fatal(err)
				}
			},
			mend: func(st *testenv.Stack) {
				if err := os.Mkdir(filepath.Join(st.DataDir, "audit"), 0o700); err != nil {
					t.Fatal(err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := testenv.NewStack(t, testenv.Options{Config: func(c *server.Config) {
				if tc.sink != nil {
					c.Audit = tc.sink
				}
			}})
			tok := "Bearer " + token(t, st.Cred, "https://vault.azure.net")
			vaultPath := armVaultPath("refused")
			armTok := "Bearer " + st.ARMToken(t)
			if status, _, b := st.Request(t, "PUT", "/secrets/kept?api-version=7.6", tok, map[string]string{"value": "v"}); status != 200 {
				t.Fatalf("set: %d %s", status, b)
			}
			if tc.sink != nil {
				tc.sink.fail.Store(true)
			} else {
				tc.break_(st)
			}
			for _, r := range []struct {
				method, path, auth string
				body               any
			}{
				{"PUT", "/secrets/new?api-version=7.6", tok, map[string]string{"value": "v"}},
				{"DELETE", "/secrets/kept?api-version=7.6", tok, nil},
				{"PUT", vaultPath, armTok, armVaultBody(st)},
				{"POST", "/admin/principals", armTok, map[string]string{"name": "refused"}},
			} {
				status, _, b := st.Request(t, r.method, r.path, r.auth, r.body)
				if status != 503 || !strings.Contains(string(b), "ServiceUnavailable") {
					t.Errorf("%s %s with the audit log down: %d %s, want 503", r.method, r.path, status, b)
				}
			}
			if tc.sink != nil {
				tc.sink.fail.Store(false)
			} else {
				tc.mend(st)
			}
			if status, _, b := st.Request(t, "GET", "/secrets/kept?api-version=7.6", tok, nil); status != 200 {
				t.Errorf("kept secret: %d %s", status, b)
			}
			if status, _, _ := st.Request(t, "GET", "/secrets/new?api-version=7.6", tok, nil); status != 404 {
				t.Errorf("refused secret exists: %d", status)
			}
			if status, _, _ := st.Request(t, "GET", vaultPath, armTok, nil); status != 404 {
				t.Errorf("refused vault exists: %d", status)
			}
			if _, _, b := st.ARM(t, "GET", "/admin/principals", nil); strings.Contains(string(b), `"refused"`) {
				t.Errorf("refused principal exists: %s", b)
			}
			if _, _, b := st.ARM(t, "GET", "/admin/ledger", nil); string(b) != `{"value":[]}` {
				t.Errorf("ledger after refused changes: %s", b)
			}
			if tc.sink == nil {
				m := scrape(t, st)
				if m["coffer_audit_write_failures_total"] < 4 {
					t.Errorf("coffer_audit_write_failures_total = %v, want ≥ 4", m["coffer_audit_write_failures_total"])
				}
			}
		})
	}
}

// adminObjectID is the administrator's object id (bootstrap-credentials.json has none).
func adminObjectID(t *testing.T, st *testenv.Stack) string {
	t.Helper()
	_, _, b := st.ARM(t, "GET", "/admin/principals", nil)
	var out struct {
		Value []struct {
			ObjectID string `json:"objectId"`
			Admin    bool   `json:"admin"`
		} `json:"value"`
	}
	json.Unmarshal(b, &out)
	for _, p := range out.Value {
		if p.Admin {
			return p.ObjectID
		}
	}
	t.Fatalf("no administrator in %s", b)
	return ""
}

// TestAuditTokenRequests: the token endpoint's outcome records name the client id and
// whether a token was issued, never the secret sent (right or wrong) nor the token; a
// client id that is not a GUID is not echoed.
func TestAuditTokenRequests(t *testing.T) {
	rec := &audit.Recorder{}
	st := testenv.NewStack(t, testenv.Options{Config: func(c *server.Config) { c.Audit = rec }})
	path := "/" + st.Creds.TenantID + "/oauth2/v2.0/token"
	post := func(clientID, secret string) int {
		form := "grant_type=client_credentials&scope=https%3A%2F%2Fvault.azure.net%2F.default&client_id=" + clientID + "&client_secret=" + secret
		req, _ := http.NewRequest("POST", st.Server.URL()+path, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := st.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(st.Creds.ClientID, st.Creds.ClientSecret); got != 200 {
		t.Fatalf("token: %d", got)
	}
	if got := post(st.Creds.ClientID, "wrong-secret-4b1d"); got != 401 {
		t.Fatalf("wrong secret: %d", got)
	}
	if got := post("pasted-secret-77aa", "x"); got != 401 {
		t.Fatalf("non-GUID client: %d", got)
	}
	var got []string
	for _, e := range rec.Events() {
		if e.Operation == "IssueToken" {
			got = append(got, fmt.Sprintf("%s %d %s %s", e.Principal.ClientID, e.Status, e.Decision, e.Plane))
		}
	}
	want := []string{
		st.Creds.ClientID + " 200 allowed: client credentials identity",
		st.Creds.ClientID + " 401 denied: unknown client or wrong secret identity",
		"(not a client id) 401 denied: unknown client or wrong secret identity",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("token records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	all, _ := json.Marshal(rec.Events())
	for _, leak := range []string{st.Creds.ClientSecret, "wrong-secret-4b1d", "pasted-secret-77aa", "eyJ"} {
		if strings.Contains(string(all), leak) {
			t.Errorf("audit records hold %q", leak)
		}
	}
}
