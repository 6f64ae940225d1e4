// Package pgtest gives the tests that need PostgreSQL (the backend's own, and the
// servers' on PostgreSQL) a schema each in the one test database that
// COFFER_TEST_POSTGRES_DSN names; without it they skip. scripts/test.sh (the README's test
// command) starts a throw-away PostgreSQL and sets it.
package pgtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DSNEnv names the DSN of a PostgreSQL database the tests may create schemas in.
const DSNEnv = "COFFER_TEST_POSTGRES_DSN"

// DSN returns $COFFER_TEST_POSTGRES_DSN or skips t.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(DSNEnv)
	if dsn == "" {
		t.Skip(DSNEnv + " is unset: PostgreSQL tests need the README's test command " +
			"(./scripts/test.sh), which starts a throw-away PostgreSQL")
	}
	return dsn
}

// Exec runs sql on a connection of its own to dsn.
func Exec(t testing.TB, dsn, sql string, args ...any) {
	t.Helper()
	withConn(t, dsn, sql, func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, sql, args...)
		return err
	})
}

// Scan runs sql, a query of one row, on a connection of its own to dsn and scans the row
// into dest.
func Scan(t testing.TB, dsn, sql string, dest ...any) {
	t.Helper()
	withConn(t, dsn, sql, func(ctx context.Context, conn *pgx.Conn) error {
		return conn.QueryRow(ctx, sql).Scan(dest...)
	})
}

// withConn runs f on a new connection to dsn, with 30 seconds for all of it, and fails t
// with what (the statement) when f fails.
func withConn(t testing.TB, dsn, what string, f func(context.Context, *pgx.Conn) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", DSNEnv, err)
	}
	defer conn.Close(ctx)
	if err := f(ctx, conn); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// FreshSchema creates an empty schema named prefix and a random suffix, dropped when t
// ends (after whatever t started later has stopped: cleanups run last-registered first),
// and returns a DSN whose search_path is that schema: each test gets its own tables in the
// one test database, which is much faster than a database per test. It skips t without
// $COFFER_TEST_POSTGRES_DSN.
func FreshSchema(t testing.TB, prefix string) string {
	t.Helper()
	server := DSN(t)
	schema := prefix + strings.ToLower(rand.Text()[:12])
	Exec(t, server, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { Exec(t, server, "DROP SCHEMA "+schema+" CASCADE") })
	return WithParam(t, server, "search_path", schema)
}

// WithParam adds a connection parameter to a URL or key=value DSN.
func WithParam(t testing.TB, dsn, key, value string) string {
	t.Helper()
	if !IsURL(dsn) {
		return fmt.Sprintf("%s %s=%s", dsn, key, value)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", DSNEnv, err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// IsURL reports whether dsn is a postgres:// (or postgresql://) URL, the form --storage
// takes, rather than key=value pairs.
func IsURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}
