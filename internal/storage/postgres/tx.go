package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/storage"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

var (
	// errTxDone is returned when a Tx is used after its function returned.
	errTxDone = errors.New("postgres: transaction used outside its function")
	// errReadOnly is returned by Put and Delete inside [DB.View].
	errReadOnly = errors.New("postgres: write in a read-only transaction")
)

// rollbackTimeout bounds the ROLLBACK sent when a function returns without committing;
// past it pgx closes the connection, which rolls back too.
const rollbackTimeout = 5 * time.Second

// The statements, prepared and cached per connection by pgx. Keys and values are bytea
// (see the package comment). LIMIT NULL means no limit.
const (
	sqlGet = `SELECT value FROM coffer_kv WHERE key = $1`
	// A View's reads (see readsSQL): the keys travel as $1, $2, … and come back with
	// their values.
	sqlRead      = `SELECT key, value FROM coffer_kv WHERE key = $%d`
	sqlReadUnion = ` UNION ALL `
	// In an Update, Get locks the row it reads (see "Isolation" in the package comment).
	sqlGetForUpdate = `SELECT value FROM coffer_kv WHERE key = $1 FOR UPDATE`
	// A key that is absent has no row to lock: its absence is locked by a
	// transaction-scoped advisory lock on (absentLockClass, hash of the key), which Get,
	// GetShared and GetExclusive take before they read, whether the key is there or not
	// (exclusive, shared, exclusive), and a Put that creates the key takes too.
	sqlLockAbsent       = `SELECT pg_advisory_xact_lock($1::int4, $2::int4)`
	sqlLockAbsentShared = `SELECT pg_advisory_xact_lock_shared($1::int4, $2::int4)`
	sqlPut              = `INSERT INTO coffer_kv (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`
	// sqlPutLocking is the Put of an Update: when the row is new (xmax = 0: no update
	// happened), it also takes the key's advisory lock, after the insert, in the same
	// statement — one round trip.
	sqlPutLocking = `WITH w AS (INSERT INTO coffer_kv (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value RETURNING xmax = 0 AS inserted)
		SELECT CASE WHEN inserted THEN (SELECT true FROM pg_advisory_xact_lock($3::int4, $4::int4)) ELSE false END FROM w`
	sqlDelete = `DELETE FROM coffer_kv WHERE key = $1`
	// Scan: $1 is the lower bound (the prefix, inclusive, or `after`, exclusive), $2 the
	// prefix's successor (exclusive), $3 the limit.
	sqlScanFrom         = `SELECT key, value FROM coffer_kv WHERE key >= $1 AND key < $2 ORDER BY key LIMIT $3`
	sqlScanAfter        = `SELECT key, value FROM coffer_kv WHERE key > $1 AND key < $2 ORDER BY key LIMIT $3`
	sqlScanFromNoUpper  = `SELECT key, value FROM coffer_kv WHERE key >= $1 ORDER BY key LIMIT $2`
	sqlScanAfterNoUpper = `SELECT key, value FROM coffer_kv WHERE key > $1 ORDER BY key LIMIT $2`
)

// tx adapts one pgx transaction to [storage.Tx]. It keeps the first statement error:
// after it PostgreSQL has aborted the transaction, every later call returns it again, and
// the Update or View that owns the tx decides from it whether to retry.
//
// # Round trips
//
// Statements travel in pipelined batches, so that a transaction costs about one round
// trip per read rather than one per statement: BEGIN goes with the first statement
// (nothing is sent for a function that runs none), and Put and Delete are queued and
// sent with the next read, or before the commit. A queued write that fails therefore
// reports its error from that later call (or from Update), never silently: nothing of
// the transaction is committed.
type tx struct {
	ctx      context.Context // the View's or Update's; lives only as long as the call
	db       *DB
	opts     pgx.TxOptions
	ptx      pgx.Tx    // nil until the first batch has begun the transaction
	queued   pgx.Batch // writes not yet sent
	done     bool      // the function has returned
	writable bool
	err      error
	// absent holds the advisory locks this Update took (true: exclusive), so that a key
	// locked once is not locked again.
	absent map[int32]bool
	// rows are the keys whose rows this Update read FOR UPDATE: a Put of one cannot
	// create it, so it needs no advisory lock.
	rows map[string]struct{}
	// apart: the View's reads need no snapshot (ReadsNeedNoSnapshot), so each is sent
	// by itself, with no transaction around it.
	apart bool
	// pre are the reads of a View that Prefetch asked for, by key, until a Get takes
	// them; unsent are the keys of those not read yet, in the order asked.
	pre    map[string]*prefetched
	unsent []string
}

// prefetched is the result of a read that [tx.Prefetch] asked for, once it is done.
type prefetched struct {
	v           []byte
	found, done bool
}

// ReadsNeedNoSnapshot implements [storage.Unsnapshotted]: before a View's first read, it
// makes every read of the View a statement of its own, outside any transaction (each
// one sees the rows committed when it starts), which saves BEGIN and COMMIT and the
// commit's round trip. In an Update, or once the View has begun, it does nothing.
func (t *tx) ReadsNeedNoSnapshot() {
	if !t.writable && t.ptx == nil {
		t.apart = true
	}
}

// Prefetch implements [storage.Prefetcher]: in a View, keys are read with the View's
// next read, in the same statement (see readsSQL), and Get takes their results. In an
// Update it does nothing: a Get there locks the key, and the order in which a function
// locks keys is its own.
func (t *tx) Prefetch(keys ...string) {
	if t.writable || t.check() != nil {
		return
	}
	for _, key := range keys {
		if _, ok := t.pre[key]; ok {
			continue
		}
		if t.pre == nil {
			t.pre = make(map[string]*prefetched)
		}
		t.pre[key] = &prefetched{}
		t.unsent = append(t.unsent, key)
	}
}

// readsSQL is the statement that reads n keys: one primary-key lookup per key, joined
// by UNION ALL, so that a get's reads (its vault's record, the object, its version) are
// one statement, not three. (key = ANY($1), tried too, cost PostgreSQL more than three
// statements.)
func readsSQL(n int) string {
	if n <= len(readStatements) {
		return readStatements[n-1].sql
	}
	return buildReadsSQL(n)
}

// readStatements are the statements for up to four keys, with the names they are
// prepared under on each connection (readPrepared).
var readStatements = func() (out [4]struct{ name, sql string }) {
	for i := range out {
		out[i].name = fmt.Sprintf("coffer_read_%d", i+1)
		out[i].sql = buildReadsSQL(i + 1)
	}
	return out
}()

func buildReadsSQL(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(sqlReadUnion)
		}
		fmt.Fprintf(&b, sqlRead, i)
	}
	return b.String()
}

// fill records the row of key among keys: its value, a copy (never nil), in the
// result of the same index.
func fill(keys []string, results []*prefetched, key, value []byte) {
	for i, k := range keys {
		if k == string(key) {
			results[i].v, results[i].found = append([]byte{}, value...), true
		}
	}
}

// queueReads queues the read of keys into b, one statement, whose rows fill in their
// results (same index); a key without a row is absent.
func queueReads(b *pgx.Batch, keys []string, results []*prefetched) {
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = []byte(k)
	}
	b.Queue(readsSQL(len(keys)), args...).Query(func(rows pgx.Rows) error {
		var k, v []byte
		for rows.Next() {
			if err := rows.Scan(&k, &v); err != nil {
				return err
			}
			fill(keys, results, k, v)
		}
		return rows.Err()
	})
}

// binaryFormats is the format of every parameter and column readPrepared sends and
// reads: bytea in binary is the bytes themselves.
var binaryFormats = []int16{1, 1, 1, 1}

// readApart reads keys outside any transaction, in one statement and one round trip, on
// a pooled connection of its own: up to four keys on connections that prepare their
// statements through the protocol layer directly (readPrepared), otherwise through a pgx
// batch.
//
// A read on a pooled connection that turns out dead (PostgreSQL restarted, a proxy
// dropped it) is read again once, on another: it changes nothing, so reading it twice
// is harmless, and the caller then sees PostgreSQL's state now — ErrUnavailable if it
// cannot be reached — rather than the old connection's end.
func (t *tx) readApart(keys []string, results []*prefetched) error {
	retry, err := t.readApartOn(keys, results)
	if retry {
		for _, r := range results {
			r.v, r.found = nil, false
		}
		_, err = t.readApartOn(keys, results)
	}
	return err
}

// readApartOn is one attempt of readApart, on one pooled connection; retry reports that
// the connection died under it.
func (t *tx) readApartOn(keys []string, results []*prefetched) (retry bool, err error) {
	c, err := t.db.pool.Acquire(t.ctx)
	if err != nil {
		return false, err
	}
	defer c.Release()
	defer func() {
		var pgErr *pgconn.PgError
		retry = err != nil && c.Conn().IsClosed() && !errors.As(err, &pgErr) && t.ctx.Err() == nil
	}()
	if t.db.prepares && len(keys) <= len(readStatements) {
		return false, readPrepared(t.ctx, c.Conn(), keys, results)
	}
	var b pgx.Batch
	queueReads(&b, keys, results)
	return false, c.SendBatch(t.ctx, &b).Close()
}

// readPrepared reads keys (at most four) on conn straight through its protocol layer
// (pgconn): the statement prepared once per connection, the keys sent and the values
// read as bytes. It is the whole of a get on PostgreSQL (and a change's check of its
// vault), and skipping pgx's batch machinery (queued queries, argument encoding, row
// scanning) took a get's CPU, PostgreSQL's included, from 134–135 µs to 123–128 µs
// (three interleaved runs).
func readPrepared(ctx context.Context, conn *pgx.Conn, keys []string, results []*prefetched) error {
	st := readStatements[len(keys)-1]
	if _, err := conn.Prepare(ctx, st.name, st.sql); err != nil { // once per connection
		return err
	}
	params := make([][]byte, len(keys))
	for i, k := range keys {
		params[i] = []byte(k)
	}
	rr := conn.PgConn().ExecPrepared(ctx, st.name, params, binaryFormats[:len(keys)], binaryFormats[:2])
	for rr.NextRow() {
		v := rr.Values()
		fill(keys, results, v[0], v[1])
	}
	_, err := rr.Close()
	return err
}

// send sends the queued writes and then what last queues (when not nil), beginning
// the transaction with them when this is its first batch, and returns the first error.
func (t *tx) send(last func(b *pgx.Batch)) error {
	var b pgx.Batch
	if t.ptx == nil && !t.apart {
		b.BeginTx(t.opts)
	}
	b.QueuedQueries = append(b.QueuedQueries, t.queued.QueuedQueries...)
	t.queued.QueuedQueries = t.queued.QueuedQueries[:0]
	if last != nil {
		last(&b)
	}
	if len(b.QueuedQueries) == 0 {
		return nil
	}
	var br pgx.BatchResults
	switch {
	case t.apart:
		br = t.db.pool.SendBatch(t.ctx, &b) // no transaction: the connection goes back at Close
	case t.ptx == nil:
		br = t.db.pool.SendBatch(t.ctx, &b)
		t.ptx = br.Tx() // nil when BEGIN never ran: the pool could not give a connection
	default:
		br = t.ptx.SendBatch(t.ctx, &b)
	}
	return br.Close()
}

// flush sends the queued writes (for a commit).
func (t *tx) flush() error {
	if t.err != nil || len(t.queued.QueuedQueries) == 0 {
		return t.err
	}
	if err := t.send(nil); err != nil {
		return t.fail("write", err)
	}
	return nil
}

// absentLockClass is the first key of every advisory lock taken for an absent key
// ("coff" in ASCII); the second is the key's hash. It keeps them apart from the
// migration lock (a single bigint key: a separate space) and, by convention, from
// other applications' two-key locks in the same database.
const absentLockClass int32 = 0x636f6666

// keyHash is the second key of an absent key's advisory lock. Two keys with one hash
// share a lock: a collision only makes one transaction wait for another.
func keyHash(key string) int32 {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int32(h.Sum32())
}

// end invalidates t and rolls back its transaction unless it was committed.
func (t *tx) end() {
	t.done = true
	ptx := t.ptx
	if ptx == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), rollbackTimeout)
	defer cancel()
	_ = ptx.Rollback(ctx) // after Commit: pgx.ErrTxClosed, nothing to do
}

// commit sends the queued writes and commits; a transaction that never began has
// nothing to commit. Prefetched keys that no Get took were never read.
func (t *tx) commit() error {
	if err := t.flush(); err != nil {
		return err
	}
	if t.ptx == nil {
		return nil
	}
	return t.ptx.Commit(t.ctx)
}

// fail records err as the transaction's first failure and returns it, wrapped; a
// failure that Close caused (the pool closed under the transaction) is ErrClosed.
func (t *tx) fail(op string, err error) error {
	if t.err == nil {
		if t.db.closed.Load() {
			err = ErrClosed
		}
		t.err = fmt.Errorf("postgres: %s: %w", op, err)
	}
	return t.err
}

func (t *tx) check() error {
	switch {
	case t.done:
		return errTxDone
	case t.err != nil:
		return t.err
	}
	return nil
}

func (t *tx) checkWrite() error {
	if err := t.check(); err != nil {
		return err
	}
	if !t.writable {
		return errReadOnly
	}
	return nil
}

// Get implements [storage.Tx]. In an Update it locks the key until the commit: it takes
// the key's advisory lock in exclusive mode and then reads the row FOR UPDATE, both in
// one round trip (as GetExclusive). The lock comes first, so the read, a new statement,
// sees a row committed while it waited, and an absent key stays absent: a Put that would
// create it takes the same lock. (Reading first and locking only an absent key would
// save a statement on present keys but cost a second round trip on absent ones, which
// every change has: the ledger's tail of a subject, a new version, a purge entry.) pgx
// copies the value out of its read buffer, so the returned bytes are the caller's; an
// empty value is non-nil.
func (t *tx) Get(key string) ([]byte, error) {
	if !t.writable {
		return t.get(key)
	}
	return t.getAfterLock(sqlGetForUpdate, sqlLockAbsent, true, key)
}

// GetShared implements [storage.SharedGetter]: in an Update, a plain read after the
// key's advisory lock in shared mode, which the many transactions that read one record
// (a vault's) hold together and GetExclusive waits for. An advisory lock rather than FOR
// SHARE: a row share-locked by many transactions at once gets a new MultiXact for every
// one that joins, which cost about a sixth of the delete rate at 64 clients.
func (t *tx) GetShared(key string) ([]byte, error) {
	if !t.writable {
		return t.get(key)
	}
	return t.getAfterLock(sqlGet, sqlLockAbsentShared, false, key)
}

// GetExclusive implements [storage.SharedGetter]: Get after the key's advisory lock in
// exclusive mode, which waits for the GetShared readers.
func (t *tx) GetExclusive(key string) ([]byte, error) {
	if !t.writable {
		return t.get(key)
	}
	return t.getAfterLock(sqlGetForUpdate, sqlLockAbsent, true, key)
}

// getAfterLock takes the key's advisory lock (unless this transaction holds it in that
// mode or a stronger one) and then reads with sel, in one round trip.
func (t *tx) getAfterLock(sel, lock string, exclusive bool, key string) ([]byte, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	h := keyHash(key)
	var v []byte
	found := false
	err := t.send(func(b *pgx.Batch) {
		if held, ok := t.absent[h]; !ok || exclusive && !held {
			b.Queue(lock, absentLockClass, h)
		}
		b.Queue(sel, []byte(key)).QueryRow(scanValue(&v, &found))
	})
	if err != nil {
		return nil, t.fail("get", err)
	}
	t.lockedAbsent(h, exclusive)
	if found && sel == sqlGetForUpdate {
		t.lockedRow(key)
	}
	if !found {
		return nil, storage.ErrNotFound
	}
	return v, nil
}

// get reads key without a lock: the read of a View, in its snapshot, in one statement
// with the prefetched keys not read yet. A prefetched key is taken from its prefetch
// (read now if it has not been yet), once: the bytes are the caller's.
func (t *tx) get(key string) ([]byte, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	p, ok := t.pre[key]
	if !ok || !p.done {
		keys := t.unsent
		results := make([]*prefetched, 0, len(keys)+1)
		for _, k := range keys {
			results = append(results, t.pre[k])
		}
		if !ok {
			p = &prefetched{}
			keys = append(keys[:len(keys):len(keys)], key)
			results = append(results, p)
		}
		t.unsent = nil
		var err error
		if t.apart {
			err = t.readApart(keys, results)
		} else {
			err = t.send(func(b *pgx.Batch) { queueReads(b, keys, results) })
		}
		if err != nil {
			return nil, t.fail("get", err)
		}
		for _, r := range results {
			r.done = true
		}
	}
	delete(t.pre, key)
	if !p.found {
		return nil, storage.ErrNotFound
	}
	return p.v, nil
}

// scanValue reads a row of a key's value into v, setting found; no row is not an error
// (the key is absent).
func scanValue(v *[]byte, found *bool) func(pgx.Row) error {
	return func(r pgx.Row) error {
		err := r.Scan(v)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		*found = err == nil
		return err
	}
}

// lockedRow notes that the transaction holds key's row FOR UPDATE.
func (t *tx) lockedRow(key string) {
	if t.rows == nil {
		t.rows = make(map[string]struct{})
	}
	t.rows[key] = struct{}{}
}

// lockedAbsent notes that the transaction holds the advisory lock h.
func (t *tx) lockedAbsent(h int32, exclusive bool) {
	if t.absent == nil {
		t.absent = make(map[int32]bool)
	}
	t.absent[h] = t.absent[h] || exclusive
}

// Put implements [storage.Tx] as an upsert, queued (see tx). A row it creates is
// locked by the key's advisory lock too, so that a transaction that read the key as
// absent is ordered before this one. Put keeps a copy of value, not value.
func (t *tx) Put(key string, value []byte) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	// A copy: pgx encodes the value when the batch is sent, after Put has returned.
	// (Never nil: pgx encodes a nil slice as NULL; the column is NOT NULL.)
	value = append(make([]byte, 0, len(value)), value...)
	h := keyHash(key)
	if _, row := t.rows[key]; row || t.absent[h] {
		t.queued.Queue(sqlPut, []byte(key), value)
		return nil
	}
	t.queued.Queue(sqlPutLocking, []byte(key), value, absentLockClass, h).QueryRow(func(r pgx.Row) error {
		var inserted bool
		if err := r.Scan(&inserted); err != nil {
			return err
		}
		if inserted {
			t.lockedAbsent(h, true)
		}
		return nil
	})
	return nil
}

// Delete implements [storage.Tx].
func (t *tx) Delete(key string) error {
	if err := t.checkWrite(); err != nil {
		return err
	}
	t.queued.Queue(sqlDelete, []byte(key))
	return nil
}

// Scan implements [storage.Tx] as one range query on the primary key: keys from the prefix
// (or strictly after `after`, when that is later) up to the prefix's successor.
func (t *tx) Scan(prefix, after string, limit int) ([]storage.Entry, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	lower, from := prefix, true
	if after != "" && after >= prefix {
		lower, from = after, false
	}
	var lim *int64 // NULL: no limit
	if limit > 0 {
		l := int64(limit)
		lim = &l
	}
	upper, bounded := successor(prefix)
	var sql string
	var args []any
	switch {
	case bounded && from:
		sql, args = sqlScanFrom, []any{[]byte(lower), upper, lim}
	case bounded:
		sql, args = sqlScanAfter, []any{[]byte(lower), upper, lim}
	case from:
		sql, args = sqlScanFromNoUpper, []any{[]byte(lower), lim}
	default:
		sql, args = sqlScanAfterNoUpper, []any{[]byte(lower), lim}
	}
	var out []storage.Entry
	err := t.send(func(b *pgx.Batch) {
		b.Queue(sql, args...).Query(func(rows pgx.Rows) error {
			var k, v []byte
			_, err := pgx.ForEachRow(rows, []any{&k, &v}, func() error {
				// Scan into []byte allocates a fresh copy for every row.
				out = append(out, storage.Entry{Key: string(k), Value: v})
				return nil
			})
			return err
		})
	})
	if err != nil {
		return nil, t.fail("scan", err)
	}
	return out, nil
}

// successor returns the smallest byte string greater than every string that starts with
// prefix, and false when there is none (prefix is empty or all 0xff bytes).
func successor(prefix string) ([]byte, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0xff {
			b[i]++
			return b[:i+1], true
		}
	}
	return nil, false
}
