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
	// checkpoint: queued by Checkpoint, with no function. notes: queued by Journal, to
	// log the lines waiting for a batch on their own.
	checkpoint, notes bool
}

// alone reports whether r makes a batch of its own.
func (r *request) alone() bool { return r.background || r.checkpoint || r.notes }

// outcome is what the committer reports back to an Update caller.
type outcome struct {
	err        error
	panicked   bool
	panicValue any
	goexit     bool // fn called runtime.Goexit (e.g. t.FailNow); the caller exits too
}

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
		switch {
		case batch[0].checkpoint:
			err := db.broken
			if err == nil {
				err = db.checkpointAll()
			}
			batch[0].done <- outcome{err: err}
		case batch[0].notes:
			err := db.broken
			if err == nil {
				err = db.logChanges(nil)
			}
			batch[0].done <- outcome{err: err}
		case batch[0].background:
			db.commitBackground(batch)
		default:
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
// with ErrClosed in [DB.Update]. A background or checkpoint request makes a batch of its
// own: one met while taking the queue is held, and is the next batch.
func (db *DB) next(batch []*request) []*request {
	if r := db.held; r != nil {
		db.held = nil
		return append(batch, r)
	}
	select {
	case r := <-db.reqs:
		batch = append(batch, r)
		if r.alone() {
			return batch
		}
	case <-db.quit:
		return batch
	}
	for len(batch) < maxBatch {
		select {
		case r := <-db.reqs:
			if r.alone() {
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

// commit runs batch's functions one after the other on the live overlay (over the frozen
// one, if any, and the file), appends their changes to the write-ahead log as one record,
// publishes the overlay to Views and replies to every request. A function that fails has
// its changes taken back and its caller answered; the others' stand, and each function
// saw exactly the changes of those before it that stand. A batch that cannot be logged
// is taken back whole. If a function ends the goroutine (see call), the batch is taken
// back whole and resume gets the requests left to commit.
func (db *DB) commit(batch []*request, resume func(rest []*request)) {
	reader, err := db.prepareBatch(batch[0].background)
	if err != nil {
		for _, r := range batch {
			r.done <- outcome{err: err}
		}
		return
	}
	db.undo = db.undo[:0]
	for i := 0; i < len(batch); {
		mark := len(db.undo)
		t := &tx{b: reader.Bucket(bucket), over: db.live, under: db.frozenFor(reader), log: &db.undo, writable: true, path: db.path}
		out, ok := db.call(batch, i, t, resume)
		t.invalidate() // a Tx kept beyond its function fails, as in a View
		if ok {
			i++
			continue
		}
		rollback(db.live, db.undo[mark:])
		db.undo = db.undo[:mark]
		batch[i].done <- out
		batch = slices.Delete(batch, i, i+1)
	}
	_ = reader.Rollback()
	if len(db.undo) > 0 {
		if err = db.logChanges(db.undo); err != nil {
			rollback(db.live, db.undo)
		} else {
			db.publish()
		}
	}
	clear(db.undo) // the values are the overlay's to keep, not the log's
	if cap(db.undo) > 1<<16 {
		db.undo = nil // a huge batch (a sweep's) does not pin its log
	}
	for _, r := range batch {
		r.done <- outcome{err: err}
	}
}

// prepareBatch makes the committer ready for a batch (background: the sweeper's): a
// checkpoint that ended taken in, the round frozen and a checkpoint begun when it has
// grown to walSize (see rotate), and a read transaction on the file for the batch, which
// it returns.
func (db *DB) prepareBatch(background bool) (*bolt.Tx, error) {
	if db.broken != nil {
		return nil, db.broken
	}
	db.reap(false)
	if db.wal.off >= walSize {
		if err := db.rotate(background); err != nil {
			return nil, err
		}
	}
	if db.broken != nil { // a checkpoint taken in above may have ended writes
		return nil, db.broken
	}
	btx, err := db.bolt.Begin(false)
	if err != nil {
		return nil, fmt.Errorf("bbolt: begin: %w", err)
	}
	return btx, nil
}

// logChanges appends a batch's changes to the write-ahead log. A record written but not flushed
// may or may not be replayed after a crash, so its callers must not be told that nothing
// was written, and no later batch may be acknowledged in its place: the DB refuses every
// write from then on (reads go on) until it is opened again, as PostgreSQL does after a
// failed fsync.
func (db *DB) logChanges(changes []undo) error {
	notes := db.takeNotes()
	if len(notes) == 0 && len(changes) == 0 {
		return nil
	}
	err := db.wal.append(notes, changes)
	if err != nil && !errors.Is(err, errUnflushed) {
		db.returnNotes(notes)
	}
	switch {
	case err == nil:
		if db.full.Swap(false) {
			db.log.Info("the database file can be written again: writes succeed", "path", db.path)
		}
		return nil
	case errors.Is(err, errUnflushed):
		db.refuse(fmt.Errorf("bbolt: writes are refused until the server restarts: %w", err))
		db.log.Error("the write-ahead log could not be flushed: whether the last batch is on disk is unknown, so every write is refused until the server restarts", "path", walPaths(db.path)[db.wal.cur], "err", err)
		return err
	}
	return db.commitError(err, false)
}

// refuse makes every later batch fail with err (see logChanges).
func (db *DB) refuse(err error) {
	db.broken = err
	db.refusing.Store(true)
	db.takeNotes()
}

// call runs batch[i].fn on t; ok reports that it returned nil. A panic becomes a failed
// outcome. If fn calls runtime.Goexit, this goroutine cannot be saved: call takes back
// the batch's changes, answers the caller, and hands the rest of the batch to resume (a
// new committer).
func (db *DB) call(batch []*request, i int, t *tx, resume func(rest []*request)) (out outcome, ok bool) {
	returned := false
	defer func() {
		if returned {
			return
		}
		if p := recover(); p != nil {
			out, ok = outcome{panicked: true, panicValue: p}, false
			return
		}
		rollback(db.live, db.undo)
		db.undo = db.undo[:0]
		reader := t.b.Tx()
		t.invalidate()
		_ = reader.Rollback() // the new committer begins its own
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
	db.fileTxid = txid
	db.publish() // Views in flight pair with it
	db.record(txid)
}
