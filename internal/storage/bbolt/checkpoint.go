package bbolt

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// A checkpoint writes what the write-ahead log holds into the database file, in one bbolt
// transaction, so that the log can be written again from the start of a file.
//
// It runs beside the committer (before a background batch, in it: see rotate): when the
// current round of the log has grown to walSize,
// the committer freezes it — the overlay becomes the frozen overlay, a new one takes the
// batches that follow, and the log's next round begins in its other file — and a goroutine
// writes the frozen overlay into the file (on a thread of lower priority, see
// runLowPriority) while batches go on. Reads look in the live overlay, then the frozen
// one, then the file; once the checkpoint's commit is visible, the frozen overlay is in the
// file, and a read that begins then skips it (frozenFor, DB.begin). The committer takes
// the checkpoint's result in before its next batch (reap). Committing a batch's pages
// used to stop the committer for tens of milliseconds every few thousand sets (the p99 of
// a delete+recover went from 24 to 50–60 ms with the checkpoint in the committer's way).
//
// The checkpoint of the frozen round commits the file's next transaction (nothing else
// commits while the DB is open), so the new round lies on it from its first record. A
// checkpoint that fails leaves the frozen overlay and its round as they are; the committer
// tries again, on its own thread, when the new round has grown to walSize too, and refuses
// batches once that round holds twice walSize. Close, Checkpoint and a start that replayed
// the log write both overlays in one transaction (checkpointAll).

// ckptResult is what a checkpoint did.
type ckptResult struct {
	txid     uint64 // the transaction it committed
	err      error
	landed   bool // err, but the commit is visible all the same (see commitError)
	unsynced bool // it left bbolt's free list unwritten (see freelistPolicy)
}

// frozenFor returns the frozen overlay to read with btx, a read transaction on the file:
// none once btx sees the frozen overlay's checkpoint in the file.
func (db *DB) frozenFor(btx *bolt.Tx) *overlay {
	if db.frozen != nil && uint64(btx.ID()) == db.fileTxid {
		return db.frozen
	}
	return nil
}

// publish makes the overlays as they are now what Views read.
func (db *DB) publish() {
	db.snap.Store(&published{over: db.live.Copy(), under: db.frozen, base: db.fileTxid})
}

// rotate freezes the current round and begins its checkpoint, once the previous one has
// ended (it waits for it). When that one failed, it is tried again first, here; while it
// keeps failing, batches go on in the current round until it holds twice walSize.
//
// Before a background batch (the sweeper's), the checkpoint is made here, on the batch's
// thread of lower priority, before the batch: the sweeper paces itself by the time its
// transactions take (vault's sweepShare), and a checkpoint beside it, which writes its
// purges into the file, would be processor time it does not see. Measured during the
// sweep of a million: a get's p99 at c=1 was 2.07–2.24 times its p99 without a sweep with
// the checkpoints beside, 1.63 with them in the sweeper's transactions.
func (db *DB) rotate(background bool) error {
	db.reap(true)
	if db.frozen != nil {
		var r ckptResult
		want := db.fileTxid + 1
		runLowPriority(func() { r = db.commitOverlays(want, db.frozen) })
		if err := db.land(r, false); err != nil {
			if db.wal.off >= 2*walSize {
				return err
			}
			return nil
		}
	}
	db.frozen, db.live = db.live, newOverlay()
	db.wal.next(db.fileTxid + 1)
	db.publish()
	if background {
		_ = db.land(db.commitOverlays(db.fileTxid+1, db.frozen), false)
		return nil
	}
	done := make(chan ckptResult, 1)
	db.ckpt = done
	frozen, want := db.frozen, db.fileTxid+1
	go func() {
		var r ckptResult
		runLowPriority(func() { r = db.commitOverlays(want, frozen) })
		done <- r
	}()
	return nil
}

// reap takes in the result of the checkpoint running beside the committer, if it has
// ended or, with wait, once it has.
func (db *DB) reap(wait bool) {
	if db.ckpt == nil {
		return
	}
	var r ckptResult
	if wait {
		r = <-db.ckpt
	} else {
		select {
		case r = <-db.ckpt:
		default:
			return
		}
	}
	db.ckpt = nil
	_ = db.land(r, false)
}

// land takes in the result of a checkpoint of the frozen overlay (all: of both overlays):
// on success the overlays it wrote are dropped and Views read the file's new transaction.
// A failure is logged (once until one succeeds); a commit that failed but landed ends
// writes until the DB is opened again (see commitError).
func (db *DB) land(r ckptResult, all bool) error {
	if r.err != nil {
		if r.landed {
			db.refuse(fmt.Errorf("bbolt: writes are refused until the server restarts: %w", r.err))
		} else if !db.ckptFailed {
			db.log.Error("a checkpoint failed: the write-ahead log keeps every batch meanwhile, tries again when its round is full, and refuses batches once the round holds twice its size", "path", db.path, "err", r.err)
		}
		db.ckptFailed = true
		return r.err
	}
	if db.ckptFailed || db.full.Swap(false) {
		db.log.Info("the database file can be written again: writes succeed", "path", db.path)
	}
	db.ckptFailed = false
	db.unsynced = r.unsynced
	db.fileTxid = r.txid
	db.frozen = nil
	if all {
		db.live = newOverlay()
	}
	db.publish()
	return nil
}

// checkpointAll writes both overlays into the file in one transaction, once the checkpoint
// running beside the committer (if any) has ended, and begins a new round of the log on
// the new transaction: for Close, Checkpoint, and a start that replayed the log.
func (db *DB) checkpointAll() error {
	db.reap(true)
	if db.live.Len() == 0 && db.frozen == nil {
		return nil
	}
	var r ckptResult
	want := db.fileTxid + 1
	runLowPriority(func() { r = db.commitOverlays(want, db.frozen, db.live) })
	predicted := db.frozen != nil // the current round lies on the transaction r committed
	if err := db.land(r, true); err != nil {
		return err
	}
	if predicted {
		// Its records would otherwise continue the file's transaction at the next start,
		// although the file holds them: the round is ended at its first record.
		if err := db.wal.invalidate(); err != nil {
			db.refuse(fmt.Errorf("bbolt: writes are refused until the server restarts: %w", err))
			return err
		}
	}
	db.wal.next(r.txid)
	return nil
}

// commitOverlays writes overs into the file in one transaction, want (the file's next),
// in order (a later one's entry for a key wins), once the lines journaled so far are durable where they belong
// (Options.BeforeCheckpoint). It runs beside the committer: it touches nothing of the
// committer's but the file.
func (db *DB) commitOverlays(want uint64, overs ...*overlay) (r ckptResult) {
	if db.beforeCheckpoint != nil {
		if err := db.beforeCheckpoint(); err != nil {
			r.err = fmt.Errorf("bbolt: checkpoint: the journaled lines could not be made durable: %w", err)
			return r
		}
	}
	db.freelistPolicy()
	err := db.update(func(btx *bolt.Tx) error {
		r.txid = uint64(btx.ID())
		if r.txid != want {
			return fmt.Errorf("bbolt: checkpoint: transaction %d, want %d: something else committed to the file", r.txid, want)
		}
		b := btx.Bucket(bucket)
		for _, o := range overs {
			if o == nil {
				continue
			}
			it := o.Iter()
			for ok := it.First(); ok; ok = it.Next() {
				e := it.Item()
				var err error
				if e.del {
					err = b.Delete([]byte(e.key))
				} else {
					err = b.Put([]byte(e.key), e.val)
				}
				if err != nil {
					it.Release()
					return err
				}
			}
			it.Release()
		}
		return nil
	})
	if err != nil {
		r.landed = r.txid != 0 && db.landed(r.txid)
		r.err = db.commitError(err, r.landed)
		return r
	}
	r.unsynced = db.bolt.NoFreelistSync
	db.record(r.txid)
	return r
}
