package postgres

import (
	"context"
	"fmt"

	"github.com/coffer/coffer/internal/storage"
	"github.com/jackc/pgx/v5"
)

var _ storage.Snapshotter = (*DB)(nil)

// snapshotOptions: one snapshot of the whole table for as long as the walk takes. A
// read-only REPEATABLE READ transaction takes no locks that writers wait for and is never
// aborted for serialization (DEFERRABLE only matters to SERIALIZABLE ones).
var snapshotOptions = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}

// sqlSnapshot reads every row in key order; pgx hands the rows over as they arrive.
const sqlSnapshot = `SELECT key, value FROM coffer_kv ORDER BY key`

// ReadSnapshot implements [storage.Snapshotter] with one REPEATABLE READ READ ONLY
// transaction and one query whose rows are streamed, never gathered: writers carry on,
// the walk sees the table as it was when the query started.
func (db *DB) ReadSnapshot(ctx context.Context, fn func(key string, value []byte) error) error {
	if err := db.check(ctx); err != nil {
		return err
	}
	ptx, err := db.pool.BeginTx(ctx, snapshotOptions)
	if err != nil {
		return markUnavailable(db.beginError(err))
	}
	t := &tx{ctx: ctx, ptx: ptx}
	defer t.end()
	rows, err := ptx.Query(ctx, sqlSnapshot)
	if err != nil {
		return markUnavailable(fmt.Errorf("postgres: snapshot: %w", err))
	}
	defer rows.Close()
	var k, v []byte
	for rows.Next() {
		// In binary format a bytea's raw value is its bytes, pointing into pgx's read
		// buffer until the next row: what fn's contract allows, and no copy per row.
		// Otherwise (text format) let pgx decode it.
		raw, fds := rows.RawValues(), rows.FieldDescriptions()
		if len(raw) == 2 && fds[0].Format == pgx.BinaryFormatCode && fds[1].Format == pgx.BinaryFormatCode {
			k, v = raw[0], raw[1]
		} else if err := rows.Scan(&k, &v); err != nil {
			return fmt.Errorf("postgres: snapshot: %w", err)
		}
		if err := fn(string(k), v); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return markUnavailable(fmt.Errorf("postgres: snapshot: %w", err))
	}
	return nil
}
