package postgres_test

import (
	"testing"

	"github.com/coffer/coffer/internal/storage/postgres"
	"github.com/coffer/coffer/internal/storage/postgres/pgtest"
)

// open opens dsn and closes the DB when t ends.
func open(t testing.TB, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// freshDSN is the DSN of an empty schema of this test's own (see pgtest.FreshSchema).
func freshDSN(t testing.TB) string {
	t.Helper()
	return pgtest.FreshSchema(t, "coffer_test_")
}
