package bbolt

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/coffer/coffer/internal/storage"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var _ storage.Snapshotter = (*DB)(nil)

// ErrSnapshotYielded is returned by [DB.ReadSnapshot] when it gave up so that the file
// could be remapped (see ReadSnapshot): nothing is wrong with the store; take the
// snapshot again.
var ErrSnapshotYielded = errors.New("bbolt: the snapshot gave way to writes that needed to remap the growing database file; take it again (at a quieter time, or faster)")

const (
	// snapshotCheckEvery is how many keys ReadSnapshot walks between looks at its context.
	snapshotCheckEvery = 4096
	// remapProbeEvery and remapStallLimit: how often a snapshot checks that a new read
	// transaction can still begin, and how long one may wait before the snapshot gives way.
	remapProbeEvery = 200 * time.Millisecond
	remapStallLimit = time.Second
)

// ReadSnapshot implements [storage.Snapshotter] with one bbolt read transaction and one
// cursor: values are handed to fn straight from the memory map, never copied, so a
// snapshot of any size holds one key's worth of memory.
//
// A read transaction never blocks the committer, with one exception: a commit that needs
// more of the file than bbolt has mapped must remap it, and a remap waits for every open
// read transaction to end — and holds up every new one meanwhile, so that the whole
// store stops until the snapshot ends. bbolt maps in steps (initialMmapSize, then
// doubling up to 1 GiB, then 1 GiB at a time), and while a snapshot is open the pages
// writers free cannot be reused, so the file grows by what they write. So a snapshot
// watches for it: every remapProbeEvery it begins an empty read transaction, and when
// one has waited remapStallLimit it gives way — it stops at the next key and returns
// [ErrSnapshotYielded], the remap goes ahead, and the store serves on. The stall is
// bounded by remapStallLimit plus what fn takes for one key.
func (db *DB) ReadSnapshot(ctx context.Context, fn func(key string, value []byte) error) error {
	if err := db.check(ctx); err != nil {
		return err
	}
	var yield atomic.Bool
	stop := make(chan struct{})
	defer close(stop)
	started := make(chan struct{})
	go db.watchRemap(started, stop, &yield)
	over, under, btx, err := db.begin() // what a View reads
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	if err != nil {
		return err
	}
	defer btx.Rollback()
	close(started)
	n := 0
	walk([]*overlay{over, under}, btx.Bucket(bucket).Cursor(), nil, func(k, v []byte) bool {
		if yield.Load() {
			err = ErrSnapshotYielded
			return false
		}
		if n++; n%snapshotCheckEvery == 0 {
			if err = ctx.Err(); err != nil {
				return false
			}
		}
		err = fn(string(k), v)
		return err == nil
	})
	if err != nil {
		return err
	}
	return ctx.Err()
}

// watchRemap sets yield when an empty read transaction, begun every remapProbeEvery once
// the snapshot's own has begun, waits longer than remapStallLimit: a remap is waiting for
// the snapshot. It returns when stop is closed.
func (db *DB) watchRemap(started, stop <-chan struct{}, yield *atomic.Bool) {
	select {
	case <-started:
	case <-stop:
		return
	}
	tick := time.NewTicker(remapProbeEvery)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		probed := make(chan struct{})
		go func() {
			// It returns once the remap is done, if one is waiting.
			_ = db.bolt.View(func(*bolt.Tx) error { return nil })
			close(probed)
		}()
		limit := time.NewTimer(remapStallLimit)
		select {
		case <-probed:
			limit.Stop()
		case <-stop:
			limit.Stop()
			return
		case <-limit.C:
			yield.Store(true)
			return
		}
	}
}
