package audit_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/audit"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

// dataRecords are the records of n gets and n sets on the data plane as the server
// writes them: a get has its outcome; a set its request record, then its outcome.
func dataRecords(n int) (gets, sets [][]audit.Event, tenant string) {
	tenant = uuid.NewString()
	who := audit.Principal{TenantID: tenant, ClientID: uuid.NewString(), ObjectID: uuid.NewString()}
	t0 := time.Date(2026, 12, 6, 4, 6, 57, 407_542_180, time.UTC)
	for i := range n {
		base := audit.Event{Time: t0.Add(time.Duration(i) * time.Millisecond), Principal: who,
			Source: fmt.Sprintf("127.0.0.1:%d", 40000+i%20000), Vault: "default", Decision: "allowed: administrator", Plane: "data"}
		get := base
		get.RequestID, get.Phase, get.Operation, get.ObjectID = uuid.NewString(), "outcome", "GetSecret", fmt.Sprintf("secrets/bench-%05d", i)
		get.Status, get.Duration = 200, 443_706*time.Nanosecond
		gets = append(gets, []audit.Event{get})
		req := base
		req.RequestID, req.Phase, req.Operation, req.ObjectID = uuid.NewString(), "request", "SetSecret", fmt.Sprintf("secrets/bench-%05d", i)
		out := req
		out.Time, out.Phase, out.Status, out.Duration = req.Time.Add(4*time.Millisecond), "outcome", 200, 3_849_942*time.Nanosecond
		sets = append(sets, []audit.Event{req, out})
	}
	return gets, sets, tenant
}

// TestLogBytesPerRequest measures what a get and a set cost in the audit log, and that
// the log reads back to the records written (ReadLog puts brief outcomes and the
// tenant back). The budget is 400 bytes per request.
func TestLogBytesPerRequest(t *testing.T) {
	const n = 1000
	gets, sets, tenant := dataRecords(n)
	for _, tc := range []struct {
		name string
		reqs [][]audit.Event
	}{{"get", gets}, {"set", sets}} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.log")
			l, err := audit.OpenFile(audit.FileOptions{Path: path})
			if err != nil {
				t.Fatal(err)
			}
			l.SetTenant(tenant)
			var want []audit.Event
			for _, rs := range tc.reqs {
				for _, e := range rs {
					if err := l.Record(t.Context(), e); err != nil {
						t.Fatal(err)
					}
					e.Time = e.Time.Truncate(time.Millisecond)
					e.Duration = e.Duration.Truncate(time.Microsecond)
					want = append(want, e)
				}
			}
			l.Close()
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			perRequest := float64(len(b)) / n
			t.Logf("%s: %.0f bytes per request (%d requests, %d bytes); a line: %s", tc.name, perRequest, n, len(b), bytes.SplitN(b, []byte("\n"), 3)[1])
			if perRequest > 400 {
				t.Errorf("%s: %.0f bytes per request, want at most 400", tc.name, perRequest)
			}
			got, err := audit.ReadLog(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("read back (-written +read):\n%s", diff)
			}
		})
	}
}

// TestEventJSON: one record marshals whole (the tenant included) and reads back.
func TestEventJSON(t *testing.T) {
	gets, sets, _ := dataRecords(1)
	for _, e := range []audit.Event{gets[0][0], sets[0][0], sets[0][1],
		{Time: time.UnixMilli(1765000000123).UTC(), Phase: "checkpoint", RequestID: "r", Operation: "LedgerCheckpoint", ObjectID: "ledger",
			Ledger: &audit.LedgerHead{Seq: 5, Count: 5, Hash: "ab"}}} {
		b, err := e.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var got audit.Event
		if err := got.UnmarshalJSON(b); err != nil {
			t.Fatal(err)
		}
		e.Time, e.Duration = e.Time.Truncate(time.Millisecond), e.Duration.Truncate(time.Microsecond)
		if diff := cmp.Diff(e, got); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", b, diff)
		}
	}
}

func BenchmarkFileRecordSet(b *testing.B) {
	_, sets, tenant := dataRecords(1)
	l, err := audit.OpenFile(audit.FileOptions{Path: filepath.Join(b.TempDir(), "audit.log"), HandOffOutcomes: true})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	l.SetTenant(tenant)
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			for _, e := range sets[0] {
				e.RequestID = uuid.NewString()
				if err := l.Record(b.Context(), e); err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
}

// TestReadsEarlierFormat: a line written before the compact format (long keys) still
// reads, as the server's search for its last ledger checkpoint needs after an upgrade.
func TestReadsEarlierFormat(t *testing.T) {
	line := `{"time":"2026-12-06T03:56:49.855Z","phase":"checkpoint","requestId":"r1","principal":{},"operation":"LedgerCheckpoint","objectId":"ledger","plane":"ledger","ledger":{"seq":5,"count":5,"hash":"ab"}}`
	var e audit.Event
	if err := e.UnmarshalJSON([]byte(line)); err != nil {
		t.Fatal(err)
	}
	if e.Operation != "LedgerCheckpoint" || e.Phase != "checkpoint" || e.Ledger == nil || e.Ledger.Seq != 5 || e.Time.IsZero() {
		t.Errorf("read %+v", e)
	}
	es, err := audit.ReadLog(bytes.NewReader([]byte(line + "\n")))
	if err != nil || len(es) != 1 || es[0].Operation != "LedgerCheckpoint" {
		t.Errorf("ReadLog = %+v, %v", es, err)
	}
}
