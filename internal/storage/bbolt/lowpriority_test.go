package bbolt

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/coffer/coffer/internal/storage"
)

// TestBackgroundUpdates checks that an UpdateBackground is committed in a batch of its
// own, on a thread of lower priority (where the platform has one per thread), that the
// committer's own thread keeps its priority, and that a background function ending its
// goroutine leaves a working committer.
func TestBackgroundUpdates(t *testing.T) {
	t.Run("ok/batch-of-its-own-at-lower-priority", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			db := openTest(t)
			before := logged(db)
			release, held := hold(t, db)
			// Queued one at a time, so in this order: a foreground Update, a
			// background one, another foreground one.
			nices := map[string]int{}
			errs := make(chan error, 3)
			for _, name := range []string{"fore1", "back", "fore2"} {
				update := db.Update
				if name == "back" {
					update = db.UpdateBackground
				}
				go func() {
					errs <- update(context.Background(), func(tx storage.Tx) error {
						nices[name] = threadNice(t) // the committers run one at a time
						return tx.Put(name, []byte(name))
					})
				}()
				synctest.Wait()
			}
			release()
			if err := <-held; err != nil {
				t.Fatalf("held Update: %v", err)
			}
			for range 3 {
				if err := <-errs; err != nil {
					t.Fatalf("queued Update: %v", err)
				}
			}
			// held, then fore1 (the background Update ends its batch), back alone, fore2.
			if got := logged(db) - before; got != 4 {
				t.Errorf("commits = %d, want 4: the background Update in a batch of its own", got)
			}
			for _, k := range []string{"fore1", "back", "fore2"} {
				if !has(t, db, k) {
					t.Errorf("%s missing", k)
				}
			}
			if !perThreadPriority {
				return
			}
			if nices["fore1"] != nices["fore2"] {
				t.Errorf("foreground nice %d before a background batch, %d after: the committer's thread changed priority", nices["fore1"], nices["fore2"])
			}
			if fore := nices["fore1"]; fore < backgroundNice && nices["back"] != backgroundNice {
				t.Errorf("background Update ran at nice %d, want %d (foreground: %d)", nices["back"], backgroundNice, fore)
			}
		})
	})

	t.Run("fail/goexit-in-a-background-function", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			db := openTest(t)
			if <-goexitUpdate(db.UpdateBackground) {
				t.Errorf("Update returned after its fn called runtime.Goexit")
			}
			if has(t, db, "goexit") {
				t.Errorf("goexit written by a function that did not return")
			}
			// One committer carries on, for either kind of Update.
			for _, update := range []func(context.Context, func(storage.Tx) error) error{db.Update, db.UpdateBackground} {
				if err := update(context.Background(), put("after")); err != nil {
					t.Errorf("Update after the Goexit: %v", err)
				}
			}
		})
	})
}
