// Package ledger is the deletion ledger: an append-only record, kept in storage, of every
// delete, recover, purge and automatic purge of a vault, secret, key or certificate (and
// of every whole-vault export and import) — who, when, the deletion's dates, and how late
// an automatic purge came. It outlives the objects it names (its own retention, [Prune]),
// so "who deleted this, when, and when was it gone?" has an answer after the purge.
//
// It is a leaf over [storage.Tx]: callers append in the same transaction as the change
// they record, so a change and its entry commit together or not at all. It must not
// import any other Coffer package but storage (and storage/kvjson, its JSON records).
//
// Start with [AppendPending] (what the vault domain calls), [Link] and [Verify] (what
// POST /admin/ledger/verify runs).
//
// # Layout and hash chain
//
//	ledger/entry/<seq, 16 digits>   Entry, seq from 1, in order
//	ledger/head                     Head: seq, count and hash of the last entry
//	ledger/checkpoint               Checkpoint: the last entry pruned (absent before any prune)
//	ledger/pending/<time>/<n>       Entry recorded with its change, not yet in the chain
//	ledger/tail/<kind>/<vault>/<name>   where the subject's newest pending entry was placed
//
// # Pending entries
//
// A change records its entry with [AppendPending], under a key of its own, not by
// extending the chain: a chain has one head, and a transaction that moved it would
// keep every other change from committing until it had (with several servers on
// PostgreSQL, the head's row lock is held through the commit's WAL flush, which capped
// deletes at a few hundred a second). [Link] moves pending entries into the chain,
// many in one transaction, in the order of their keys (the entry's time, moved after
// the subject's previous entry where needed — see tailKey — then the order of the
// AppendPending calls in the process); readers of the ledger link first,
// and the server links whenever it copies the head into the audit log. An entry is
// durable exactly when its change is; it is covered by the hash chain from its link on.
//
// Each entry's Hash is SHA-256(previous entry's hash || the entry's canonical JSON),
// hex; the canonical JSON is the entry marshalled by encoding/json with Hash empty (so
// omitted) and PrevHash set. [Verify] walks the chain from the checkpoint to the head
// and reports an edited entry (its hash does not match), a removed one (a gap in seq or
// a broken link) and a truncated chain (the last entry is not the head). A rewrite of
// the whole chain and its head is caught by comparing with a head kept elsewhere: the
// server copies the head into the audit log ([Anchor]).
//
// # Pruning
//
// [Prune] removes entries older than the retention, oldest first. It appends a "prune"
// entry to the chain naming the last entry removed and its hash, and stores the same
// pair as the checkpoint, where the walk then starts; Verify requires the newest prune
// entry to agree with the checkpoint, so a forged checkpoint is not taken for a prune.
package ledger

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/kvjson"
)

// Storage keys.
const (
	entryPrefix   = "ledger/entry/"
	headKey       = "ledger/head"
	checkpointKey = "ledger/checkpoint"
	pendingPrefix = "ledger/pending/"
)

// PendingPrefix is where pending entries are stored: a transaction that puts a key
// under it has recorded a change ([AppendPending]).
const PendingPrefix = pendingPrefix

// pendingSeq orders the AppendPending calls of this process that share a time (a
// transaction that records several changes at once). It only has to grow: a
// transaction that runs again takes new numbers, and the keys of the run that commits
// keep their order.
var pendingSeq atomic.Uint64

// pendingNonce keeps the keys of two processes apart when their entries share a time
// and a number.
var pendingNonce = func() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}()

// pendingKey is where an entry waits for its link: at (unix nanoseconds, 20 digits)
// first, then this process's call order.
func pendingKey(at int64) string {
	return fmt.Sprintf("%s%020d/%016d-%s", pendingPrefix, at, pendingSeq.Add(1), pendingNonce)
}

// tailKey holds, for one subject (a vault, or an object in a vault), the position
// (pendingKey's at) of its newest pending entry. Transitions of one subject are
// ordered by the transactions themselves (each reads and writes the subject's records,
// which locks them), but the time a transaction took from its clock is not: it may have
// read the clock before it waited for another, and servers' clocks differ. Reading the
// tail in the same transaction, and placing the entry after it, keeps each subject's
// entries in the order its transitions committed.
func tailKey(e Entry) string {
	return "ledger/tail/" + strings.ToLower(e.Kind) + "/" + strings.ToLower(e.Vault) + "/" + strings.ToLower(e.Name)
}

// Actions.
const (
	ActionDelete    = "delete"
	ActionRecover   = "recover"
	ActionPurge     = "purge"      // by hand
	ActionAutoPurge = "auto-purge" // the retention ended: by the sweeper, or when the name was taken again
	ActionPrune     = "prune"      // the ledger's own retention removed older entries
	// ActionExport and ActionImport: a whole vault was exported (a copy of every secret
	// and key in it left the server) or imported as a new vault.
	ActionExport = "export"
	ActionImport = "import"
)

// Sweeper is the principal of automatic actions.
const Sweeper = "sweeper"

// Entry is one ledger record. Times are the vault clock's (possibly shifted), UTC.
type Entry struct {
	Seq    int64     `json:"seq"`
	Time   time.Time `json:"time"`
	Action string    `json:"action"`
	// Kind is vault, secret, key or certificate ("" for a prune).
	Kind  string `json:"kind,omitempty"`
	Vault string `json:"vault,omitempty"`
	Name  string `json:"name,omitempty"`
	// Principal is the object id of who asked (client id when it has none), or
	// [Sweeper] for an automatic action.
	Principal string `json:"principal"`
	ClientID  string `json:"clientId,omitempty"`
	// RequestID names the request in the audit log.
	RequestID          string    `json:"requestId,omitempty"`
	DeletedDate        time.Time `json:"deletedDate,omitzero"`
	ScheduledPurgeDate time.Time `json:"scheduledPurgeDate,omitzero"`
	// LateBySeconds is, for an automatic purge, how long after scheduledPurgeDate it
	// happened.
	LateBySeconds int64 `json:"lateBySeconds,omitempty"`
	// Note says more, e.g. why an automatic purge happened where it did.
	Note string `json:"note,omitempty"`
	// PrunedThrough and PrunedHash are, for a prune, the last entry removed.
	PrunedThrough int64  `json:"prunedThrough,omitempty"`
	PrunedHash    string `json:"prunedHash,omitempty"`

	PrevHash string `json:"prevHash"`
	Hash     string `json:"hash,omitempty"`
}

// Head is the ledger's last entry: its seq and hash, and how many entries are stored.
type Head struct {
	Seq   int64  `json:"seq"`
	Count int64  `json:"count"`
	Hash  string `json:"hash"`
}

// Checkpoint is the last entry pruned: the chain now starts after it.
type Checkpoint struct {
	Seq  int64     `json:"seq"`
	Hash string    `json:"hash"`
	Time time.Time `json:"time"` // when the prune happened
}

// Anchor is a head kept outside storage (in the audit log): the entry Seq must still
// have Hash, unless pruning has since removed it.
type Anchor struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

func entryKey(seq int64) string { return fmt.Sprintf("%s%016d", entryPrefix, seq) }

// hash computes e's hash from its fields and PrevHash.
func hash(e Entry) string {
	h, _ := hashAndEncode(e)
	return h
}

// hashAndEncode returns e's hash and e's JSON with that hash, as json.Marshal would
// write it, from one marshalling: the canonical JSON (Hash empty, so omitted) is e's
// JSON but for Hash, its last field, which is spliced in.
func hashAndEncode(e Entry) (string, []byte) {
	e.Hash = ""
	buf := encodeBuffers.Get().(*bytes.Buffer)
	defer encodeBuffers.Put(buf)
	buf.Reset()
	marshalEntry(buf, e)
	b := buf.Bytes()
	prev, _ := hex.DecodeString(e.PrevHash)
	h := sha256.New()
	h.Write(prev)
	h.Write(b)
	var sum [sha256.Size]byte
	hx := hex.EncodeToString(h.Sum(sum[:0]))
	out := make([]byte, 0, len(b)+len(`,"hash":""`)+len(hx))
	out = append(out, b[:len(b)-1]...) // without the closing brace
	out = append(out, `,"hash":"`...)
	out = append(out, hx...)
	out = append(out, `"}`...)
	return hx, out
}

// encodeBuffers hold the canonical JSON of entries being hashed.
var encodeBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// marshalEntry writes e to buf exactly as json.Marshal does: the bytes are hashed, and
// every entry ever stored must hash the same way. Every change of a server on one
// machine appends an entry in the transaction that commits it, so it encodes with the
// go-json-experiment engine in its encoding/json mode (jsonv1): the same bytes
// (TestHashAndEncodeIsMarshal) in less time. The one difference, invalid UTF-8 (jsonv1
// writes U+FFFD as itself, encoding/json as \ufffd), is left to encoding/json.
func marshalEntry(buf *bytes.Buffer, e Entry) {
	// An Entry always marshals: strings, integers and times.
	if e.validUTF8() {
		_ = jsonv2.MarshalWrite(buf, e, jsonv1.DefaultOptionsV1())
		return
	}
	_ = json.NewEncoder(buf).Encode(e)
	buf.Truncate(buf.Len() - 1) // Encode's newline
}

// validUTF8 reports whether every string of e is valid UTF-8.
func (e Entry) validUTF8() bool {
	for _, s := range [...]string{e.Action, e.Kind, e.Vault, e.Name, e.Principal, e.ClientID, e.RequestID, e.Note, e.PrunedHash, e.PrevHash, e.Hash} {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// decodeEntry decodes a stored entry (kvjson, as encoding/json does).
func decodeEntry(kv storage.Entry) (Entry, error) {
	var e Entry
	if err := kvjson.Decode(kv, &e); err != nil {
		return e, fmt.Errorf("ledger: %w", err)
	}
	return e, nil
}

// ReadHead returns the head; an empty ledger has the zero Head.
func ReadHead(tx storage.Tx) (Head, error) {
	var h Head
	err := kvjson.Get(tx, headKey, &h)
	if errors.Is(err, storage.ErrNotFound) {
		return Head{}, nil
	}
	return h, err
}

func readCheckpoint(tx storage.Tx) (Checkpoint, bool, error) {
	var c Checkpoint
	err := kvjson.Get(tx, checkpointKey, &c)
	if errors.Is(err, storage.ErrNotFound) {
		return c, false, nil
	}
	return c, err == nil, err
}

// Append adds e after the head (Seq, PrevHash and Hash are set here) and returns it as
// stored, first linking the pending entries (it takes the head, as Link does). A change
// records its entry with [AppendPending] instead, which does not take the head.
func Append(tx storage.Tx, e Entry) (Entry, error) {
	_, h, err := link(tx, 0)
	if err != nil {
		return e, err
	}
	e, h, err = chain(tx, h, e)
	if err != nil {
		return e, err
	}
	return e, kvjson.Put(tx, headKey, h)
}

// AppendPending records e in the transaction that makes the change e records, as a
// pending entry (see "Pending entries" above): it gets its seq and hash when [Link]
// puts it in the chain. It reads and writes no key that another change writes.
func AppendPending(tx storage.Tx, e Entry) error {
	e.Seq, e.PrevHash, e.Hash = 0, "", ""
	e.Time, e.DeletedDate, e.ScheduledPurgeDate = e.Time.UTC(), e.DeletedDate.UTC(), e.ScheduledPurgeDate.UTC()
	var buf bytes.Buffer
	marshalEntry(&buf, e)
	b := buf.Bytes()
	at := e.Time.UnixNano()
	tail := tailKey(e)
	switch v, err := tx.Get(tail); {
	case err == nil:
		if last, perr := strconv.ParseInt(string(v), 10, 64); perr == nil && last >= at {
			at = last + 1
		}
	case !errors.Is(err, storage.ErrNotFound):
		return err
	}
	if err := tx.Put(tail, strconv.AppendInt(nil, at, 10)); err != nil {
		return err
	}
	return tx.Put(pendingKey(at), b)
}

// Link moves up to max pending entries (0 → 1000) into the chain, in key order, and
// returns how many it moved; fewer than max means none are left. It reads the head
// first: a Tx that locks what it reads (PostgreSQL) thereby keeps any other Link from
// linking the same entries, and lists the pending entries only once it holds the head.
func Link(tx storage.Tx, max int) (int, error) {
	n, _, err := link(tx, max)
	return n, err
}

// link is Link, returning also the head after it: the one an append that follows in
// the same transaction chains to, without reading it again.
func link(tx storage.Tx, max int) (int, Head, error) {
	if max <= 0 {
		max = 1000
	}
	h, err := ReadHead(tx)
	if err != nil {
		return 0, h, err
	}
	es, err := tx.Scan(pendingPrefix, "", max)
	if err != nil || len(es) == 0 {
		return 0, h, err
	}
	for _, kv := range es {
		e, err := decodeEntry(kv)
		if err != nil {
			return 0, h, err
		}
		if _, h, err = chain(tx, h, e); err != nil {
			return 0, h, err
		}
		if err := tx.Delete(kv.Key); err != nil {
			return 0, h, err
		}
	}
	return len(es), h, kvjson.Put(tx, headKey, h)
}

// PendingCount returns how many entries wait for [Link].
func PendingCount(tx storage.Tx) (int64, error) {
	var n int64
	after := ""
	for {
		es, err := tx.Scan(pendingPrefix, after, 1000)
		if err != nil {
			return n, err
		}
		n += int64(len(es))
		if len(es) < 1000 {
			return n, nil
		}
		after = es[len(es)-1].Key
	}
}

// AppendAll appends es in their order, as many calls of [Append] would (linking the
// pending entries first), but reads and writes the head once: for a transaction that records many changes (the sweeper's
// purges).
func AppendAll(tx storage.Tx, es []Entry) error {
	_, h, err := link(tx, 0)
	if err != nil {
		return err
	}
	for _, e := range es {
		if _, h, err = chain(tx, h, e); err != nil {
			return err
		}
	}
	return kvjson.Put(tx, headKey, h)
}

// chain stores e as the entry after h and returns it and the new head (not stored).
func chain(tx storage.Tx, h Head, e Entry) (Entry, Head, error) {
	e.Time, e.DeletedDate, e.ScheduledPurgeDate = e.Time.UTC(), e.DeletedDate.UTC(), e.ScheduledPurgeDate.UTC()
	e.Seq, e.PrevHash = h.Seq+1, h.Hash
	var b []byte
	e.Hash, b = hashAndEncode(e)
	if err := tx.Put(entryKey(e.Seq), b); err != nil {
		return e, h, err
	}
	return e, Head{Seq: e.Seq, Count: h.Count + 1, Hash: e.Hash}, nil
}

// Filter selects entries for [List]; empty fields match everything. Vault and Name
// compare case-insensitively.
type Filter struct {
	Vault, Name, Kind string
	After             int64 // only entries with a larger seq
	Limit             int   // at most this many; 0 → 1000
}

// List returns the entries that match f in seq order, and the seq to pass as After for
// the next page (0 when there is none).
func List(tx storage.Tx, f Filter) (out []Entry, next int64, err error) {
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	after := ""
	if f.After > 0 {
		after = entryKey(f.After)
	}
	out = []Entry{}
	for {
		es, err := tx.Scan(entryPrefix, after, 1000)
		if err != nil {
			return nil, 0, err
		}
		for _, kv := range es {
			e, err := decodeEntry(kv)
			if err != nil {
				return nil, 0, err
			}
			if e.Action == ActionPrune && (f.Vault != "" || f.Name != "" || f.Kind != "") {
				continue
			}
			if f.Vault != "" && !strings.EqualFold(e.Vault, f.Vault) || f.Name != "" && !strings.EqualFold(e.Name, f.Name) ||
				f.Kind != "" && !strings.EqualFold(e.Kind, f.Kind) {
				continue
			}
			if len(out) == f.Limit {
				return out, out[len(out)-1].Seq, nil
			}
			out = append(out, e)
		}
		if len(es) < 1000 {
			return out, 0, nil
		}
		after = es[len(es)-1].Key
	}
}

// TamperError says where the chain is broken.
type TamperError struct {
	Seq     int64  // the entry (or head) where the walk found the break
	Problem string // what is wrong, for a person
}

func (e *TamperError) Error() string {
	return fmt.Sprintf("ledger: chain broken at seq %d: %s", e.Seq, e.Problem)
}

// Result is what [Verify] found.
type Result struct {
	Head       Head        `json:"head"`
	Count      int64       `json:"count"` // entries walked
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`
	// Pending counts the entries recorded but not yet linked into the chain
	// ([AppendPending]); the chain does not cover them yet.
	Pending int64 `json:"pending,omitempty"`
}

// Verify walks the chain from the checkpoint to the head. A broken chain is a
// *[TamperError]; other errors are storage failures. Each anchor (a head copied out of
// storage) must be either pruned or still in the chain with its hash.
func Verify(tx storage.Tx, anchors ...Anchor) (Result, error) {
	var res Result
	head, err := ReadHead(tx)
	if err != nil {
		return res, err
	}
	res.Head = head
	cp, haveCP, err := readCheckpoint(tx)
	if err != nil {
		return res, err
	}
	prevSeq, prevHash := int64(0), ""
	if haveCP {
		res.Checkpoint = &cp
		prevSeq, prevHash = cp.Seq, cp.Hash
	}
	want := map[int64]string{}
	for _, a := range anchors {
		if a.Seq > head.Seq {
			return res, &TamperError{Seq: a.Seq, Problem: fmt.Sprintf("an anchor names entry %d but the head is at %d: entries were removed from the end and the head rewritten", a.Seq, head.Seq)}
		}
		if a.Seq > prevSeq {
			want[a.Seq] = strings.ToLower(a.Hash)
		}
	}
	var lastPrune *Entry
	after := ""
	for {
		es, err := tx.Scan(entryPrefix, after, 1000)
		if err != nil {
			return res, err
		}
		for _, kv := range es {
			e, err := decodeEntry(kv)
			if err != nil {
				return res, &TamperError{Seq: prevSeq + 1, Problem: "the entry at " + kv.Key + " is not valid JSON"}
			}
			switch {
			case kv.Key != entryKey(e.Seq):
				return res, &TamperError{Seq: e.Seq, Problem: "the entry at " + kv.Key + " says it is seq " + strconv.FormatInt(e.Seq, 10)}
			case e.Seq != prevSeq+1:
				return res, &TamperError{Seq: prevSeq + 1, Problem: fmt.Sprintf("entries %d to %d are missing", prevSeq+1, e.Seq-1)}
			case e.PrevHash != prevHash:
				return res, &TamperError{Seq: e.Seq, Problem: "its prevHash does not match the previous entry's hash (an earlier entry was changed or replaced)"}
			case hash(e) != e.Hash:
				return res, &TamperError{Seq: e.Seq, Problem: "its content does not match its hash (the entry was edited)"}
			}
			if h, ok := want[e.Seq]; ok && h != e.Hash {
				return res, &TamperError{Seq: e.Seq, Problem: "its hash differs from the one recorded outside storage (the chain was rewritten)"}
			}
			delete(want, e.Seq)
			if e.Action == ActionPrune {
				lastPrune = &e
			}
			prevSeq, prevHash = e.Seq, e.Hash
			res.Count++
		}
		if len(es) < 1000 {
			break
		}
		after = es[len(es)-1].Key
	}
	switch {
	case prevSeq != head.Seq || prevHash != head.Hash:
		return res, &TamperError{Seq: prevSeq, Problem: fmt.Sprintf("the chain ends at entry %d but the head names entry %d (entries were removed from the end, or the head was changed)", prevSeq, head.Seq)}
	case res.Count != head.Count:
		return res, &TamperError{Seq: head.Seq, Problem: fmt.Sprintf("the head counts %d entries but %d are stored", head.Count, res.Count)}
	case haveCP && (lastPrune == nil || lastPrune.PrunedThrough != cp.Seq || lastPrune.PrunedHash != cp.Hash):
		return res, &TamperError{Seq: cp.Seq, Problem: "the checkpoint does not match the newest prune entry in the chain (entries were removed at the start)"}
	case !haveCP && lastPrune != nil:
		return res, &TamperError{Seq: lastPrune.Seq, Problem: "a prune entry exists but the checkpoint is missing"}
	}
	for seq := range want {
		return res, &TamperError{Seq: seq, Problem: "an entry recorded outside storage is missing"}
	}
	res.Pending, err = PendingCount(tx)
	return res, err
}

// Prune removes up to max entries (0 → 1000) older than before, oldest first, and,
// when it removed any, appends a prune entry and moves the checkpoint. now dates the
// prune. It returns how many entries it removed. Prune entries are removed like any
// other once old enough; the one appended here then continues the chain.
func Prune(tx storage.Tx, before, now time.Time, max int) (int, error) {
	if max <= 0 {
		max = 1000
	}
	_, head, err := link(tx, 0)
	if err != nil {
		return 0, err
	}
	es, err := tx.Scan(entryPrefix, "", max)
	if err != nil {
		return 0, err
	}
	var last Entry
	n := 0
	for _, kv := range es {
		e, err := decodeEntry(kv)
		if err != nil {
			return n, err
		}
		if !e.Time.Before(before) {
			break
		}
		if err := tx.Delete(kv.Key); err != nil {
			return n, err
		}
		last = e
		n++
	}
	if n == 0 {
		return 0, nil
	}
	head.Count -= int64(n)
	if err := kvjson.Put(tx, headKey, head); err != nil {
		return n, err
	}
	if err := kvjson.Put(tx, checkpointKey, Checkpoint{Seq: last.Seq, Hash: last.Hash, Time: now.UTC()}); err != nil {
		return n, err
	}
	_, err = Append(tx, Entry{Time: now, Action: ActionPrune, Principal: Sweeper, PrunedThrough: last.Seq, PrunedHash: last.Hash,
		Note: fmt.Sprintf("%d entries older than %s removed by the ledger's retention", n, before.UTC().Format(time.RFC3339))})
	return n, err
}

// Oldest returns the time of the oldest entry; ok is false for an empty ledger.
func Oldest(tx storage.Tx) (t time.Time, ok bool, err error) {
	es, err := tx.Scan(entryPrefix, "", 1)
	if err != nil || len(es) == 0 {
		return t, false, err
	}
	e, err := decodeEntry(es[0])
	if err != nil {
		return t, false, err
	}
	return e.Time, true, nil
}
