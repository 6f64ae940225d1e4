package audit

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of [FileOptions].
const (
	DefaultMaxSize = 64 << 20 // bytes of one file before it is rotated
	DefaultKeep    = 10       // rotated files kept: audit.log.1 (newest) … audit.log.10
)

// ErrClosed is returned by [File.Record] after [File.Close].
var ErrClosed = errors.New("audit: log closed")

// FileOptions configure [OpenFile].
type FileOptions struct {
	// Path is the log file; "-" writes to Stdout instead (no rotation, no fsync: the
	// reader of the stream owns durability). The file's directory is created (0700) when
	// missing, the file with mode 0600.
	Path string
	// MaxSize rotates the file before a batch would take it past this many bytes; 0 →
	// [DefaultMaxSize].
	MaxSize int64
	// Keep is how many rotated files are kept, Path.1 (newest) to Path.Keep; 0 →
	// [DefaultKeep].
	Keep int
	// Stdout is where Path "-" writes; nil → os.Stdout.
	Stdout io.Writer
	// HandOffOutcomes lets "outcome" records return once the committer holds them, not
	// once they are durable: they follow a change that already happened (or a read), so
	// only "request" records, which gate a change, need to wait for their fsync. A batch
	// of outcomes alone is written at once and fsynced with the next batch that has a
	// record waiting, or [OutcomeSyncDelay] later at most, and at Close: a read-only load
	// pays about ten fsyncs a second, not one per batch.
	HandOffOutcomes bool
}

// File is a [Sink] that appends one JSON line per record to a file, with size-based
// rotation. Record returns once its record is durable (written and fsynced), or with
// the error that kept it from being so: a mutation's request record that fails makes
// the planes refuse the change.
//
// # Group commit
//
// Concurrent Records share fsyncs, as bbolt's batched Update does: each Record hands its
// line to one committer goroutine and waits; the committer takes every line already
// queued (up to 1024), writes them with one write and one fsync, and answers all of them.
// An idle committer waits for nothing, so one writer alone pays one fsync, and 64
// writers pay about one fsync per batch instead of 64.
//
// # Failure and reopening
//
// After a failed write or fsync the file is closed and reopened (at Path) before the
// next batch: the outcome of the failed batch is unknown, so it is reported as failed,
// and a batch that follows a torn line starts on a new line. Before each batch the
// committer also checks that the file it holds is still the one at Path: a file that
// was removed or renamed (external rotation) is recreated, and a removed directory makes
// every Record fail until it is back.
type File struct {
	path    string
	maxSize int64
	keep    int
	out     io.Writer // Path "-": no file

	reqs      chan *fileReq // unbuffered: a send succeeds only when the committer takes it
	handOff   bool
	outcomes  chan *fileReq // HandOffOutcomes: lines nobody waits for
	seq       atomic.Uint64 // the order of Record calls, kept in the file (see run)
	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	// tenant is the log's tenant (SetTenant): records of its principals leave it out.
	tenant atomic.Pointer[string]
	// journal, when set (SetJournal), takes the request records of stored changes.
	journal atomic.Pointer[func(line []byte)]
	// requests are the request records whose outcome is not yet recorded, by request
	// id: an outcome that agrees with its request record is written brief (encode.go).
	reqMu    sync.Mutex
	requests map[string]briefKey

	// Owned by the committer goroutine.
	f    *os.File
	fi   os.FileInfo
	size int64
	buf  []byte
	// headed is the file that got the "log" line naming the tenant (for stdout, any
	// non-nil value once it did).
	headed any
	// unsynced: l.f holds handed-off outcomes written but not yet fsynced; syncBy fires
	// OutcomeSyncDelay after the first of them.
	unsynced bool
	syncBy   *time.Timer
	fsyncs   atomic.Int64 // for tests
}

// briefKey is what a brief outcome leaves to its request record.
type briefKey struct {
	principal                                    Principal
	source, vault, op, objectID, decision, plane string
}

func keyOf(e Event) briefKey {
	return briefKey{e.Principal, e.Source, e.Vault, e.Operation, e.ObjectID, e.Decision, e.Plane}
}

// maxOpenRequests bounds the request records remembered for their outcome: past it
// they are forgotten, and outcomes are written whole.
const maxOpenRequests = 1 << 16

// SetTenant names the server's tenant: from now on records of its principals leave it
// out, and every file starts with a "log" line that names it (see encode.go).
func (l *File) SetTenant(tenant string) { l.tenant.Store(&tenant) }

func (l *File) tenantName() string {
	if t := l.tenant.Load(); t != nil {
		return *t
	}
	return ""
}

// brief reports whether e is an outcome whose request record, already recorded, says
// everything else it would say; it remembers request records for that.
func (l *File) brief(e Event) bool {
	switch e.Phase {
	case "request":
		l.reqMu.Lock()
		if l.requests == nil || len(l.requests) >= maxOpenRequests {
			l.requests = make(map[string]briefKey)
		}
		l.requests[e.RequestID] = keyOf(e)
		l.reqMu.Unlock()
	case "outcome":
		l.reqMu.Lock()
		k, ok := l.requests[e.RequestID]
		delete(l.requests, e.RequestID)
		l.reqMu.Unlock()
		return ok && k == keyOf(e)
	}
	return false
}

type fileReq struct {
	line []byte
	seq  uint64
	done chan error // buffered 1: the committer never blocks on a reply; nil for a handed-off outcome
	// written: the caller waits for the line to be written, not synced (a journaled
	// request record, see SetJournal).
	written bool
}

var reqPool = sync.Pool{New: func() any { return &fileReq{done: make(chan error, 1)} }}

const maxFileBatch = 1024

// OutcomeSyncDelay bounds how long handed-off outcomes stay written but not fsynced
// ([FileOptions].HandOffOutcomes): what a power loss can take of them. A crash of the
// process alone takes nothing once they are written.
const OutcomeSyncDelay = 100 * time.Millisecond

// OpenFile opens (or creates) the audit log and starts its committer.
func OpenFile(opts FileOptions) (*File, error) {
	l := &File{path: opts.Path, maxSize: opts.MaxSize, keep: opts.Keep,
		reqs: make(chan *fileReq), quit: make(chan struct{}), done: make(chan struct{}),
		handOff: opts.HandOffOutcomes, outcomes: make(chan *fileReq, 4*maxFileBatch)}
	if l.maxSize <= 0 {
		l.maxSize = DefaultMaxSize
	}
	if l.keep <= 0 {
		l.keep = DefaultKeep
	}
	switch {
	case l.path == "":
		return nil, errors.New("audit: no log path")
	case l.path == "-":
		l.out = opts.Stdout
		if l.out == nil {
			l.out = os.Stdout
		}
	default:
		if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		if err := l.open(); err != nil {
			return nil, err
		}
	}
	go l.run()
	return l, nil
}

// Path is the log file ("-" for stdout).
func (l *File) Path() string { return l.path }

// Record writes e as one JSON line (encode.go) and returns once it is durable: synced,
// or, for the request record of a stored change with a journal set, written and handed to
// the journal (see SetJournal).
func (l *File) Record(_ context.Context, e Event) error {
	b, err := appendLine(nil, e, l.tenantName(), l.brief(e))
	if err != nil {
		return err
	}
	if l.handOff && e.Phase == "outcome" {
		select {
		case l.outcomes <- &fileReq{line: b, seq: l.seq.Add(1)}:
			return nil
		case <-l.quit:
			return ErrClosed
		}
	}
	journal := l.journal.Load()
	written := journal != nil && e.Phase == "request" && e.Stored
	if err := l.send(b, written); err != nil {
		return err
	}
	if written {
		(*journal)(b)
	}
	return nil
}

// send hands line to the committer and waits until it is written and, unless written is
// set, synced.
func (l *File) send(line []byte, written bool) error {
	r := reqPool.Get().(*fileReq)
	r.line, r.seq, r.written = line, l.seq.Add(1), written
	select {
	case l.reqs <- r:
	case <-l.quit:
		return ErrClosed
	}
	err := <-r.done
	r.line = nil
	reqPool.Put(r)
	return err
}

// SetJournal makes the request records of stored changes (Event.Stored) durable through
// journal rather than a sync of the file: Record writes such a record to the file, hands
// the line to journal and returns, without waiting for an fsync. journal is the embedded
// storage's write-ahead log, which keeps the line in the same record, and the same
// fdatasync, as the change that follows it: a change is never durable without its
// request record, which is the fail-closed rule, for one durable write instead of two.
// The storage calls [File.Sync] before it lets go of lines it holds (a checkpoint), and
// gives the lines a crash left only in its log to [File.Restore] when it opens.
func (l *File) SetJournal(journal func(line []byte)) { l.journal.Store(&journal) }

// Sync returns once every line written so far is durable in the file.
func (l *File) Sync() error { return l.send(nil, false) }

// Restore appends to the file the lines (request records a journal kept, see SetJournal)
// whose request ids it does not hold yet, and syncs it: after a crash, what was written to
// the file but not synced may be missing from it, while the journal kept it. The file
// and the one rotated before it are searched; a line already there is not written again.
func (l *File) Restore(lines [][]byte) (restored int, err error) {
	if len(lines) == 0 || l.out != nil {
		return 0, nil
	}
	have, err := requestIDs(l.path, l.path+".1")
	if err != nil {
		return 0, fmt.Errorf("audit log: read it to restore journaled records: %w", err)
	}
	var missing []byte
	for _, line := range lines {
		if id := requestID(line); id == "" || !have[id] {
			missing = append(missing, line...)
			restored++
		}
	}
	if restored == 0 {
		return 0, nil
	}
	return restored, l.send(missing, false)
}

// requestIDs returns the ids of the request records in the files at paths (a missing
// file holds none).
func requestIDs(paths ...string) (map[string]bool, error) {
	ids := map[string]bool{}
	for _, p := range paths {
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if id := requestID(sc.Bytes()); id != "" {
				ids[id] = true
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// requestID is the request id of line when it is a request record, else "".
func requestID(line []byte) string {
	if !bytes.Contains(line, []byte(`"ph":"req"`)) {
		return ""
	}
	var w wireEvent
	if json.Unmarshal(line, &w) != nil || w.Phase != wirePhase["request"] {
		return ""
	}
	return w.ID
}

// Close answers the records already taken, stops the committer and closes the file.
// Later Records fail with [ErrClosed].
func (l *File) Close() error {
	l.closeOnce.Do(func() {
		close(l.quit)
		<-l.done
	})
	return nil
}

// run is the committer: the only goroutine that writes.
//
// Handed-off outcomes travel apart from the records that wait, so each batch is written
// in the order of the Record calls (seq): a record that followed another one (a client's
// next request after the answer to its last) comes after it in the file. A handed-off
// outcome is queued before its Record returns, so it is in the batch of any record that
// came after it, or an earlier one.
func (l *File) run() {
	defer close(l.done)
	batch := make([]*fileReq, 0, maxFileBatch)
	l.syncBy = time.NewTimer(time.Hour)
	l.syncBy.Stop()
	for {
		batch = l.next(batch[:0])
		if len(batch) == 0 {
			if rest := l.takeOutcomes(nil); len(rest) > 0 && (l.f != nil || l.out != nil) {
				l.write(l.lines(rest), true) // the outcomes handed over before Close
			}
			if l.f != nil {
				l.closeFile()
			}
			return
		}
		batch = l.takeOutcomes(batch)
		waited := false
		for _, r := range batch {
			waited = waited || (r.done != nil && !r.written)
		}
		err := l.write(l.lines(batch), waited)
		for _, r := range batch {
			if r.done != nil {
				r.done <- err
			}
		}
		clear(batch)
		if cap(l.buf) > 4<<20 {
			l.buf = nil // one huge batch does not pin its buffer
		}
		// Let the writers just answered queue again before the next batch is taken
		// (bigger batches, fewer fsyncs; see storage/bbolt's committer).
		runtime.Gosched()
	}
}

// lines is the batch's lines in the order of their Record calls, in l.buf.
func (l *File) lines(batch []*fileReq) []byte {
	slices.SortFunc(batch, func(a, b *fileReq) int { return cmp.Compare(a.seq, b.seq) })
	l.buf = l.buf[:0]
	for _, r := range batch {
		l.buf = append(l.buf, r.line...)
	}
	return l.buf
}

// next waits for a record, then takes every record already queued, up to maxFileBatch.
// It returns an empty batch once Close has been called. Outcomes left unsynced are
// fsynced when their delay is up.
func (l *File) next(batch []*fileReq) []*fileReq {
	for len(batch) == 0 {
		select {
		case r := <-l.reqs:
			batch = append(batch, r)
		case r := <-l.outcomes:
			batch = append(batch, r) // outcomes alone make a batch too
		case <-l.syncBy.C:
			if l.unsynced {
				l.sync()
			}
		case <-l.quit:
			return batch
		}
	}
	for len(batch) < maxFileBatch {
		select {
		case r := <-l.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// write appends b (whole lines), rotating first when b would take the file past
// maxSize, and fsyncs it when durable is set; otherwise within OutcomeSyncDelay.
func (l *File) write(b []byte, durable bool) error {
	tenant := l.tenantName()
	if l.out != nil {
		if tenant != "" && l.headed == nil {
			if _, err := l.out.Write(logLine(tenant)); err != nil {
				return err
			}
			l.headed = l.out
		}
		_, err := l.out.Write(b)
		return err
	}
	if err := l.ensureOpen(); err != nil {
		return err
	}
	if l.size > 0 && l.size+int64(len(b)) > l.maxSize {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	if tenant != "" && l.headed != l.f {
		// Records without a tenant follow it in this file (encode.go).
		b = append(logLine(tenant), b...)
		l.headed = l.f
	}
	n, err := l.f.Write(b)
	l.size += int64(n)
	if err != nil {
		return l.failed(err)
	}
	if !durable {
		if !l.unsynced {
			l.unsynced = true
			l.syncBy.Reset(OutcomeSyncDelay)
		}
		return nil
	}
	return l.sync()
}

// sync fsyncs l.f: every line written to it so far is durable.
func (l *File) sync() error {
	l.unsynced = false
	l.syncBy.Stop()
	l.fsyncs.Add(1)
	if err := l.f.Sync(); err != nil {
		return l.failed(err)
	}
	return nil
}

// closeFile closes l.f, fsyncing first the outcomes left unsynced in it.
func (l *File) closeFile() error {
	var err error
	if l.unsynced {
		err = l.sync()
	}
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	return err
}

// failed closes l.f after a failed write or fsync (it is reopened before the next batch)
// and returns err for the batch.
func (l *File) failed(err error) error {
	l.f.Close()
	l.f = nil
	l.unsynced = false
	return fmt.Errorf("audit log %s: %w", l.path, err)
}

// ensureOpen makes l.f the file at l.path: it reopens after a failure, and when the file
// it holds was removed or renamed.
func (l *File) ensureOpen() error {
	if l.f != nil {
		fi, err := os.Stat(l.path)
		if err == nil && os.SameFile(fi, l.fi) {
			return nil
		}
		l.closeFile() // its unsynced lines first; if that fails there is nothing to retry
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("audit log: %w", err)
		}
	}
	return l.open()
}

// open opens l.path for appending, creating it (0600) in an existing directory. A
// file that ends in a torn line gets a newline first, so the next record is whole.
func (l *File) open() error {
	_, statErr := os.Stat(l.path)
	created := errors.Is(statErr, fs.ErrNotExist)
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("audit log: %w", err)
	}
	if created {
		if err := syncDir(filepath.Dir(l.path)); err != nil {
			f.Close()
			return fmt.Errorf("audit log: %w", err)
		}
	}
	l.f, l.fi, l.size = f, fi, fi.Size()
	if fi.Mode().IsRegular() && l.size > 0 && !endsInNewline(l.path, l.size) {
		if _, err := f.Write([]byte{'\n'}); err != nil {
			f.Close()
			l.f = nil
			return fmt.Errorf("audit log %s: %w", l.path, err)
		}
		l.size++
	}
	return nil
}

func endsInNewline(path string, size int64) bool {
	f, err := os.Open(path)
	if err != nil {
		return true
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], size-1); err != nil {
		return true
	}
	return b[0] == '\n'
}

// rotate renames Path.(i) to Path.(i+1), dropping the oldest, Path to Path.1, and opens
// a new Path.
func (l *File) rotate() error {
	if err := l.closeFile(); err != nil {
		return err
	}
	name := func(i int) string {
		if i == 0 {
			return l.path
		}
		return l.path + "." + strconv.Itoa(i)
	}
	for i := l.keep - 1; i >= 0; i-- {
		if err := os.Rename(name(i), name(i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("audit log: rotate: %w", err)
		}
	}
	return l.open() // syncs the directory: the renames and the new file are durable
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// takeOutcomes appends the handed-over outcomes already queued to batch.
func (l *File) takeOutcomes(batch []*fileReq) []*fileReq {
	for {
		select {
		case r := <-l.outcomes:
			batch = append(batch, r)
		default:
			return batch
		}
	}
}
