package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/kvjson"
	"github.com/coffer/coffer/internal/testenv"
)

func getLedger(t *testing.T, st *testenv.Stack, query string) []ledger.Entry {
	t.Helper()
	status, _, b := st.ARM(t, "GET", "/admin/ledger"+query, nil)
	if status != 200 {
		t.Fatalf("GET /admin/ledger%s: %d %s", query, status, b)
	}
	var out struct {
		Value []ledger.Entry `json:"value"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out.Value
}

func actions(es []ledger.Entry) string {
	var s []string
	for _, e := range es {
		s = append(s, e.Action+" by "+e.Principal)
	}
	return strings.Join(s, ", ")
}

// TestLedgerEndToEnd: a secret deleted, recovered, deleted and purged by hand, another
// purged by the sweeper after a time shift, and a vault deleted and purged through ARM:
// GET /admin/ledger shows who, when, scheduledPurgeDate and lateBy after the purges and
// after a restart; verify passes, and fails with what broke after a hand edit of the
// storage.
func TestLedgerEndToEnd(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := t.Context()
	c := st.Secrets(t, "default")
	setEach(t, c, "v", "s1", "s2")
	del := deleteSecret(t, c, "s1")
	lifecycle(t, c, "s1", "recover", "delete", "purge")
	del2 := deleteSecret(t, c, "s2")
	st.ShiftTime(t, 91*24*time.Hour) // a day past s2's scheduledPurgeDate
	wantSweep(t, st, someActions, "s2 past its retention")
	// A vault through ARM: delete, then purge.
	for _, r := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"PUT", armVaultPath("ledgered"), armVaultBody(st), 201},
		{"DELETE", armVaultPath("ledgered"), nil, 200},
		{"POST", armPurgePath("ledgered"), nil, 202},
	} {
		if status, _, b := st.ARM(t, r.method, r.path, r.body); status != r.want {
			t.Fatalf("%s %s: %d %s", r.method, r.path, status, b)
		}
	}

	check := func(st *testenv.Stack) (purgeRequestID string) {
		t.Helper()
		admin := adminObjectID(t, st)
		s1 := getLedger(t, st, "?vault=default&name=s1")
		if got, want := actions(s1), fmt.Sprintf("delete by %[1]s, recover by %[1]s, delete by %[1]s, purge by %[1]s", admin); got != want {
			t.Fatalf("s1 ledger: %s\nwant %s", got, want)
		}
		d := s1[0]
		if d.Kind != "secret" || d.Vault != "default" || d.ClientID != st.Creds.ClientID || d.RequestID == "" ||
			!d.DeletedDate.Equal(*del.DeletedDate) || !d.ScheduledPurgeDate.Equal(*del.ScheduledPurgeDate) ||
			d.ScheduledPurgeDate.Sub(d.DeletedDate) != 90*24*time.Hour {
			t.Errorf("delete entry %+v", d)
		}
		if p := s1[3]; p.DeletedDate.IsZero() || p.ScheduledPurgeDate.IsZero() || p.Time.Before(p.DeletedDate) || p.LateBySeconds != 0 {
			t.Errorf("purge entry %+v", p)
		}
		s2 := getLedger(t, st, "?vault=default&name=s2")
		if got := actions(s2); got != "delete by "+admin+", auto-purge by sweeper" {
			t.Fatalf("s2 ledger: %s", got)
		}
		if a := s2[1]; a.LateBySeconds < 86400 || a.LateBySeconds > 86400+120 || !a.ScheduledPurgeDate.Equal(*del2.ScheduledPurgeDate) {
			t.Errorf("auto-purge entry: lateBy %ds, %+v", a.LateBySeconds, a)
		}
		v := getLedger(t, st, "?vault=ledgered")
		if got := actions(v); got != "delete by "+admin+", purge by "+admin || v[0].Kind != "vault" || v[0].Name != "ledgered" {
			t.Fatalf("vault ledger: %s %+v", got, v)
		}
		status, _, b := st.ARM(t, "POST", "/admin/ledger/verify", nil)
		var res struct {
			OK    bool  `json:"ok"`
			Count int64 `json:"count"`
		}
		json.Unmarshal(b, &res)
		if status != 200 || !res.OK || res.Count != 8 {
			t.Fatalf("verify: %d %s", status, b)
		}
		return s1[3].RequestID
	}
	reqID := check(st)

	// The ledger's request ids lead to the audit log's records.
	st.Stop()
	events, _ := readAudit(t, st.Server.AuditLogPath())
	found := false
	for _, e := range events {
		found = found || e.RequestID == reqID && e.Operation == "PurgeDeletedSecret"
	}
	if !found {
		t.Errorf("no audit record with the purge's request id %s", reqID)
	}

	// After a restart on the same data dir: the same entries.
	st2 := testenv.NewStack(t, testenv.Options{DataDir: st.DataDir})
	check(st2)

	// Verify with an anchor taken from the audit log's checkpoint.
	var anchor *ledger.Anchor
	for _, e := range events {
		if e.Operation == "LedgerCheckpoint" {
			anchor = &ledger.Anchor{Seq: e.Ledger.Seq, Hash: e.Ledger.Hash}
		}
	}
	if anchor == nil || anchor.Seq != 8 {
		t.Fatalf("audit checkpoint %+v", anchor)
	}
	if status, _, b := st2.ARM(t, "POST", "/admin/ledger/verify", map[string]any{"anchors": []ledger.Anchor{*anchor}}); status != 200 {
		t.Fatalf("verify with the audit log's anchor: %d %s", status, b)
	}

	// A hand edit of one stored entry: verify answers 409 naming it.
	err := server.StoreOf(st2.Server).Update(ctx, func(tx storage.Tx) error {
		const key = "ledger/entry/0000000000000002"
		var m map[string]any
		if err := kvjson.Get(tx, key, &m); err != nil {
			return err
		}
		m["principal"] = "someone-else"
		return kvjson.Put(tx, key, m)
	})
	if err != nil {
		t.Fatal(err)
	}
	status, _, b := st2.ARM(t, "POST", "/admin/ledger/verify", nil)
	var broken struct {
		OK       bool   `json:"ok"`
		BrokenAt int64  `json:"brokenAt"`
		Problem  string `json:"problem"`
	}
	json.Unmarshal(b, &broken)
	if status != http.StatusConflict || broken.OK || broken.BrokenAt != 2 || !strings.Contains(broken.Problem, "edited") {
		t.Fatalf("verify after a hand edit: %d %s", status, b)
	}
}

// TestLedgerRewriteWhileStopped: entries removed from the end while the server is
// stopped, with the head rewritten to match, pass the chain's own checks, but not the
// checkpoint the audit log kept at the last shutdown.
func TestLedgerRewriteWhileStopped(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := t.Context()
	c := st.Secrets(t, "default")
	for _, n := range []string{"a", "b"} {
		setValue(t, c, n, "v")
		deleteSecret(t, c, n)
	}
	st.Stop() // the audit log gets the head (seq 2)

	db, err := server.OpenStoreForTest(ctx, st.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(ctx, func(tx storage.Tx) error {
		var first ledger.Entry
		if err := kvjson.Get(tx, "ledger/entry/0000000000000001", &first); err != nil {
			return err
		}
		if err := tx.Delete("ledger/entry/0000000000000002"); err != nil {
			return err
		}
		return kvjson.Put(tx, "ledger/head", ledger.Head{Seq: 1, Count: 1, Hash: first.Hash})
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	st2 := testenv.NewStack(t, testenv.Options{DataDir: st.DataDir})
	status, _, b := st2.ARM(t, "POST", "/admin/ledger/verify", nil)
	if status != http.StatusConflict || !strings.Contains(string(b), "head") {
		t.Fatalf("verify after a rewrite while stopped: %d %s", status, b)
	}
}

// scrape fetches GET /metrics without a token and returns every sample as
// name{labels} → value (histograms as name_count{labels}), checking the coffer_ prefix.
func scrape(t *testing.T, st *testenv.Stack) map[string]float64 {
	t.Helper()
	resp, err := st.HTTP.Get(st.Server.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		if !strings.HasPrefix(name, "coffer_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			t.Errorf("metric %s lacks the coffer_ prefix (or go_, process_ of the standard collectors)", name)
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key, v := name, 0.0
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				key, v = name+"_count", float64(m.GetHistogram().GetSampleCount())
			}
			out[key] += v // the family's total
			if len(labels) > 0 {
				out[key+"{"+strings.Join(labels, ",")+"}"] = v
			}
		}
	}
	return out
}

// TestMetrics: after a small workload, /metrics (no token) counts requests by plane,
// operation and status, times them, shows the deleted objects awaiting purge and the
// sweeper's lag, and counts purges by cause and the scheduler's actions.
func TestMetrics(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := t.Context()
	c := st.Secrets(t, "default")
	for i := range 3 {
		if _, err := c.SetSecret(ctx, fmt.Sprintf("m%d", i), azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.GetSecret(ctx, "m0", "", nil); err != nil {
		t.Fatal(err)
	}
	c.GetSecret(ctx, "missing", "", nil)
	for _, n := range []string{"m1", "m2"} {
		deleteSecret(t, c, n)
	}
	lifecycle(t, c, "m1", "purge")
	m := scrape(t, st)
	for key, want := range map[string]float64{
		`coffer_requests_total{operation="SetSecret",plane="data",status="200"}`:          3,
		`coffer_requests_total{operation="GetSecret",plane="data",status="200"}`:          1,
		`coffer_requests_total{operation="GetSecret",plane="data",status="404"}`:          1,
		`coffer_requests_total{operation="DeleteSecret",plane="data",status="200"}`:       2,
		`coffer_requests_total{operation="PurgeDeletedSecret",plane="data",status="204"}`: 1,
		`coffer_requests_total{operation="Authenticate",plane="data",status="401"}`:       1,
		`coffer_requests_total{operation="IssueToken",plane="identity",status="200"}`:     1,
		`coffer_request_duration_seconds_count{operation="SetSecret",plane="data"}`:       3,
		`coffer_request_duration_seconds_count{operation="GetSecret",plane="data"}`:       2,
		`coffer_request_duration_seconds_count`:                                           m["coffer_requests_total"],
		`coffer_deleted_objects{kind="secret",vault="default"}`:                           1,
		`coffer_deleted_objects`:                         1,
		`coffer_sweeper_lag_seconds`:                     0,
		`coffer_purges_total{cause="manual"}`:            1,
		`coffer_purges_total{cause="sweeper"}`:           0,
		`coffer_scheduler_actions_total{action="purge"}`: 0,
		`coffer_audit_write_failures_total`:              0,
		`coffer_ledger_entries`:                          3,
		// Every vault and kind has its series, at zero too: none comes and goes.
		`coffer_deleted_objects{kind="key",vault="default"}`:         0,
		`coffer_deleted_objects{kind="certificate",vault="default"}`: 0,
		`coffer_deleted_objects{kind="vault",vault="default"}`:       0,
	} {
		got, ok := m[key]
		if !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
		}
	}
	for _, std := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes", "process_start_time_seconds"} {
		if _, ok := m[std]; !ok {
			t.Errorf("/metrics lacks %s (the standard Go and process collectors)", std)
		}
	}
	// A day past m2's retention, before the sweeper: the lag shows; after it, the purge
	// is counted by cause.
	st.ShiftTime(t, 91*24*time.Hour)
	if m := scrape(t, st); m["coffer_sweeper_lag_seconds"] < 86400 {
		t.Errorf("sweeper lag %v, want ≥ 86400", m["coffer_sweeper_lag_seconds"])
	}
	sweep(t, st)
	m = scrape(t, st)
	for key, want := range map[string]float64{
		`coffer_purges_total{cause="sweeper"}`:           1,
		`coffer_scheduler_actions_total{action="purge"}`: 1,
		`coffer_deleted_objects`:                         0,
		`coffer_sweeper_lag_seconds`:                     0,
	} {
		if got := m[key]; got != want {
			t.Errorf("after the sweep: %s = %v, want %v", key, got, want)
		}
	}
}
