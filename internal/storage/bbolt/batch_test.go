package bbolt

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"testing/synctest"

	"github.com/coffer/coffer/internal/storage"
)

// These whitebox tests run in a synctest bubble: synctest.Wait returns once every
// goroutine is blocked, which is how a test knows that Updates are queued behind a
// function that holds the committer.

var errBoom = errors.New("boom")

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "coffer.db"), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// logged is how many batches the write-ahead log holds (each durable batch adds one
// record); read it only once the batches counted were answered.
func logged(db *DB) int { return int(db.wal.seq) }

// hold starts an Update whose function blocks the committer until release is called,
// and waits until it does. The Update's result is sent on the returned channel.
func hold(t *testing.T, db *DB) (release func(), held <-chan error) {
	t.Helper()
	unblock := make(chan struct{})
	res := make(chan error, 1)
	go func() {
		res <- db.Update(context.Background(), func(tx storage.Tx) error {
			<-unblock
			return tx.Put("held", []byte("1"))
		})
	}()
	synctest.Wait()
	return func() { close(unblock) }, res
}

func put(key string) func(storage.Tx) error {
	return func(tx storage.Tx) error { return tx.Put(key, []byte(key)) }
}

// queuePuts starts n Updates, each putting one of the keys prefix0 … prefix(n-1), and
// returns the channel of their results.
func queuePuts(db *DB, prefix string, n int) <-chan error {
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- db.Update(context.Background(), put(fmt.Sprint(prefix, i))) }()
	}
	return errs
}

// wantPuts checks that the n Updates of queuePuts succeeded and their keys are there.
func wantPuts(t *testing.T, db *DB, errs <-chan error, prefix string, n int) {
	t.Helper()
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("queued Update of a %s key: %v", prefix, err)
		}
	}
	for i := range n {
		if !has(t, db, fmt.Sprint(prefix, i)) {
			t.Errorf("%s%d missing", prefix, i)
		}
	}
}

// goexitUpdate runs update, from a goroutine of its own, with a function that writes
// "goexit" and then ends its goroutine (runtime.Goexit, as t.FailNow does), and reports
// whether update returned.
func goexitUpdate(update func(context.Context, func(storage.Tx) error) error) <-chan bool {
	exited := make(chan bool, 1)
	go func() {
		returned := false
		defer func() { exited <- returned }()
		_ = update(context.Background(), func(tx storage.Tx) error {
			if err := tx.Put("goexit", nil); err != nil {
				return err
			}
			runtime.Goexit()
			return nil
		})
		returned = true
	}()
	return exited
}

func has(t *testing.T, db *DB, key string) bool {
	t.Helper()
	err := db.View(context.Background(), func(tx storage.Tx) error {
		_, err := tx.Get(key)
		return err
	})
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("View(Get %q): %v", key, err)
	}
	return err == nil
}

func TestGroupCommit(t *testing.T) {
	t.Run("ok/queued-updates-share-one-commit", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			db := openTest(t)
			before := logged(db)
			release, held := hold(t, db)
			const n = 10
			errs := queuePuts(db, "k", n)
			synctest.Wait()
			release()
			if err := <-held; err != nil {
				t.Errorf("held Update: %v", err)
			}
			wantPuts(t, db, errs, "k", n)
			if got := logged(db) - before; got != 2 {
				t.Errorf("commits = %d, want 2 (the held Update, then the %d queued behind it)", got, n)
			}
		})
	})

	t.Run("fail/one-bad-function-in-a-batch", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			db := openTest(t)
			before := logged(db)
			release, held := hold(t, db)

			const n = 10
			okErrs := queuePuts(db, "ok", n)
			failErr := make(chan error, 1)
			go func() {
				failErr <- db.Update(context.Background(), func(tx storage.Tx) error {
					if err := tx.Put("fail", nil); err != nil {
						return err
					}
					return errBoom
				})
			}()
			panicked := make(chan any, 1)
			go func() {
				defer func() { panicked <- recover() }()
				_ = db.Update(context.Background(), func(tx storage.Tx) error {
					if err := tx.Put("panic", nil); err != nil {
						return err
					}
					panic("boom")
				})
			}()
			exited := goexitUpdate(db.Update)
			synctest.Wait()
			release()

			if err := <-held; err != nil {
				t.Errorf("held Update: %v", err)
			}
			wantPuts(t, db, okErrs, "ok", n)
			if err := <-failErr; !errors.Is(err, errBoom) {
				t.Errorf("failing Update: error = %v, want its fn's error", err)
			}
			if p := <-panicked; p != "boom" {
				t.Errorf("panicking Update: recovered %v, want its fn's panic value", p)
			}
			if <-exited {
				t.Errorf("Update returned after its fn called runtime.Goexit")
			}
			if got := logged(db) - before; got != 2 {
				t.Errorf("commits = %d, want 2 (failed attempts roll back)", got)
			}
			for _, k := range []string{"fail", "panic", "goexit"} {
				if has(t, db, k) {
					t.Errorf("%s written by a failed Update", k)
				}
			}
			// The committer survived the Goexit.
			if err := db.Update(context.Background(), put("after")); err != nil {
				t.Errorf("Update after the batch: %v", err)
			}
		})
	})

	t.Run("fail/context-canceled-while-queued", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			db := openTest(t)
			release, held := hold(t, db)
			ctx, cancel := context.WithCancel(context.Background())
			ran := false
			res := make(chan error, 1)
			go func() {
				res <- db.Update(ctx, func(tx storage.Tx) error { ran = true; return nil })
			}()
			synctest.Wait()
			cancel()
			if err := <-res; !errors.Is(err, context.Canceled) {
				t.Errorf("Update canceled while queued: error = %v, want context.Canceled", err)
			}
			release()
			if err := <-held; err != nil {
				t.Errorf("held Update: %v", err)
			}
			if ran {
				t.Errorf("fn of a canceled Update ran")
			}
		})
	})

	t.Run("ok/close-waits-for-the-running-batch", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			db := openTest(t)
			release, held := hold(t, db)
			queued := make(chan error, 1)
			go func() { queued <- db.Update(context.Background(), put("queued")) }()
			synctest.Wait()
			closed := make(chan error, 1)
			go func() { closed <- db.Close() }()
			synctest.Wait()
			if err := <-queued; !errors.Is(err, ErrClosed) {
				t.Errorf("Update queued at Close: error = %v, want ErrClosed", err)
			}
			select {
			case err := <-closed:
				t.Fatalf("Close returned (%v) while a batch was running", err)
			default:
			}
			release()
			if err := <-held; err != nil {
				t.Errorf("running Update: %v, want it committed", err)
			}
			if err := <-closed; err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	})
}
