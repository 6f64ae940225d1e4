package postgres_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/storage/postgres"
	"github.com/jackc/pgx/v5"
)

// dsnEnv names the DSN of a PostgreSQL database the tests may create schemas in.
const dsnEnv = "COFFER_TEST_POSTGRES_DSN"

// serverDSN returns $COFFER_TEST_POSTGRES_DSN or skips t.
func serverDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		t.Skip(dsnEnv + " is unset: PostgreSQL tests need the README's test command " +
			"(./scripts/test.sh), which starts a throw-away PostgreSQL")
	}
	return dsn
}

// admin runs sql on a connection of its own to the test database.
func admin(t *testing.T, dsn, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", dsnEnv, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// freshDSN creates an empty schema, dropped when t ends, and returns a DSN whose
// search_path is that schema: each test gets its own coffer tables in the one test
// database, which is much faster than a database per test.
func freshDSN(t *testing.T) (dsn, schema string) {
	t.Helper()
	server := serverDSN(t)
	schema = "coffer_test_" + strings.ToLower(rand.Text()[:12])
	admin(t, server, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { admin(t, server, "DROP SCHEMA "+schema+" CASCADE") })
	return withParam(t, server, "search_path", schema), schema
}

// withParam adds a connection parameter to a URL or key=value DSN.
func withParam(t *testing.T, dsn, key, value string) string {
	t.Helper()
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return fmt.Sprintf("%s %s=%s", dsn, key, value)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", dsnEnv, err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// open opens dsn and closes the DB when t ends.
func open(t *testing.T, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
