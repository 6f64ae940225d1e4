package storage

import "context"

// Snapshotter is a [Backend] that can hand out every key it holds from one consistent
// point in time while it keeps serving: what an online snapshot of a whole deployment
// reads (see storage/snapfile for the file it is written to). bbolt, PostgreSQL and
// storagetest.Memory implement it; the barrier does not, on purpose: a snapshot carries
// the stored bytes as they are, still sealed, and is taken from the backend under it.
type Snapshotter interface {
	// ReadSnapshot calls fn for every key, in ascending byte order, with the value as
	// stored (no wrapper sees it), all read from one consistent view: one bbolt read
	// transaction, one PostgreSQL REPEATABLE READ transaction. Updates go on meanwhile
	// and are not seen. value is only valid during the call: fn copies what it keeps.
	// An error from fn stops the walk and is returned as it is; so is ctx's.
	ReadSnapshot(ctx context.Context, fn func(key string, value []byte) error) error
}
