// Package audit defines the audit record of a request and the Sink that receives it.
// It is a leaf: it imports no other Coffer package. Records carry object ids and principal
// ids in clear, never a secret value, key material, token or client secret.
//
// A mutation produces two records: a "request" record written before the change (if it
// cannot be written the change does not happen) and an "outcome" record after it. Reads
// produce the outcome record only.
//
// [File] is the sink a server uses: JSON lines in a file with size-based rotation (or on
// stdout). A "request" record is durable (fsynced, in batches shared by concurrent
// writers) before Record returns; the server lets "outcome" records return as soon as the
// writer holds them ([FileOptions].HandOffOutcomes), since nothing waits on them.
//
// Start with [Event] and [Sink] (audit.go), then [File] (file.go).
package audit

import (
	"context"
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Principal is who made a request.
type Principal struct {
	TenantID string `json:"tenantId,omitempty"`
	ClientID string `json:"clientId,omitempty"`
	ObjectID string `json:"objectId,omitempty"`
}

// Event is one audit record. Its JSON is the audit log's line format (encode.go: short
// keys, unix-millisecond time, microsecond duration), not these field names.
type Event struct {
	Time      time.Time     `json:"time"`
	Phase     string        `json:"phase"` // "request", "outcome", or "checkpoint" (LedgerCheckpoint)
	RequestID string        `json:"requestId"`
	Principal Principal     `json:"principal"`
	Source    string        `json:"source,omitempty"` // remote address
	Vault     string        `json:"vault,omitempty"`
	Operation string        `json:"operation"`
	ObjectID  string        `json:"objectId,omitempty"` // e.g. secrets/db-password
	Decision  string        `json:"decision,omitempty"` // allowed / denied: why
	Status    int           `json:"status,omitempty"`
	Duration  time.Duration `json:"durationNs,omitempty"`
	// Plane is where the record comes from, as the server stamps it: data, arm (which
	// includes the Graph stand-in), identity, admin, or ledger (checkpoints).
	Plane string `json:"plane,omitempty"`
	// Ledger is the deletion ledger's head, copied here (operation LedgerCheckpoint) so
	// that a rewrite of the ledger in storage can be told from its own history.
	Ledger *LedgerHead `json:"ledger,omitempty"`
	// Stored marks the request record of a change the storage makes, and nothing else:
	// a sink with a journal ([File.SetJournal]) may make such a record durable with the
	// change's own commit instead of a sync of its own. Not written.
	Stored bool `json:"-"`
}

// LedgerHead is the deletion ledger's head as the audit log keeps it: the sequence
// number and hash of its last entry, and how many entries it holds.
type LedgerHead struct {
	Seq   int64  `json:"seq"`
	Count int64  `json:"count"`
	Hash  string `json:"hash"`
}

// Sink receives audit records. Record returning an error for a "request" record makes
// the request fail without changing anything.
type Sink interface {
	Record(ctx context.Context, e Event) error
}

// Discard is a Sink that keeps nothing.
type Discard struct{}

// Record does nothing.
func (Discard) Record(context.Context, Event) error { return nil }

// Writer is a Sink writing one JSON line per record to W.
type Writer struct {
	mu sync.Mutex
	W  io.Writer
}

// Record writes e as a JSON line.
func (s *Writer) Record(_ context.Context, e Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err = s.W.Write(b)
	return err
}

// Recorder is a Sink that keeps records in memory, for tests.
type Recorder struct {
	mu     sync.Mutex
	events []Event
}

// Record keeps e.
func (r *Recorder) Record(_ context.Context, e Event) error {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	return nil
}

// Events returns a copy of the records kept so far.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}
