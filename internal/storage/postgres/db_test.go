package postgres_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/postgres"
	"github.com/coffer/coffer/internal/storage/postgres/pgtest"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	pgtest.DSN(t)
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		dsn := freshDSN(t)
		db, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return db
	})
}

// TestScanKeyBytes compares Scan with a reference model on keys made of the bytes that a
// LIKE pattern, a text column or a locale collation would get wrong: '_' and '%' (LIKE
// wildcards), '\' (LIKE escape), NUL and invalid UTF-8 (not text), 0xff (no successor),
// "é" and upper case (locale order).
func TestScanKeyBytes(t *testing.T) {
	dsn := freshDSN(t)
	db := open(t, dsn)
	alphabet := []string{"a", "b", "B", "_", "%", `\`, "/", "\x00", "\xff", "é"}
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(max int) string {
		var sb strings.Builder
		for range rng.IntN(max + 1) {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return sb.String()
	}
	keys := map[string]bool{}
	for len(keys) < 400 {
		if k := word(4); k != "" {
			keys[k] = true
		}
	}
	sorted := slices.Sorted(func(yield func(string) bool) {
		for k := range keys {
			if !yield(k) {
				return
			}
		}
	})
	err := db.Update(t.Context(), func(tx storage.Tx) error {
		for _, k := range sorted {
			if err := tx.Put(k, []byte("v:"+k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}

	// model is Scan as the storage interface defines it, on the sorted keys.
	model := func(prefix, after string, limit int) []storage.Entry {
		var out []storage.Entry
		for _, k := range sorted {
			if !strings.HasPrefix(k, prefix) || (after != "" && k <= after) {
				continue
			}
			if limit > 0 && len(out) == limit {
				break
			}
			out = append(out, storage.Entry{Key: k, Value: []byte("v:" + k)})
		}
		return out
	}
	type scanCase struct {
		prefix, after string
		limit         int
	}
	cases := []scanCase{
		{"_", "", 0}, {"%", "", 0}, {"a_", "", 0}, {"a%", "", 0}, {`\`, "", 0}, {`a\`, "", 0},
		{"\xff", "", 0}, {"\xff\xff", "", 0}, {"a\xff", "", 0}, {"\x00", "", 0}, {"é", "", 0},
		{"", "", 0}, {"", "b", 0}, {"_", "_%", 3}, {"\xff", "\xff_", 0},
	}
	for range 300 {
		cases = append(cases, scanCase{word(2), word(3), rng.IntN(6) - 1})
	}
	err = db.View(t.Context(), func(tx storage.Tx) error {
		for _, c := range cases {
			got, err := tx.Scan(c.prefix, c.after, c.limit)
			if err != nil {
				return fmt.Errorf("Scan(%q, %q, %d): %w", c.prefix, c.after, c.limit, err)
			}
			if diff := cmp.Diff(model(c.prefix, c.after, c.limit), got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Scan(%q, %q, %d) mismatch (-want +got):\n%s", c.prefix, c.after, c.limit, diff)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
}

// TestTwoServers increments one counter from 32 goroutines through two DBs on one
// database, as two Coffer servers would: every increment reads the counter and writes it
// back, so the counter ends exact only if a read locks the key until the commit. Then
// write skew, over keys that exist and keys that do not, through the two DBs.
func TestTwoServers(t *testing.T) {
	dsn := freshDSN(t)
	dbs := []*postgres.DB{open(t, dsn), open(t, dsn)}
	const goroutines, increments = 32, 10
	put := func(tx storage.Tx) error { return tx.Put("counter", []byte("0")) }
	if err := dbs[0].Update(t.Context(), put); err != nil {
		t.Fatalf("Update: %v", err)
	}
	storagetest.Increment(t, goroutines, increments, dbs[0], dbs[1])
	var got []byte
	err := dbs[1].View(t.Context(), func(tx storage.Tx) error {
		var err error
		got, err = tx.Get("counter")
		return err
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	if want := fmt.Sprint(goroutines * increments); string(got) != want {
		t.Errorf("counter = %s, want %s", got, want)
	}
	retries := postgres.Retries(dbs[0]) + postgres.Retries(dbs[1])
	t.Logf("%d increments, %d retried attempts (row locks make them wait, not fail)", goroutines*increments, retries)
	storagetest.WriteSkew(t, 40, dbs[0], dbs[1])
	storagetest.SharedReaders(t, 8, 10, dbs[0], dbs[1])
	t.Logf("after the write-skew rounds (which deadlock and retry at times): %d retried attempts", postgres.Retries(dbs[0])+postgres.Retries(dbs[1]))
}

// TestUpdateErrors checks that an attempt is retried only for PostgreSQL's
// serialization failures, not for fn's own errors or other statement errors.
func TestUpdateErrors(t *testing.T) {
	dsn := freshDSN(t)
	db := open(t, dsn)

	t.Run("fail/fn-error-runs-once", func(t *testing.T) {
		runs := 0
		boom := errors.New("boom")
		err := db.Update(t.Context(), func(tx storage.Tx) error { runs++; return boom })
		if !errors.Is(err, boom) || runs != 1 {
			t.Errorf("Update = %v after %d runs, want boom after 1", err, runs)
		}
	})

	t.Run("fail/ignored-statement-error", func(t *testing.T) {
		// An incompressible 10 KiB key exceeds a B-tree index entry: PostgreSQL fails the
		// INSERT and aborts the transaction. fn ignores that and returns nil. (Puts are
		// queued and sent with the next read or the commit; the failure shows there.)
		huge := make([]byte, 10<<10)
		for i := range huge {
			huge[i] = byte(rand.N(256))
		}
		before := postgres.Retries(db)
		runs := 0
		var laterGet error
		err := db.Update(t.Context(), func(tx storage.Tx) error {
			runs++
			_ = tx.Put(string(huge), nil) // queued: its failure shows at the next read
			_ = tx.Put("after-failure", []byte("x"))
			_, laterGet = tx.Get("after-failure")
			return nil
		})
		if err == nil {
			t.Errorf("Update whose fn ignored a failed Put: no error")
		}
		if laterGet == nil || errors.Is(laterGet, storage.ErrNotFound) {
			t.Errorf("Get after a failed statement: %v, want the failure", laterGet)
		}
		if runs != 1 || postgres.Retries(db) != before {
			t.Errorf("fn ran %d times, want 1 (not a serialization failure)", runs)
		}
		err = db.View(t.Context(), func(tx storage.Tx) error {
			_, err := tx.Get("after-failure")
			return err
		})
		if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get(after-failure) = %v, want ErrNotFound", err)
		}
	})

	t.Run("fail/tx-used-after-fn", func(t *testing.T) {
		var kept storage.Tx
		if err := db.Update(t.Context(), func(tx storage.Tx) error { kept = tx; return nil }); err != nil {
			t.Fatalf("Update: %v", err)
		}
		if _, err := kept.Get("k"); err == nil {
			t.Errorf("Get on a finished Tx: no error")
		}
		if err := kept.Put("k", nil); err == nil {
			t.Errorf("Put on a finished Tx: no error")
		}
	})
}

func TestSyncCommit(t *testing.T) {
	dsn := freshDSN(t)
	db := open(t, pgtest.WithParam(t, dsn, "synchronous_commit", "off"))
	mode, err := postgres.SyncCommit(t.Context(), db)
	if err != nil {
		t.Fatalf("read synchronous_commit: %v", err)
	}
	if mode != "on" {
		t.Errorf("synchronous_commit = %q with off in the DSN, want on", mode)
	}
}
