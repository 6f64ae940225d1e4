package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	jsonv1 "github.com/go-json-experiment/json/v1"
)

// The audit log's line format: one JSON object per line, short keys, empty fields
// omitted, so that a get costs about 300 bytes and a set (two records) under 400:
//
//	t    time, unix milliseconds (jq: .t/1000|todate)
//	ph   phase: req (request), out (outcome), ckpt (checkpoint), log (see below)
//	id   request id
//	tid  the principal's tenant; omitted when it is the log's tenant (the last "log" line's)
//	cid  the principal's client id
//	oid  the principal's object id
//	src  remote address
//	v    vault
//	op   operation
//	obj  object id, e.g. secrets/db-password
//	dec  decision: allowed / denied: why
//	st   status
//	us   duration, microseconds
//	pl   plane
//	ledger  the deletion ledger's head (LedgerCheckpoint)
//
// An outcome record that follows its request record (a change) names only what the
// request record does not say: t, ph, id, st, us; the rest is the request record's,
// found by id (the line before it with that id; after a rotation, in the previous
// file). A "log" line ({"ph":"log","tid"}) starts every file the server writes to:
// the tenant that records without a tid belong to. [ReadLog] puts records back
// together; [Event]'s MarshalJSON and UnmarshalJSON write and read one whole record.

// wireEvent is one line. Keys are short on purpose (see above).
type wireEvent struct {
	T        int64       `json:"t,omitempty"`
	Phase    string      `json:"ph"`
	ID       string      `json:"id,omitempty"`
	Tenant   string      `json:"tid,omitempty"`
	Client   string      `json:"cid,omitempty"`
	Object   string      `json:"oid,omitempty"`
	Source   string      `json:"src,omitempty"`
	Vault    string      `json:"v,omitempty"`
	Op       string      `json:"op,omitempty"`
	ObjectID string      `json:"obj,omitempty"`
	Decision string      `json:"dec,omitempty"`
	Status   int         `json:"st,omitempty"`
	Micros   int64       `json:"us,omitempty"`
	Plane    string      `json:"pl,omitempty"`
	Ledger   *LedgerHead `json:"ledger,omitempty"`
}

// Phases on the wire.
var (
	wirePhase = map[string]string{"request": "req", "outcome": "out", "checkpoint": "ckpt"}
	fromWire  = map[string]string{"req": "request", "out": "outcome", "ckpt": "checkpoint"}
)

// phaseLog is the wire phase of the line that names a file's tenant.
const phaseLog = "log"

func toWire(e Event, tenant string, brief bool) wireEvent {
	w := wireEvent{Phase: e.Phase, ID: e.RequestID, Status: e.Status, Ledger: e.Ledger}
	if !e.Time.IsZero() {
		w.T = e.Time.UnixMilli()
	}
	if p, ok := wirePhase[e.Phase]; ok {
		w.Phase = p
	}
	if e.Duration > 0 {
		w.Micros = max(1, e.Duration.Microseconds()) // a duration is never recorded as none
	}
	if brief {
		return w
	}
	w.Client, w.Object, w.Source, w.Vault = e.Principal.ClientID, e.Principal.ObjectID, e.Source, e.Vault
	w.Op, w.ObjectID, w.Decision, w.Plane = e.Operation, e.ObjectID, e.Decision, e.Plane
	if e.Principal.TenantID != tenant {
		w.Tenant = e.Principal.TenantID
	}
	return w
}

// validUTF8 reports whether every string of w is valid UTF-8.
func (w *wireEvent) validUTF8() bool {
	for _, s := range [...]string{w.Phase, w.ID, w.Tenant, w.Client, w.Object, w.Source, w.Vault, w.Op, w.ObjectID, w.Decision, w.Plane} {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return w.Ledger == nil || utf8.ValidString(w.Ledger.Hash)
}

func (w wireEvent) event(tenant string) Event {
	e := Event{Phase: w.Phase, RequestID: w.ID, Source: w.Source, Vault: w.Vault,
		Operation: w.Op, ObjectID: w.ObjectID, Decision: w.Decision, Status: w.Status,
		Duration: time.Duration(w.Micros) * time.Microsecond, Plane: w.Plane, Ledger: w.Ledger,
		Principal: Principal{TenantID: w.Tenant, ClientID: w.Client, ObjectID: w.Object}}
	if w.T != 0 {
		e.Time = time.UnixMilli(w.T).UTC()
	}
	if p, ok := fromWire[w.Phase]; ok {
		e.Phase = p
	}
	if e.Principal.TenantID == "" && (w.Client != "" || w.Object != "") {
		e.Principal.TenantID = tenant
	}
	return e
}

// MarshalJSON writes e as one whole audit line (every field, the tenant included).
func (e Event) MarshalJSON() ([]byte, error) { return json.Marshal(toWire(e, "", false)) }

// UnmarshalJSON reads one audit line as it stands: a brief outcome stays brief and a
// missing tenant stays empty ([ReadLog] fills both in). A line of the earlier format
// (long keys: "time", "phase", "operation", …), as logs written before this one hold,
// is read too: the server looks for its last ledger checkpoint in the log at start.
func (e *Event) UnmarshalJSON(b []byte) error {
	var w wireEvent
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.Phase == "" && bytes.Contains(b, []byte(`"phase"`)) {
		return json.Unmarshal(b, (*legacyEvent)(e))
	}
	*e = w.event("")
	return nil
}

// legacyEvent is Event without its JSON methods: the field tags are the earlier format.
type legacyEvent Event

// appendLine appends e's line (with its newline) to b: without the tenant when it is
// tenant, and, when brief, only what an outcome adds to its request record. Every
// request writes one or two lines, so it encodes with the go-json-experiment engine in
// its encoding/json mode (jsonv1): the same bytes (TestAppendLineAsEncodingJSON) in less
// time. The one difference, invalid UTF-8 (jsonv1 writes U+FFFD as itself, encoding/json
// as \ufffd), is left to encoding/json, so that lines stay as they always were.
func appendLine(b []byte, e Event, tenant string, brief bool) ([]byte, error) {
	w := toWire(e, tenant, brief)
	marshal := jsonv1.Marshal
	if !w.validUTF8() {
		marshal = json.Marshal
	}
	j, err := marshal(w)
	if err != nil {
		return b, err
	}
	return append(append(b, j...), '\n'), nil
}

// logLine is the line that starts a file: the tenant of the records without one.
func logLine(tenant string) []byte {
	j, _ := json.Marshal(struct {
		Phase  string `json:"ph"`
		Tenant string `json:"tid"`
	}{phaseLog, tenant})
	return append(j, '\n')
}

// ReadLog reads audit lines from r (one file, or several oldest first) and returns whole
// records: the tenant filled in from the "log" lines, a brief outcome completed from
// its request record. "log" lines themselves are not returned.
func ReadLog(r io.Reader) ([]Event, error) {
	var (
		out      []Event
		tenant   string
		requests = map[string]Event{} // request records awaiting their outcome, by id
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var w wireEvent
		if err := json.Unmarshal(sc.Bytes(), &w); err != nil {
			return out, fmt.Errorf("audit line %d: %w", n, err)
		}
		if w.Phase == "" { // the earlier format
			var e Event
			if err := e.UnmarshalJSON(sc.Bytes()); err != nil {
				return out, fmt.Errorf("audit line %d: %w", n, err)
			}
			out = append(out, e)
			continue
		}
		if w.Phase == phaseLog {
			tenant = w.Tenant
			continue
		}
		e := w.event(tenant)
		switch e.Phase {
		case "request":
			requests[e.RequestID] = e
		case "outcome":
			if req, ok := requests[e.RequestID]; ok {
				delete(requests, e.RequestID)
				if w.Op == "" { // brief: the rest is the request record's
					e.Principal, e.Source, e.Vault, e.Operation = req.Principal, req.Source, req.Vault, req.Operation
					e.ObjectID, e.Decision, e.Plane = req.ObjectID, req.Decision, req.Plane
				}
			}
		}
		out = append(out, e)
	}
	return out, sc.Err()
}
