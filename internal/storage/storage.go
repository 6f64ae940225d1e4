// Package storage defines the small transactional key-value interface every Coffer
// storage backend implements, and nothing else: it knows no encryption and no domain, and
// it must not import any other Coffer package.
//
// Start with [Backend] and [Tx]. The implementations are storage/bbolt (the embedded
// default, one file DIR/coffer.db, with group commit) and storage/postgres (one table in
// a PostgreSQL database, SERIALIZABLE transactions retried on conflict, for several
// servers sharing one database). The barrier (internal/barrier) is a Backend too: it
// wraps one of them and seals every value; the vault domain and identity are handed that
// wrapper and never learn it is one. storage/storagetest is the conformance suite all of them pass;
// storage/kvjson keeps JSON records in a [Tx] for the packages built on storage.
//
// # Contract
//
//   - Keys are '/'-separated strings; values are opaque bytes. [Tx.Scan] orders keys by
//     their bytes, the same on every backend.
//   - A missing key is [ErrNotFound] from [Tx.Get], never (nil, nil); deleting an absent
//     key is not an error.
//   - [Backend.Update] commits durably before it returns nil, and may run its function
//     more than once (bbolt re-runs a batch after one member fails; PostgreSQL re-runs a
//     transaction it aborted for a serialization conflict). A function must therefore
//     have no effect outside its Tx but overwriting its own result variables.
//   - A backend that keeps losing to concurrent writers gives up with an error wrapping
//     [ErrBusy]: nothing was written and the request may be retried.
//   - A backend that cannot write for a reason that passes without Coffer's help (its
//     disk or quota is full, its database is starting or out of connections) fails with
//     an error wrapping [ErrUnavailable]: nothing was written, and the same request may
//     succeed later.
//   - [ScanKeys] lists what [Tx.Scan] would, keys only; a backend whose Tx can list keys
//     without reading values implements [KeyScanner], and the rest are scanned. The
//     conformance suite checks that both agree on every backend.
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

// ErrUnavailable is wrapped by [Backend.Update] (and View, where reading can fail so) when
// the storage cannot do its work for now — a full disk or quota, a database that is
// starting, shutting down or out of connections — and nothing was written: the caller may
// retry later, and the backend carries on by itself once the condition passes.
var ErrUnavailable = errors.New("storage: temporarily unavailable; nothing was written; retry later")

// Temporary reports whether err says that the storage refused work for now and wrote
// nothing ([ErrBusy], [ErrUnavailable]): a request that failed so may be retried as it is.
func Temporary(err error) bool {
	return errors.Is(err, ErrBusy) || errors.Is(err, ErrUnavailable)
}

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

// KeyScanner is implemented by the Tx of a backend that can list keys without reading
// their values. Call it through [ScanKeys], which works on every Tx.
type KeyScanner interface {
	// ScanKeys returns the keys Scan(prefix, after, limit) would return, in the same order.
	ScanKeys(prefix, after string, limit int) ([]string, error)
}

// ScanKeys returns the keys [Tx.Scan] would return for the same arguments, without their
// values: a caller that only needs the keys — to delete them, as a purge does with an
// object's versions, or to parse them, as the scheduler does with its index — then has no
// value read, copied or, behind the barrier, decrypted. A value that is damaged is
// therefore not reported by ScanKeys, only by what reads it. A Tx that does not implement
// [KeyScanner] is scanned with Scan.
func ScanKeys(tx Tx, prefix, after string, limit int) ([]string, error) {
	if ks, ok := tx.(KeyScanner); ok {
		return ks.ScanKeys(prefix, after, limit)
	}
	es, err := tx.Scan(prefix, after, limit)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(es))
	for i, e := range es {
		keys[i] = e.Key
	}
	return keys, nil
}
