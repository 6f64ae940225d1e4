// Package bbolt implements [storage.Backend] on one embedded bbolt file, Coffer's default
// storage (DIR/coffer.db). It owns the file format: a single bucket holds every key, values
// are stored as given (encryption is the barrier's job). It must not import any Coffer
// package other than storage.
//
// Start with [Open] and [DB.Update] in db.go; the committer goroutine is in batch.go, the
// write-ahead log in wal.go, the overlays of what the log holds over the file in
// overlay.go, checkpoints in checkpoint.go, and the adapter to [storage.Tx] in tx.go. A file is verified before bbolt sees it
// ([Verify], verify.go: bbolt panics on damage), and the txid record (txid.go) tells a file
// older than what was acknowledged; a full disk is a temporary failure (unavailable.go).
//
// # Group commit, through a write-ahead log
//
// An fsync costs milliseconds, so one per [DB.Update] caps throughput at a few hundred
// writes per second per disk. Instead, Update hands its function to a single committer
// goroutine, which takes the first waiting request plus every other request already queued
// (up to [maxBatch]), runs them in order on the overlay, appends their changes to the
// write-ahead log as one record and fsyncs it once. There is no timer: a batch is whatever
// queued while the previous one was syncing, so a lone writer pays no extra latency. The
// changes reach the bbolt file at a checkpoint, many batches in one bbolt transaction,
// beside the committer whenever a round of the log has grown to its working size, and at
// Close.
//
// [DB.UpdateBackground] (the sweeper's purges) commits its function in a batch of its
// own, on a thread of lower priority (lowpriority.go), so that the processor work of a
// large purge gives way to the requests served meanwhile; so do checkpoints.
//
// When one function in a batch returns an error or panics, its changes are taken back
// and that caller alone gets its error (or its panic, re-raised in its own goroutine); the
// others' changes stand. A function that ends its goroutine (runtime.Goexit) takes the
// whole batch back, and the others run again: one reason why [storage.Backend] allows a
// backend to run an Update function more than once.
//
// Reads ([DB.View]) read the overlay as the last answered batch left it, over a bbolt
// read transaction, and run concurrently with each other and with the committer.
package bbolt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coffer/coffer/internal/storage"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// DefaultLockTimeout is how long [Open] waits for the file lock when
// [Options.LockTimeout] is zero.
const DefaultLockTimeout = 100 * time.Millisecond

// maxBatch caps how many Update functions share one commit, bounding the size of a bbolt
// transaction and the cost of re-running a batch after one function fails.
const maxBatch = 1024

// initialMmapSize is mapped up front so that a growing file rarely needs a remap, which
// waits for every open read transaction. It reserves address space, not memory or disk.
const initialMmapSize = 256 << 20

// noFreelistSync is false: see Open. A variable only so that a benchmark can measure
// what writing the free list costs against the rebuild at open.
var noFreelistSync = false

// maxSyncedFreePages is the largest free list written with every commit (see
// freelistPolicy): 2,048 page ids, 16 KiB, four pages more per commit at most.
var maxSyncedFreePages = 2048

// bucket is the one bucket that holds every key.
var bucket = []byte("coffer")

var (
	// ErrInUse is returned (wrapped) by [Open] when another process, or another [DB] in
	// this process, holds the file lock.
	ErrInUse = errors.New("bbolt: data dir in use")
	// ErrClosed is returned by [DB.View] and [DB.Update] after [DB.Close].
	ErrClosed = errors.New("bbolt: database closed")
)

// Options configures [Open].
type Options struct {
	// LockTimeout bounds the wait for the exclusive file lock; zero means
	// [DefaultLockTimeout].
	LockTimeout time.Duration
	// Log receives what the committer has to say when no caller is there to hear it: that
	// the disk is full and writes are refused, and that they succeed again; that the txid
	// record could not be written. Nil: discarded.
	Log *slog.Logger
	// TxidFile, when set, is the txid record (see txid.go): the id of every committed
	// transaction is written there before Update returns, and Open refuses a file older
	// than the record says ([ErrStale]). Open creates the record when it is missing.
	TxidFile string
	// ReadOnly opens the file for reading only, with a shared lock (other readers may
	// open it too, a writer may not): Update fails, nothing is written, and the txid
	// record is neither compared nor written (see [ReadTxidRecord]).
	ReadOnly bool
	// StartPages bounds the pages Open's structural check reads ([VerifyTop]): zero
	// means [DefaultStartPages], a negative value every page ([Verify]).
	StartPages int
	// Restore receives, when a writable Open replays the write-ahead log, the lines the
	// log holds that were given to [DB.Journal] (the audit log's request records), before
	// they leave the log: it must make them durable where they belong. An error fails
	// Open. Without it, Open refuses a log that holds such lines rather than drop them.
	Restore func(lines [][]byte) error
	// BeforeCheckpoint runs before every checkpoint, which lets go of the lines given to
	// [DB.Journal] since the last one: it must make them durable where they belong (the
	// audit log's sync). An error fails the checkpoint, which is tried again later.
	BeforeCheckpoint func() error
}

// DefaultStartPages is how many pages Open's check reads at most when
// [Options.StartPages] is zero: 4 MiB of 4 KiB pages, the whole of a small file, the
// upper levels of a large one, so that a start costs the same at any size.
const DefaultStartPages = 1024

// DB is a [storage.Backend] stored in one bbolt file. It is safe for concurrent use.
type DB struct {
	bolt     *bolt.DB
	path     string
	log      *slog.Logger
	readOnly bool
	verified *Report       // what Open's Verify found (meta-page problems at most)
	rec      *txidRecord   // nil without Options.TxidFile
	reqs     chan *request // unbuffered: a request is queued while its sender waits
	quit     chan struct{} // closed by Close
	done     chan struct{} // closed when the committer has exited

	closeOnce sync.Once
	closeErr  error

	// full is set while commits fail for want of disk space (see commitError); recFailed
	// while the txid record cannot be written (see record).
	full, recFailed atomic.Bool
	// unsynced is set while the last commit left the free list unwritten (a large one,
	// see freelistPolicy): Close writes it. Only the committer, then Close, touch it.
	unsynced bool
	// beforeRecord, when set (by tests), runs between a commit and its record.
	beforeRecord func(txid uint64)
	// held is a background request the committer took from the queue while it made up a
	// batch of others: it is the next batch (see next). Only the committer touches it.
	held *request

	// The write-ahead log, the overlays and checkpoints (wal.go, overlay.go,
	// checkpoint.go). live is the committer's overlay, frozen the one being checkpointed
	// (nil: none), fileTxid the file's transaction they lie on; undo the changes of the
	// batch being run; snap what Views read; ckpt the result of the checkpoint running
	// beside the committer (nil: none). broken is set when a flush failed after its
	// write, and refuses every later batch (see logChanges); ckptFailed while checkpoints
	// fail (logged once). Only the committer touches them, snap aside.
	wal        *wal
	live       *overlay
	frozen     *overlay
	fileTxid   uint64
	undo       []undo
	snap       atomic.Pointer[published]
	ckpt       chan ckptResult
	broken     error
	ckptFailed bool

	// notes are the lines given to Journal that no record holds yet. flushing is set
	// while a request to log them on their own is on its way (see Journal); refusing
	// once the DB refuses every write (broken).
	notesMu  sync.Mutex
	notes    [][]byte
	flushing atomic.Bool
	refusing atomic.Bool

	restore          func(lines [][]byte) error
	beforeCheckpoint func() error
}

var _ storage.Backend = (*DB)(nil)

// errReadOnly is Update's error on a DB opened with [Options.ReadOnly].
var errReadOnlyDB = errors.New("bbolt: the database is open read-only")

// Open opens the bbolt file at path, creating it with mode 0600 if needed. If the file
// lock cannot be taken within opts.LockTimeout, the error wraps [ErrInUse].
//
// Before bbolt sees an existing file, Open verifies its structure ([Verify]) under a shared
// lock: a damaged file is a *[CorruptError] (wrapping [ErrCorrupt]), never a panic, and
// with opts.TxidFile a file older than its txid record is a *[StaleError] (wrapping
// [ErrStale]). A meta page that does not validate is not damage in itself — bbolt uses the
// other one, and rewrites this one at its next commit — so it is refused only when the
// txid record shows that a committed transaction is missing, and logged otherwise.
func Open(path string, opts Options) (*DB, error) {
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.StartPages == 0 {
		opts.StartPages = DefaultStartPages
	}
	rep, err := preflight(path, opts, timeout)
	if err != nil {
		return nil, err
	}
	if rep != nil {
		for _, p := range rep.Problems {
			log.Warn("a meta page of the database file does not validate; bbolt uses the other one, and nothing committed is missing from it", "path", path, "problem", p.Text)
		}
	}
	bdb, err := openBolt(path, &bolt.Options{
		Timeout:  timeout,
		ReadOnly: opts.ReadOnly,
		// The free list is written (see freelistPolicy in batch.go) rather than rebuilt
		// at open by reading every page of the file, which made a start cost grow with
		// the file (22 s for a 1.2 GB file out of the page cache). A file written
		// without it has none: bbolt rebuilds it once, at that first open, and writes it.
		NoFreelistSync:  noFreelistSync,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: initialMmapSize,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s is locked by another process", ErrInUse, path)
	}
	if err != nil {
		return nil, err
	}
	txid, err := prepare(bdb, opts.ReadOnly)
	if err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("bbolt: open %s: %w", path, err)
	}
	var rec *txidRecord
	if opts.TxidFile != "" && !opts.ReadOnly {
		if rec, err = openTxidRecord(opts.TxidFile, txid); err != nil {
			_ = bdb.Close()
			return nil, err
		}
	}
	db := &DB{
		bolt:     bdb,
		path:     path,
		log:      log,
		readOnly: opts.ReadOnly,
		verified: rep,
		rec:      rec,
		reqs:     make(chan *request),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		live:     newOverlay(),

		restore:          opts.Restore,
		beforeCheckpoint: opts.BeforeCheckpoint,
	}
	if err := db.replay(txid); err != nil {
		_ = bdb.Close()
		if rec != nil {
			_ = rec.close()
		}
		return nil, err
	}
	go db.run(nil)
	return db, nil
}

// replay loads what the write-ahead log holds beyond the file's transaction txid (the
// batches acknowledged since the last checkpoint, when the server stopped without one)
// into the overlays: the round on txid, and the one begun on txid+1 while its checkpoint
// ran, which then did not land (frozen below live, as they were). A writable DB then
// checkpoints them, so that the file holds every acknowledged write before the first
// batch; a read-only one keeps them in the overlays.
func (db *DB) replay(txid uint64) error {
	var rounds []walRound
	var err error
	if db.readOnly {
		rounds, err = readWALFiles(db.path, txid)
	} else {
		db.wal, rounds, err = openWAL(db.path, txid)
	}
	if err != nil {
		return err
	}
	db.fileTxid = txid
	var notes [][]byte
	for _, r := range rounds {
		over := db.live
		if r.base == txid+1 { // a frozen round's successor: the frozen one is below it
			db.frozen, db.live = db.live, newOverlay()
			over = db.live
		}
		for _, it := range r.items {
			over.Set(it)
		}
		notes = append(notes, r.notes...)
	}
	db.publish()
	if db.readOnly || len(rounds) == 0 {
		return nil
	}
	fail := func(err error) error {
		db.wal.close()
		return fmt.Errorf("bbolt: open %s: %w", db.path, err)
	}
	if len(notes) > 0 {
		if db.restore == nil {
			return fail(fmt.Errorf("the write-ahead log holds %d audit request records that the audit log may lack: start the server on this data dir once (it restores them), then try again", len(notes)))
		}
		if err := db.restore(notes); err != nil {
			return fail(fmt.Errorf("restore the audit request records the write-ahead log holds: %w", err))
		}
	}
	if err := db.checkpointAll(); err != nil {
		if errors.Is(err, storage.ErrUnavailable) && db.broken == nil {
			// A full disk: the overlays serve what the log holds meanwhile, the log goes
			// on from its end, and a later checkpoint tries again.
			db.log.Warn("what the write-ahead log holds could not be written into the database file yet (the disk is full); it is served from memory meanwhile", "path", db.path, "err", err)
			return nil
		}
		return fail(fmt.Errorf("write what the write-ahead log holds into the file: %w", err))
	}
	return nil
}

// Journal keeps line (a copy) in the write-ahead log's next record, which a batch
// appends: the next Update made after Journal returns is durable only with it. For the
// audit log's request records (audit.File.SetJournal): a change and its request record
// then share one fdatasync. The lines reach Options.Restore after a crash; a checkpoint
// first runs Options.BeforeCheckpoint.
//
// A line waits for a batch that makes changes, so requests that change nothing would
// pile lines up; once maxNotes wait, they are logged in a record of their own. Once the
// DB refuses every write (see logChanges), no change can follow a line and it is not
// kept.
func (db *DB) Journal(line []byte) {
	if db.refusing.Load() {
		return
	}
	db.notesMu.Lock()
	db.notes = append(db.notes, slices.Clone(line))
	many := len(db.notes) >= maxNotes
	db.notesMu.Unlock()
	if many && db.flushing.CompareAndSwap(false, true) {
		go func() {
			defer db.flushing.Store(false)
			_ = db.send(context.Background(), &request{notes: true, done: make(chan outcome, 1)})
		}()
	}
}

// maxNotes is how many lines may wait for a batch before they are logged on their own.
const maxNotes = 1024

// takeNotes returns the lines given to Journal that no record holds yet.
func (db *DB) takeNotes() [][]byte {
	db.notesMu.Lock()
	defer db.notesMu.Unlock()
	n := db.notes
	db.notes = nil
	return n
}

// returnNotes puts back, first, lines taken for a record that was not written.
func (db *DB) returnNotes(n [][]byte) {
	if len(n) == 0 {
		return
	}
	db.notesMu.Lock()
	db.notes = append(n, db.notes...)
	db.notesMu.Unlock()
}

// preflight checks an existing file before bbolt maps it (see Open) and returns what
// Verify found (meta-page problems at most), or nil for a file that does not exist yet.
func preflight(path string, opts Options, timeout time.Duration) (*Report, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, checkNoFile(path, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("bbolt: open: %w", err)
	}
	defer f.Close() // and with it the lock, before bbolt takes its own
	if err := lockShared(f, timeout); err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil {
		return nil, fmt.Errorf("bbolt: open: %w", err)
	} else if fi.Size() == 0 {
		return nil, checkNoFile(path, opts) // bbolt initialises an empty file
	}
	rep, err := VerifyTop(path, opts.StartPages)
	if err != nil {
		return nil, fmt.Errorf("bbolt: open: %w", err)
	}
	var meta []Problem
	for _, p := range rep.Problems {
		if !p.Meta {
			return nil, &CorruptError{Path: path, Report: rep}
		}
		meta = append(meta, p)
	}
	if opts.TxidFile == "" || opts.ReadOnly {
		return rep, nil
	}
	recorded, found, err := ReadTxidRecord(opts.TxidFile)
	if err != nil {
		return nil, err
	}
	if found && recorded > rep.Txid {
		return nil, &StaleError{Path: path, TxidFile: opts.TxidFile, Recorded: recorded, Found: rep.Txid, Meta: meta}
	}
	return rep, nil
}

// checkNoFile refuses to make a new, empty database where the txid record says one was
// committed to.
func checkNoFile(path string, opts Options) error {
	if opts.TxidFile == "" || opts.ReadOnly {
		return nil
	}
	recorded, found, err := ReadTxidRecord(opts.TxidFile)
	if err != nil {
		return err
	}
	if found {
		return &StaleError{Path: path, TxidFile: opts.TxidFile, Recorded: recorded, Missing: true}
	}
	return nil
}

// openBolt is bolt.Open with its panics (and memory faults) turned into a *CorruptError:
// bbolt asserts rather than checks what it reads. Verify has found nothing by then, so
// this is the rare damage Verify cannot see.
func openBolt(path string, o *bolt.Options) (bdb *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			bdb, err = nil, &CorruptError{Path: path, Panic: fmt.Sprint(p)}
		}
	}()
	bdb, err = bolt.Open(path, 0o600, o)
	if err != nil && !errors.Is(err, berrors.ErrTimeout) {
		err = fmt.Errorf("bbolt: open %s: %w", path, err)
	}
	return bdb, err
}

// prepare makes Coffer's bucket in a new file and returns the transaction the file holds.
// It writes nothing to a file that has the bucket already.
func prepare(bdb *bolt.DB, readOnly bool) (uint64, error) {
	var txid uint64
	has := false
	if err := bdb.View(func(tx *bolt.Tx) error {
		txid, has = uint64(tx.ID()), tx.Bucket(bucket) != nil
		return nil
	}); err != nil {
		return 0, err
	}
	if has {
		return txid, nil
	}
	if readOnly {
		return 0, errors.New("the file holds no Coffer bucket: it is not a Coffer database")
	}
	err := bdb.Update(func(tx *bolt.Tx) error {
		txid = uint64(tx.ID())
		_, err := tx.CreateBucket(bucket)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("create bucket: %w", err)
	}
	return txid, nil
}

// Txid returns the id of the last transaction committed to the file (each commit adds one).
func (db *DB) Txid() (uint64, error) {
	var txid uint64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		txid = uint64(tx.ID())
		return nil
	})
	return txid, err
}

// Verified returns what Open's structural check found in an existing file: nil for a new
// file, else a report whose problems are meta pages that do not validate, at most. The
// check is bounded ([Options.StartPages]): see Report.Complete.
func (db *DB) Verified() *Report { return db.verified }

// VerifyFull checks the structure of the whole open file ([Verify]) while it is in use:
// what Open's bounded check left unread. It reads the file with plain reads, not through
// bbolt (nor its memory map, so the process's resident memory does not grow with the
// file), so damage is a problem in the report, never a panic. Pages a concurrent commit
// frees and reuses during the walk would look like damage, so a walk that finds any is
// repeated with a read transaction held, which keeps every page of the transactions it
// sees from reuse (and holds off a remap of the growing file meanwhile): only damage that
// walk confirms is reported. each, when not nil, receives every key and value the first
// walk reads (valid during the call only; a page reused meanwhile may hand it a pair no
// transaction holds, so a caller must confirm what it finds through [DB.View]). It stops
// with ctx's error when ctx ends.
func (db *DB) VerifyFull(ctx context.Context, each func(key, value []byte)) (*Report, error) {
	rep, _, err := verifyDepth(ctx, db.path, 0, each)
	if err != nil || onlyMeta(rep) {
		return rep, err
	}
	btx, err := db.bolt.Begin(false)
	if err != nil {
		return nil, err
	}
	defer btx.Rollback()
	rep, _, err = verifyDepth(ctx, db.path, 0, nil)
	return rep, err
}

// View runs fn in a read-only bbolt transaction. Puts and Deletes in fn fail.
func (db *DB) View(ctx context.Context, fn func(storage.Tx) error) error {
	if err := db.check(ctx); err != nil {
		return err
	}
	err := db.view(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// view runs fn in a bbolt read transaction. Open's check is bounded, so a page below the
// levels it read may be damaged (DB.VerifyFull finds it); a read that meets it must fail,
// not bring the process down: the tx methods turn bbolt's panics into errors wrapping
// [ErrCorrupt] (tx.go), and a memory fault (a page id beyond the mapping) into a panic
// they can recover, for the length of the transaction.
func (db *DB) view(fn func(storage.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	over, under, btx, err := db.begin()
	if err != nil {
		return err
	}
	defer btx.Rollback()
	t := &tx{b: btx.Bucket(bucket), over: over, under: under, path: db.path}
	defer t.invalidate()
	return fn(t)
}

// begin returns what a View reads: the published overlays and a read transaction on the
// file they lie on. A checkpoint of the frozen overlay that commits between taking the
// one and beginning the other puts the frozen overlay in the file: it is then not read.
// Any other commit in between (a checkpoint of both, at Close or Checkpoint) makes them
// disagree, and both are taken again.
func (db *DB) begin() (over, under *overlay, btx *bolt.Tx, err error) {
	for {
		p := db.snap.Load()
		btx, err := db.bolt.Begin(false)
		if err != nil {
			return nil, nil, nil, err
		}
		switch id := uint64(btx.ID()); {
		case id == p.base:
			return p.over, p.under, btx, nil
		case id == p.base+1 && p.under != nil:
			return p.over, nil, btx, nil
		}
		_ = btx.Rollback()
		runtime.Gosched()
	}
}

// Update runs fn in a write transaction shared with concurrent Updates (see the package
// comment) and returns once the transaction is committed and fsynced, or fn's error. A
// panic in fn is re-raised in the caller's goroutine with the same value; nothing fn
// wrote is kept. fn may run more than once, and must not call Update itself (it would
// wait for its own batch).
//
// If ctx ends before the committer has taken the request, Update returns ctx's error and
// fn never runs; once taken, Update waits for the outcome.
func (db *DB) Update(ctx context.Context, fn func(storage.Tx) error) error {
	return db.queue(ctx, fn, false)
}

// UpdateBackground implements [storage.BackgroundUpdater]: Update, committed in a batch of
// its own on a thread of lower priority (see the package comment).
func (db *DB) UpdateBackground(ctx context.Context, fn func(storage.Tx) error) error {
	return db.queue(ctx, fn, true)
}

// Checkpoint writes what the write-ahead log holds into the database file now, in one
// commit, and returns once that commit is on disk (see wal.go). The committer does it by
// itself whenever the log has grown to its working size, and Close does it last; a
// caller needs it only to see the file alone hold every write (tests, measurements).
func (db *DB) Checkpoint(ctx context.Context) error {
	return db.send(ctx, &request{checkpoint: true, done: make(chan outcome, 1)})
}

// queue hands fn to the committer and waits for its outcome (see Update).
func (db *DB) queue(ctx context.Context, fn func(storage.Tx) error, background bool) error {
	return db.send(ctx, &request{fn: fn, done: make(chan outcome, 1), background: background})
}

// send hands r to the committer and waits for its outcome.
func (db *DB) send(ctx context.Context, r *request) error {
	if err := db.check(ctx); err != nil {
		return err
	}
	if db.readOnly {
		return errReadOnlyDB
	}
	select {
	case db.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-db.quit:
		return ErrClosed
	}
	out := <-r.done
	switch {
	case out.panicked:
		panic(out.panicValue)
	case out.goexit:
		runtime.Goexit()
	}
	return out.err
}

// Close waits for the batch being committed, stops the committer and closes the file
// (waiting for open Views). Updates still waiting to join a batch, and every later View
// or Update, fail with [ErrClosed]. Later calls of Close return the first call's result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		close(db.quit)
		<-db.done
		db.closeWAL()
		if err := db.bolt.Close(); err != nil {
			db.closeErr = fmt.Errorf("bbolt: close: %w", err)
		}
		if db.rec != nil {
			if err := db.rec.close(); err != nil && db.closeErr == nil {
				db.closeErr = fmt.Errorf("bbolt: close the txid record: %w", err)
			}
		}
	})
	return db.closeErr
}

// closeWAL checkpoints what the overlay holds, so that a start after a clean stop has
// nothing to replay, and writes the free list when the last commit left it unwritten
// (only then: that commit moves the file past the log's transaction).
func (db *DB) closeWAL() {
	if db.readOnly {
		return
	}
	err := db.broken
	if err == nil {
		err = db.checkpointAll()
	} else {
		db.reap(true) // a checkpoint still running ends before the file closes
	}
	if err != nil {
		db.log.Error("the last checkpoint failed: the next start replays the write-ahead log", "path", db.path, "err", err)
	} else {
		db.syncFreelist()
	}
	if err := db.wal.close(); err != nil && db.closeErr == nil {
		db.closeErr = fmt.Errorf("bbolt: close the write-ahead log: %w", err)
	}
}

// check reports why a transaction must not start.
func (db *DB) check(ctx context.Context) error {
	select {
	case <-db.quit:
		return ErrClosed
	default:
	}
	return ctx.Err()
}
