package bbolt

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"

	"github.com/coffer/coffer/internal/storage"
	bolt "go.etcd.io/bbolt"
)

// request is one queued Update.
type request struct {
	fn   func(storage.Tx) error
	done chan outcome // buffered 1: the committer never blocks on a reply
	// background: queued by UpdateBackground. Its function is committed in a batch of its
	// own, at a lower processor priority (lowpriority.go).
	background bool
}

// outcome is what the committer reports back to an Update caller.
type outcome struct {
	err        error
	panicked   bool
	panicValue any
	goexit     bool // fn called runtime.Goexit (e.g. t.FailNow); the caller exits too
}

// errRollback makes bolt roll back a batch in which one function failed.
var errRollback = errors.New("bbolt: roll back batch")

// run is the committer: the only goroutine that writes. pending is a batch to commit
// before taking new requests (non-empty only when replacing a committer that exited, see
// [DB.call]). run closes db.done once Close has been called.
func (db *DB) run(pending []*request) {
	if len(pending) > 0 {
		db.commit(pending, db.replaceCommitter)
	}
	batch := make([]*request, 0, maxBatch)
	for {
		batch = db.next(batch[:0])
		if len(batch) == 0 {
			close(db.done)
			return
		}
		if batch[0].background {
			db.commitBackground(batch)
		} else {
			db.commit(batch, db.replaceCommitter)
		}
		clear(batch) // drop references to finished requests
		// Let the writers just answered run and queue again before the next batch is
		// taken: without it the 64 writers of a busy server split into two alternating
		// groups and batches stay half as large (measured: +16% throughput). A yield,
		// not a timer: an idle committer waits for nothing.
		runtime.Gosched()
	}
}

// next waits for a request, then takes every request already queued, up to maxBatch. It
// returns an empty batch once Close has been called; requests still waiting then fail
// with ErrClosed in [DB.Update]. A background request makes a batch of its own: one met
// while taking the queue is held, and is the next batch.
func (db *DB) next(batch []*request) []*request {
	if r := db.held; r != nil {
		db.held = nil
		return append(batch, r)
	}
	select {
	case r := <-db.reqs:
		batch = append(batch, r)
		if r.background {
			return batch
		}
	case <-db.quit:
		return batch
	}
	for len(batch) < maxBatch {
		select {
		case r := <-db.reqs:
			if r.background {
				db.held = r
				return batch
			}
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// commitBackground commits a batch of one background request on a thread of lower
// priority (see runLowPriority), and returns once it is answered. Should its function
// end its goroutine (runtime.Goexit), that goroutine is the low-priority one: its caller
// is answered, and this committer carries on.
func (db *DB) commitBackground(batch []*request) {
	runLowPriority(func() {
		db.commit(batch, func([]*request) {}) // a batch of one leaves nothing to commit
	})
}

// replaceCommitter starts a committer in place of the committer goroutine that is
// ending (a function called runtime.Goexit in it), with the rest of its batch.
func (db *DB) replaceCommitter(rest []*request) { go db.run(rest) }

// commit runs batch in one bolt write transaction and replies to every request. A request
// whose function fails is answered and removed; the rest are run again in a new
// transaction, so a failing function never sees nor leaves writes in the committed state.
// If a function ends the goroutine (see call), resume gets the requests left to commit.
func (db *DB) commit(batch []*request, resume func(rest []*request)) {
	for len(batch) > 0 {
		failed := -1
		var failure outcome
		var txid uint64
		db.freelistPolicy()
		err := db.update(func(btx *bolt.Tx) error {
			txid = uint64(btx.ID())
			b := btx.Bucket(bucket)
			for i := range batch {
				if out, ok := db.call(batch, i, b, resume); !ok {
					failed, failure = i, out
					return errRollback
				}
			}
			return nil
		})
		if failed < 0 {
			if err != nil {
				err = db.commitError(err, txid != 0 && db.landed(txid))
			} else {
				if db.full.Swap(false) {
					db.log.Info("the database file can be written again: writes succeed", "path", db.path)
				}
				db.unsynced = db.bolt.NoFreelistSync
				db.record(txid)
			}
			for _, r := range batch {
				r.done <- outcome{err: err}
			}
			return
		}
		batch[failed].done <- failure
		batch = slices.Delete(batch, failed, failed+1)
	}
}

// call runs batch[i].fn on b; ok reports that it returned nil. A panic becomes a failed
// outcome. If fn calls runtime.Goexit, this goroutine cannot be saved: call answers the
// caller, and hands the rest of the batch to resume (a new committer, which waits for the
// write lock until bolt's deferred rollback releases it while this goroutine unwinds).
func (db *DB) call(batch []*request, i int, b *bolt.Bucket, resume func(rest []*request)) (out outcome, ok bool) {
	t := &tx{b: b, writable: true, path: db.path}
	returned := false
	defer func() {
		t.invalidate()
		if returned {
			return
		}
		if p := recover(); p != nil {
			out, ok = outcome{panicked: true, panicValue: p}, false
			return
		}
		batch[i].done <- outcome{goexit: true}
		resume(slices.Concat(batch[:i], batch[i+1:]))
	}()
	err := batch[i].fn(t)
	returned = true
	return outcome{err: err}, err == nil
}

// record writes txid to the txid record, after the commit and before the batch's callers
// are answered (see txid.go). A record that cannot be written does not fail the batch —
// its commit is on disk — but a later start can then no longer tell whether the file lost
// the transactions since: that is logged, once until a write succeeds again.
func (db *DB) record(txid uint64) {
	if db.rec == nil {
		return
	}
	if db.beforeRecord != nil {
		db.beforeRecord(txid)
	}
	if err := db.rec.write(txid); err != nil {
		if !db.recFailed.Swap(true) {
			db.log.Error("the txid record cannot be written: writes are committed, but a later start cannot tell whether the database file lost any of them; free the disk or fix the file's permissions",
				"path", db.rec.f.Name(), "err", err)
		}
		return
	}
	if db.recFailed.Swap(false) {
		db.log.Info("the txid record can be written again", "path", db.rec.f.Name())
	}
}

// landed reports whether transaction txid, whose commit failed, is visible nonetheless.
func (db *DB) landed(txid uint64) bool {
	cur, err := db.Txid()
	return err == nil && cur >= txid
}

// update is bolt's Update with a panic or memory fault that bbolt raises outside the
// batch's functions (writing back a damaged page it read) turned into an error wrapping
// ErrCorrupt for the whole batch, rolled back, instead of the committer's end.
func (db *DB) update(fn func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = &CorruptError{Path: db.path, Panic: fmt.Sprint(p)}
		}
	}()
	return db.bolt.Update(fn)
}

// freelistPolicy decides whether the next commit writes bbolt's free list. A commit that
// writes it writes the whole list: a page for the few free pages of a file in steady use,
// but megabytes after a mass purge (a million purged secrets free a million pages, eight
// bytes each), which would make every commit that much slower until the space is reused or
// the file compacted. So the list is written while it is small (up to maxSyncedFreePages
// ids), and while it is larger only by Close (syncFreelist): a start after a clean stop
// then reads it, whatever its size, instead of reading every page. After a crash while the
// list is large, the next start rebuilds it by reading every page, once (bbolt's own
// behaviour without a written list), and writes it.
func (db *DB) freelistPolicy() {
	if noFreelistSync {
		db.bolt.NoFreelistSync = true
		return
	}
	st := db.bolt.Stats()
	db.bolt.NoFreelistSync = st.FreePageN+st.PendingPageN > maxSyncedFreePages
}

// syncFreelist writes the free list in one last commit when the last one left it
// unwritten (see freelistPolicy), and records that commit in the txid record.
func (db *DB) syncFreelist() {
	if db.readOnly || !db.unsynced || noFreelistSync {
		return
	}
	db.bolt.NoFreelistSync = false
	var txid uint64
	err := db.update(func(btx *bolt.Tx) error {
		txid = uint64(btx.ID())
		return nil
	})
	if err != nil {
		db.log.Warn("the free list could not be written at close: the next start rebuilds it by reading the whole file", "path", db.path, "err", err)
		return
	}
	db.unsynced = false
	db.record(txid)
}
