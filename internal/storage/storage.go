// Package storage defines the small transactional key-value interface that every
// Coffer storage backend implements (bbolt embedded, PostgreSQL later), and nothing else:
// it knows no encryption and no domain. It must not import any other Coffer package.
//
// Keys are '/'-separated strings; values are opaque bytes. A missing key is an error
// ([ErrNotFound]), never (nil, nil).
package storage

import (
	"context"
	"errors"
)

// ErrNotFound is returned by [Tx.Get] when the key is absent.
var ErrNotFound = errors.New("storage: key not found")

// ErrBusy is wrapped by [Backend.Update] when it gave up on a transaction that kept
// conflicting with concurrent ones: nothing was written, and the caller may retry later.
var ErrBusy = errors.New("storage: too many conflicting writers; retry later")

// Backend is a transactional key-value store.
type Backend interface {
	// View runs fn in a read-only snapshot.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction, committed durably (fsynced) before
	// Update returns nil; rolled back when fn returns an error or panics.
	//
	// Backends may group concurrent Updates into one commit and may therefore run fn
	// more than once: fn must have no effect outside the Tx other than setting the
	// caller's result variables, which it must overwrite (not append to) on every run.
	Update(ctx context.Context, fn func(Tx) error) error
	// Close releases the backend; later calls fail.
	Close() error
}

// Tx is one transaction. It is only valid inside the function it was passed to.
type Tx interface {
	// Get returns the value of key, or ErrNotFound. The returned bytes belong to the caller.
	Get(key string) ([]byte, error)
	// Put sets key to value. The Tx does not keep value after Put returns.
	Put(key string, value []byte) error
	// Delete removes key; an absent key is not an error.
	Delete(key string) error
	// Scan returns up to limit entries whose keys start with prefix and sort strictly after
	// `after` (byte order), in ascending key order. after == "" starts at the prefix.
	// limit <= 0 means no limit. Returned values belong to the caller.
	Scan(prefix, after string, limit int) ([]Entry, error)
}

// Entry is one key and its value, as returned by [Tx.Scan].
type Entry struct {
	Key   string
	Value []byte
}
