package bbolt

import (
	"context"
	"errors"

	"github.com/coffer/coffer/internal/storage"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var _ storage.Snapshotter = (*DB)(nil)

// snapshotCheckEvery is how many keys ReadSnapshot walks between looks at its context.
const snapshotCheckEvery = 4096

// ReadSnapshot implements [storage.Snapshotter] with one bbolt read transaction and one
// cursor: values are handed to fn straight from the memory map, never copied, so a
// snapshot of any size holds one key's worth of memory.
//
// A read transaction never blocks the committer, with one exception: a commit that
// needs more of the file than is mapped remaps it, and a remap waits for every read
// transaction to end — and holds up every new one meanwhile. The file is mapped with
// generous room to grow (initialMmapSize) so that the commits of a snapshot's duration
// fit; docs/design.md (Online snapshots) has the figures.
func (db *DB) ReadSnapshot(ctx context.Context, fn func(key string, value []byte) error) error {
	if err := db.check(ctx); err != nil {
		return err
	}
	err := db.bolt.View(func(btx *bolt.Tx) error {
		c := btx.Bucket(bucket).Cursor()
		n := 0
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if n++; n%snapshotCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := fn(string(k), v); err != nil {
				return err
			}
		}
		return ctx.Err()
	})
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}
