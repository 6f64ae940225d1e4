package postgres_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/storage/postgres"
	"github.com/coffer/coffer/internal/storage/postgres/pgtest"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

// version reads the recorded schema version directly.
func version(t *testing.T, dsn string) int {
	t.Helper()
	var v, rows int
	pgtest.Scan(t, dsn, "SELECT max(version), count(*) FROM coffer_schema", &v, &rows)
	if rows != 1 {
		t.Errorf("coffer_schema has %d rows, want 1", rows)
	}
	return v
}

func TestMigrate(t *testing.T) {
	t.Run("ok/reopen-keeps-version-and-data", func(t *testing.T) {
		dsn := freshDSN(t)
		db := open(t, dsn)
		if got := version(t, dsn); got != postgres.LatestVersion {
			t.Errorf("version after first Open = %d, want %d", got, postgres.LatestVersion)
		}
		storagetest.Put(t, db, "k", "v")
		db.Close()
		db = open(t, dsn)
		if got := version(t, dsn); got != postgres.LatestVersion {
			t.Errorf("version after second Open = %d, want %d", got, postgres.LatestVersion)
		}
		storagetest.WantValue(t, db, "k", "v")
	})

	t.Run("ok/concurrent-opens-migrate-once", func(t *testing.T) {
		dsn := freshDSN(t)
		const servers = 8
		var wg sync.WaitGroup
		for range servers {
			wg.Go(func() {
				db, err := postgres.Open(t.Context(), dsn)
				if err != nil {
					t.Errorf("Open: %v", err)
					return
				}
				db.Close()
			})
		}
		wg.Wait()
		if got := version(t, dsn); got != postgres.LatestVersion {
			t.Errorf("version = %d, want %d", got, postgres.LatestVersion)
		}
	})

	t.Run("fail/schema-newer-than-coffer", func(t *testing.T) {
		dsn := freshDSN(t)
		open(t, dsn).Close()
		pgtest.Exec(t, dsn, "UPDATE coffer_schema SET version = $1", postgres.LatestVersion+1)
		db, err := postgres.Open(t.Context(), dsn)
		if err == nil {
			db.Close()
			t.Fatal("Open of a newer schema succeeded")
		}
		if !errors.Is(err, postgres.ErrSchemaTooNew) {
			t.Errorf("Open error = %v, want ErrSchemaTooNew", err)
		}
	})

	t.Run("fail/unreachable-server-hides-password", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		// Port 1 on localhost refuses at once; no server is needed for this case.
		db, err := postgres.Open(ctx, "postgres://coffer:s3cret-pw@127.0.0.1:1/coffer?sslmode=disable&connect_timeout=5")
		if err == nil {
			db.Close()
			t.Fatal("Open of an unreachable server succeeded")
		}
		if msg := err.Error(); strings.Contains(msg, "s3cret-pw") {
			t.Errorf("Open error shows the password: %s", msg)
		}
	})
}
