// Package bbolt implements [storage.Backend] on one embedded bbolt file, Coffer's default
// storage (DIR/coffer.db). It owns the file format: a single bucket holds every key, values
// are stored as given (encryption is the barrier's job). It must not import any Coffer
// package other than storage.
//
// Start with [Open] and [DB.Update] in db.go; the committer goroutine is in batch.go and
// the adapter from a bbolt bucket to [storage.Tx] in tx.go.
//
// # Group commit
//
// An fsync costs milliseconds, so one commit per [DB.Update] caps throughput at a few
// hundred writes per second per disk. Instead, Update hands its function to a single
// committer goroutine, which takes the first waiting request plus every other request
// already queued (up to [maxBatch]), runs them in order in one bbolt write transaction, and
// commits with one fsync. There is no timer: a batch is whatever queued while the previous
// commit was syncing, so a lone writer pays no extra latency.
//
// When one function in a batch returns an error or panics, the whole bbolt transaction is
// rolled back, that caller alone gets its error (or its panic, re-raised in its own
// goroutine), and the others are run again in a fresh transaction. This is why
// [storage.Backend] allows a backend to run an Update function more than once.
//
// Reads ([DB.View]) use bbolt read transactions directly and run concurrently with each
// other and with the committer.
package bbolt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
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
	// the disk is full and writes are refused, and that they succeed again. Nil: discarded.
	Log *slog.Logger
}

// DB is a [storage.Backend] stored in one bbolt file. It is safe for concurrent use.
type DB struct {
	bolt *bolt.DB
	path string
	log  *slog.Logger
	reqs chan *request // unbuffered: a request is queued while its sender waits
	quit chan struct{} // closed by Close
	done chan struct{} // closed when the committer has exited

	closeOnce sync.Once
	closeErr  error

	// full is set while commits fail for want of disk space (see commitError).
	full atomic.Bool
}

var _ storage.Backend = (*DB)(nil)

// Open opens the bbolt file at path, creating it with mode 0600 if needed. If the file
// lock cannot be taken within opts.LockTimeout, the error wraps [ErrInUse].
func Open(path string, opts Options) (*DB, error) {
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: timeout,
		// The freelist is rebuilt by scanning at open instead of written on every
		// commit: fewer pages per commit, a slower open on a very large file.
		NoFreelistSync:  true,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: initialMmapSize,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s is locked by another process", ErrInUse, path)
	}
	if err != nil {
		return nil, fmt.Errorf("bbolt: open: %w", err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	})
	if err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("bbolt: open: create bucket: %w", err)
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db := &DB{
		bolt: bdb,
		path: path,
		log:  log,
		reqs: make(chan *request),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	go db.run(nil)
	return db, nil
}

// View runs fn in a read-only bbolt transaction. Puts and Deletes in fn fail.
func (db *DB) View(ctx context.Context, fn func(storage.Tx) error) error {
	if err := db.check(ctx); err != nil {
		return err
	}
	err := db.bolt.View(func(btx *bolt.Tx) error {
		t := &tx{b: btx.Bucket(bucket)}
		defer t.invalidate()
		return fn(t)
	})
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
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
	if err := db.check(ctx); err != nil {
		return err
	}
	r := &request{fn: fn, done: make(chan outcome, 1)}
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
		if err := db.bolt.Close(); err != nil {
			db.closeErr = fmt.Errorf("bbolt: close: %w", err)
		}
	})
	return db.closeErr
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
