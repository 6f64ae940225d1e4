// Package postgres implements [storage.Backend] on PostgreSQL (through pgx v5), the storage
// for several Coffer servers sharing one database. It owns the database schema: one
// key-value table, created and migrated by [Open] itself (see schema.go). Values are stored
// as given (encryption is the barrier's job). It must not import any Coffer package other
// than storage: it knows no vaults, no domain, no encryption.
//
// Start with [Open] and [DB.Update] in db.go; the SQL statements are in tx.go, the schema
// and its migrations in schema.go.
//
// # Keys and order
//
// Keys are stored as bytea, not text: bytea compares byte by byte (memcmp, then length),
// which is exactly bbolt's order, so [storage.Tx.Scan] returns the same keys in the same
// order with the same `after` semantics on both backends, whatever the database's encoding
// and collation (a text key under a locale collation would sort "a/Z" after "a/b", and a
// LATIN1 database would re-encode "é"). bytea also takes every Go string, including NUL and
// invalid UTF-8, as bbolt does. Scan selects a key range (key >= prefix AND key <
// successor(prefix)), never LIKE, so '_' and '%' in keys are ordinary bytes.
//
// # Isolation: locks on every key an Update touches
//
// [DB.Update] runs its function in a READ COMMITTED transaction whose [storage.Tx] locks
// what it touches until the commit (strict two-phase locking on keys; tx.go):
//
//   - Get takes a transaction-scoped advisory lock on the key's hash (two-key form, class
//     [absentLockClass]) in exclusive mode, then reads the row FOR UPDATE in a new
//     statement of the same round trip: a row committed while it waited is seen and
//     locked, and the absence it reports holds until the commit (a key with no row has
//     nothing else to lock);
//   - GetShared ([storage.SharedGetter]) takes the key's advisory lock shared, then
//     reads: for a record many transactions depend on without changing it; GetExclusive
//     takes it exclusive, then reads FOR UPDATE, for the transaction that changes it;
//   - Put and Delete lock the rows they write, and a Put that creates a row takes the
//     key's advisory lock too, in the same statement.
//
// A decision made from keys read with Get therefore rests on data that cannot change
// before the commit: no lost update, no write skew (storagetest's no-write-skew test). A
// Scan in an Update is not locked; the storage contract makes a decision from a scan rest
// on a Get of a key every writer of the range touches. Why not SERIALIZABLE: it aborts a
// transaction whose reads another invalidated instead of making it wait, and its
// predicate locks on index pages made unrelated changes conflict (about 2.5 failures per
// delete at 64 clients, and 503s after 30 attempts).
//
// When PostgreSQL still aborts a transaction with deadlock_detected (40P01: two
// transactions locked keys in opposite orders) or serialization_failure (40001), Update
// rolls back and runs the function again, up to [maxAttempts] times with jittered
// exponential backoff; [storage.Backend] allows this.
//
// [DB.View] runs in a REPEATABLE READ READ ONLY transaction: one consistent snapshot, no
// locks, never aborted. Two hints make Views cheaper: [storage.Prefetch] names keys
// that are read with the View's next read, in the same statement (a get reads its
// vault's record, the object and its version together), and [storage.NoSnapshot],
// before the first read, runs each read with no transaction around it, for a View whose
// reads need not share a snapshot (one statement and one round trip instead of BEGIN,
// the read and COMMIT in two; up to four keys are read through pgconn directly, see
// readPrepared).
//
// # Durability
//
// Update returns nil only after PostgreSQL's COMMIT has returned. Every connection runs
// with synchronous_commit at least "local" (a server or DSN setting of "off" is raised to
// "on" when the connection is made), so a committed transaction is flushed to the WAL
// (and to synchronous standbys, where configured) before Update returns. PostgreSQL
// already batches WAL flushes of concurrent commits, so there is no group commit here;
// the pool holds up to [defaultMaxConns] connections (pool_max_conns in the DSN overrides
// it).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coffer/coffer/internal/storage"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

const (
	// defaultMaxConns is the pool size unless the DSN sets pool_max_conns: enough for
	// concurrent requests of one server, few enough for several servers on one database
	// under PostgreSQL's default max_connections (100).
	defaultMaxConns = 32
	// maxAttempts bounds how often [DB.Update] runs its function when PostgreSQL keeps
	// aborting it for serialization failures or deadlocks. Measured on one counter key
	// incremented through two DBs (64 connections): 256 goroutines all succeed within 19
	// attempts with these values, while 20 attempts with a 200 ms cap left some failing.
	maxAttempts = 30
	// backoffBase and backoffCap bound the random wait before a retry: uniformly in
	// [0, min(backoffCap, backoffBase·2^attempt)) ("full jitter"), so that transactions
	// that conflicted once do not collide again in lockstep.
	backoffBase = 2 * time.Millisecond
	backoffCap  = 500 * time.Millisecond
)

var (
	// ErrClosed is returned by [DB.View] and [DB.Update] after [DB.Close].
	ErrClosed = errors.New("postgres: database closed")
	// ErrSchemaTooNew is returned (wrapped) by [Open] when the database was migrated by a
	// newer Coffer than this one.
	ErrSchemaTooNew = errors.New("postgres: database schema is newer than this Coffer")
)

// DB is a [storage.Backend] on a PostgreSQL database. It is safe for concurrent use, and
// several DBs (in one or several processes) may share one database.
type DB struct {
	pool *pgxpool.Pool
	// prepares: the connections prepare their statements (pgx's default query mode), so
	// a read without a snapshot may prepare its own (readPrepared, tx.go). A DSN that sets
	// default_query_exec_mode to another mode (e.g. for a pooler that keeps no prepared
	// statements) gets pgx's batches for every read instead.
	prepares bool
	closed   atomic.Bool
	retries  atomic.Int64 // Update attempts that were retried, for tests and metrics

	closeOnce sync.Once
}

var _ storage.Backend = (*DB)(nil)

// Open connects to the PostgreSQL database named by dsn (a postgres:// URL or a
// key=value connection string, as libpq takes), creates or migrates Coffer's schema in
// the first schema of the connection's search_path, and returns the DB. The error never
// contains the DSN's password.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse DSN: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	cfg.AfterConnect = ensureSyncCommit
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &DB{pool: pool, prepares: cfg.ConnConfig.DefaultQueryExecMode == pgx.QueryExecModeCacheStatement}, nil
}

// ensureSyncCommit raises synchronous_commit from "off" to "on" on a new connection:
// Update promises that a committed transaction survives a crash.
func ensureSyncCommit(ctx context.Context, c *pgx.Conn) error {
	var mode string
	if err := c.QueryRow(ctx, "SELECT current_setting('synchronous_commit')").Scan(&mode); err != nil {
		return fmt.Errorf("postgres: read synchronous_commit: %w", err)
	}
	if mode != "off" {
		return nil
	}
	if _, err := c.Exec(ctx, "SET synchronous_commit = on"); err != nil {
		return fmt.Errorf("postgres: set synchronous_commit: %w", err)
	}
	return nil
}

var (
	viewOptions   = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	updateOptions = pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite}
)

// View runs fn in a REPEATABLE READ READ ONLY transaction: one snapshot of the database.
// Puts and Deletes in fn fail. A panic in fn rolls back and propagates.
func (db *DB) View(ctx context.Context, fn func(storage.Tx) error) error {
	if err := db.check(ctx); err != nil {
		return err
	}
	t := &tx{ctx: ctx, db: db, opts: viewOptions}
	defer t.end()
	if err := fn(t); err != nil {
		return markUnavailable(err)
	}
	if t.err != nil {
		// fn ignored a failed statement; its result may rest on a read that never happened.
		return markUnavailable(t.err)
	}
	if err := t.commit(); err != nil {
		return markUnavailable(fmt.Errorf("postgres: view: commit: %w", err))
	}
	return nil
}

// Update runs fn in a READ COMMITTED transaction that locks every key fn reads or
// creates (see the package comment) and returns once PostgreSQL has committed it, or fn's
// error (nothing fn wrote is kept). When PostgreSQL aborts the transaction for a
// deadlock or a serialization failure, fn runs again in a new transaction, up to
// [maxAttempts] times in all (see the package comment); an attempt in which any statement
// failed that way is retried whatever fn returned. A panic in fn rolls back and
// propagates. fn must not call Update or View on the same DB: it would hold a connection
// while waiting for another, forever once the pool is exhausted.
func (db *DB) Update(ctx context.Context, fn func(storage.Tx) error) error {
	for attempt := 1; ; attempt++ {
		if err := db.check(ctx); err != nil {
			return err
		}
		retry, err := db.attempt(ctx, fn)
		if !retry {
			return markUnavailable(err)
		}
		if attempt == maxAttempts {
			return fmt.Errorf("postgres: update: gave up after %d attempts: %w (%w)", attempt, storage.ErrBusy, err)
		}
		db.retries.Add(1)
		wait := min(backoffCap, backoffBase<<min(attempt, 16))
		timer := time.NewTimer(rand.N(wait))
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		}
	}
}

// attempt runs fn once in a new transaction. retry reports that the
// transaction failed in a way that running fn again may cure.
func (db *DB) attempt(ctx context.Context, fn func(storage.Tx) error) (retry bool, err error) {
	t := &tx{ctx: ctx, db: db, opts: updateOptions, writable: true}
	defer t.end()
	fnErr := fn(t)
	switch {
	case t.err != nil && retryable(t.err):
		return true, t.err
	case fnErr != nil:
		return false, fnErr
	case t.err != nil:
		// fn ignored a failed statement: PostgreSQL has aborted the transaction.
		return false, t.err
	}
	if err := t.commit(); err != nil {
		return retryable(err), fmt.Errorf("postgres: update: commit: %w", err)
	}
	return false, nil
}

// retryable reports whether a transaction that failed with err may succeed when run
// again: PostgreSQL aborted it for a serialization failure or a deadlock, or the
// statement never reached the server (pgconn.SafeToRetry), so nothing was committed.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	return pgconn.SafeToRetry(err)
}

// markUnavailable wraps [storage.ErrUnavailable] into err when PostgreSQL refused the
// work for a reason that passes by itself and wrote nothing (see unavailable).
func markUnavailable(err error) error {
	if err == nil || !unavailable(err) || errors.Is(err, storage.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w (%w)", storage.ErrUnavailable, err)
}

// unavailable reports whether err says that PostgreSQL cannot do the work for now, in a
// way that leaves nothing written: it answered that it is out of disk, memory or
// connections (class 53: disk_full, out_of_memory, too_many_connections, …) or is still
// starting (57P03 cannot_connect_now), or it could not be reached at all. A connection
// lost while a COMMIT was on its way is not among them: whether it committed is unknown.
func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "53") || pgErr.Code == "57P03"
	}
	var connectErr *pgconn.ConnectError
	return errors.As(err, &connectErr)
}

// beginError reports a failure to start a transaction, as ErrClosed when Close won the
// race against this call.
func (db *DB) beginError(err error) error {
	if db.closed.Load() {
		return ErrClosed
	}
	return fmt.Errorf("postgres: begin: %w", err)
}

// Close waits for the transactions in progress to return their connections, then closes
// every connection. Later View and Update calls fail with [ErrClosed]; later calls of
// Close do nothing.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.closed.Store(true)
		db.pool.Close()
	})
	return nil
}

// check reports why a transaction must not start.
func (db *DB) check(ctx context.Context) error {
	if db.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}
