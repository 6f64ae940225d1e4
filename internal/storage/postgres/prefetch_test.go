package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/postgres"
	"github.com/coffer/coffer/internal/storage/postgres/pgtest"
)

// TestPrefetch checks that a prefetched read returns what Get would have: the value in
// the View's snapshot (not a change committed after the snapshot began), ErrNotFound for
// an absent key, a fresh read when the key is read again; that a prefetch no Get takes
// leaves the View's result alone; and that Prefetch in an Update changes nothing.
func TestPrefetch(t *testing.T) {
	db := open(t, freshDSN(t))
	ctx := t.Context()
	put := func(k, v string) {
		t.Helper()
		if err := db.Update(ctx, func(tx storage.Tx) error { return tx.Put(k, []byte(v)) }); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
	put("a", "1")
	put("b", "2")

	err := db.View(ctx, func(tx storage.Tx) error {
		storage.Prefetch(tx, "a", "absent", "never-read")
		if v, err := tx.Get("b"); err != nil || string(v) != "2" { // sends the prefetches too
			t.Errorf("Get(b) = %q, %v; want 2", v, err)
		}
		put("a", "changed") // after the View's snapshot began
		for range 2 {       // prefetched, then read again: the same snapshot
			if v, err := tx.Get("a"); err != nil || string(v) != "1" {
				t.Errorf("Get(a) = %q, %v; want 1 (the snapshot's)", v, err)
			}
		}
		if _, err := tx.Get("absent"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get(absent) err = %v; want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}

	// A prefetch that is the View's only statement is dropped, not sent at the commit.
	if err := db.View(context.WithoutCancel(ctx), func(tx storage.Tx) error {
		storage.Prefetch(tx, "a")
		return nil
	}); err != nil {
		t.Fatalf("View with an unread prefetch: %v", err)
	}

	err = db.Update(ctx, func(tx storage.Tx) error {
		storage.Prefetch(tx, "a")
		v, err := tx.Get("a")
		if err != nil || string(v) != "changed" {
			t.Errorf("Update Get(a) = %q, %v; want changed", v, err)
		}
		return tx.Put("a", []byte("3"))
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// TestNoSnapshot checks a View whose reads need no snapshot: each read sees what was
// committed when it ran (a change between two reads shows), an absent key is
// ErrNotFound, writes still fail, and NoSnapshot after the first read changes nothing.
func TestNoSnapshot(t *testing.T) {
	db := open(t, freshDSN(t))
	ctx := t.Context()
	put := func(k, v string) {
		t.Helper()
		if err := db.Update(ctx, func(tx storage.Tx) error { return tx.Put(k, []byte(v)) }); err != nil {
			t.Fatalf("put %s: %v", k, err)
		}
	}
	put("a", "1")
	err := db.View(ctx, func(tx storage.Tx) error {
		storage.NoSnapshot(tx)
		if v, err := tx.Get("a"); err != nil || string(v) != "1" {
			t.Errorf("Get(a) = %q, %v; want 1", v, err)
		}
		put("a", "2")
		if v, err := tx.Get("a"); err != nil || string(v) != "2" {
			t.Errorf("Get(a) after a change = %q, %v; want 2 (no snapshot)", v, err)
		}
		if _, err := tx.Get("absent"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get(absent) err = %v; want ErrNotFound", err)
		}
		if err := tx.Put("b", []byte("x")); err == nil {
			t.Error("Put in a View succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	err = db.View(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get("a"); err != nil {
			return err
		}
		storage.NoSnapshot(tx) // too late: the snapshot has begun
		put("a", "3")
		if v, err := tx.Get("a"); err != nil || string(v) != "2" {
			t.Errorf("Get(a) = %q, %v; want 2 (the snapshot's)", v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
}

// TestReadsTogether checks the reads that travel in one statement (a Get with the
// prefetches not read yet), in a snapshot and without one (where up to four keys go
// through the protocol layer directly, and more through a batch): every key gets its own
// value, an empty value is empty and not nil, an absent key is ErrNotFound, keys with any
// bytes are matched exactly, and a key read again is read afresh.
//
// A DSN that chooses a query mode other than pgx's default (default_query_exec_mode, for
// a pooler that keeps no prepared statements) gets the same results, and no read
// prepares a statement of its own.
func TestReadsTogether(t *testing.T) {
	for _, mode := range []string{"", "simple_protocol", "exec"} {
		t.Run("mode="+mode, func(t *testing.T) { testReadsTogether(t, mode) })
	}
}

func testReadsTogether(t *testing.T, mode string) {
	dsn := freshDSN(t)
	if mode != "" {
		dsn = pgtest.WithParam(t, dsn, "default_query_exec_mode", mode)
	}
	db := open(t, dsn)
	if got, want := postgres.Prepares(db), mode == ""; got != want {
		t.Errorf("Prepares = %v; want %v", got, want)
	}
	ctx := t.Context()
	stored := map[string]string{"a": "1", "empty": "", "nul\x00\xff": "bytes", "c": "3", "d": "4", "e": "5"}
	if err := db.Update(ctx, func(tx storage.Tx) error {
		for k, v := range stored {
			if err := tx.Put(k, []byte(v)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, apart := range []bool{false, true} {
		for _, prefetch := range [][]string{nil, {"empty"}, {"empty", "absent", "nul\x00\xff"}, {"empty", "absent", "nul\x00\xff", "c", "d", "e"}} {
			err := db.View(ctx, func(tx storage.Tx) error {
				if apart {
					storage.NoSnapshot(tx)
				}
				storage.Prefetch(tx, prefetch...)
				for _, k := range append([]string{"a"}, append(prefetch, "a", "empty")...) {
					v, err := tx.Get(k)
					want, ok := stored[k]
					switch {
					case !ok && !errors.Is(err, storage.ErrNotFound):
						t.Errorf("apart=%v prefetch=%q: Get(%q) err = %v; want ErrNotFound", apart, prefetch, k, err)
					case ok && (err != nil || string(v) != want || v == nil):
						t.Errorf("apart=%v prefetch=%q: Get(%q) = %q (nil %v), %v; want %q", apart, prefetch, k, v, v == nil, err, want)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("View: %v", err)
			}
		}
	}
}
