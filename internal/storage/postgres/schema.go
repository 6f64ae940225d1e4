package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations are the schema changes in order: migrations[i] takes the schema from
// version i to i+1. Append only; a released migration is never edited. All tables live
// in the first schema of the connection's search_path.
var migrations = []string{
	// 1: the key-value table. bytea keys sort byte by byte, as bbolt's do.
	`CREATE TABLE coffer_kv (
		key   bytea PRIMARY KEY,
		value bytea NOT NULL
	)`,
}

// latestVersion is the schema version this Coffer creates and expects.
var latestVersion = len(migrations)

// migrationLock is the key of the transaction-scoped advisory lock that serializes
// migrations, so that several servers starting at once on one database migrate it once.
// Advisory locks are per database; the value is "coffer" in ASCII.
const migrationLock = 0x636f66666572

// sqlSchemaTable creates the one-row table that records the schema version (IF NOT
// EXISTS: a crash cannot leave it without its row, but a hand-made one could).
const sqlSchemaTable = `CREATE TABLE IF NOT EXISTS coffer_schema (
	one     boolean PRIMARY KEY DEFAULT true CHECK (one),
	version integer NOT NULL
)`

// migrate brings the schema to latestVersion. A schema already current is only read (a
// role without CREATE rights can then run Coffer); otherwise the migrations run in one
// transaction under migrationLock, re-reading the version once the lock is held.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	v, err := schemaVersion(ctx, pool)
	if err != nil {
		return fmt.Errorf("postgres: read schema version: %w", err)
	}
	if v == latestVersion {
		return nil
	}
	if v > latestVersion {
		return fmt.Errorf("%w: version %d, this Coffer knows up to %d: upgrade Coffer", ErrSchemaTooNew, v, latestVersion)
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrationLock)); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
		v, err := schemaVersion(ctx, tx)
		if err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if v > latestVersion {
			return fmt.Errorf("%w: version %d, this Coffer knows up to %d: upgrade Coffer", ErrSchemaTooNew, v, latestVersion)
		}
		if v == 0 {
			if _, err := tx.Exec(ctx, sqlSchemaTable); err != nil {
				return fmt.Errorf("create coffer_schema: %w", err)
			}
		}
		for i := v; i < latestVersion; i++ {
			if _, err := tx.Exec(ctx, migrations[i]); err != nil {
				return fmt.Errorf("migrate to version %d: %w", i+1, err)
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO coffer_schema (version) VALUES ($1)
			ON CONFLICT (one) DO UPDATE SET version = EXCLUDED.version`, latestVersion)
		if err != nil {
			return fmt.Errorf("record schema version: %w", err)
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrSchemaTooNew) {
			return err
		}
		return fmt.Errorf("postgres: migrate schema: %w", err)
	}
	return nil
}

// querier is what schemaVersion needs of a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// sqlSchemaExists reports whether coffer_schema exists where CREATE TABLE puts it. It reads
// the catalog with the statement's snapshot on purpose: to_regclass would consult the
// backend's catalog cache, which a transaction that has just waited for migrationLock
// may not yet have refreshed, and so miss the table that the lock holder created.
const sqlSchemaExists = `SELECT EXISTS (SELECT FROM pg_catalog.pg_tables
	WHERE schemaname = current_schema() AND tablename = 'coffer_schema')`

// schemaVersion returns the recorded schema version, 0 when there is no coffer_schema
// table (a database Coffer never used).
func schemaVersion(ctx context.Context, q querier) (int, error) {
	var exists bool
	if err := q.QueryRow(ctx, sqlSchemaExists).Scan(&exists); err != nil {
		return 0, err
	}
	if !exists {
		return 0, nil
	}
	var v int
	err := q.QueryRow(ctx, "SELECT version FROM coffer_schema").Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return v, err
}
