// Package storage defines the small transactional key-value interface every Coffer
// storage backend implements, and nothing else: it knows no encryption and no domain, and
// it must not import any other Coffer package.
//
// Start with [Backend] and [Tx]. The implementations are storage/bbolt (the embedded
// default, one file DIR/coffer.db, with group commit) and storage/postgres (one table in
// a PostgreSQL database, READ COMMITTED transactions that lock every key they read or
// write, for several servers sharing one database). The barrier (internal/barrier) is a Backend too: it
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
//     more than once (bbolt re-runs a batch whose member ended its goroutine; PostgreSQL re-runs a
//     transaction it aborted for a deadlock). A function must therefore
//     have no effect outside its Tx but overwriting its own result variables.
//   - Isolation: an Update sees every key it reads with [Tx.Get] (or [GetShared]) and
//     every key it writes as if no other Update ran between that access and its commit
//     — a Get, found or not, keeps the key from being changed, a write keeps it from being
//     read or written, until the commit (bbolt runs Updates one after the other;
//     PostgreSQL locks). [Tx.Scan] in an Update is not so protected: a range it
//     returned may gain or lose keys before the commit. An Update that decides from a
//     Scan (is this name free, which versions are there) must first Get a key that every
//     writer of that range Gets or writes too (the object's or vault's record), so that
//     the writers it depends on are ordered before or after it as a whole.
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

// SharedGetter is implemented by the Tx of a backend whose write transactions lock what
// they read (PostgreSQL: [Tx.Get] in an Update locks the key against every other writer
// until the commit). GetShared reads a key that the transaction will not change, under a
// lock that other readers share and a writer of that key waits for: many concurrent
// transactions may depend on one record (every object's change reads its vault's)
// without queueing behind each other. Call it through [GetShared].
type SharedGetter interface {
	GetShared(key string) ([]byte, error)
	GetExclusive(key string) ([]byte, error)
}

// GetShared reads key as [Tx.Get] does, under a shared lock where tx's backend has one
// ([SharedGetter]). A transaction must not write a key it read with GetShared, and a
// transaction that changes a key others read with GetShared must read it with
// [GetExclusive] first: a plain Get does not wait for shared readers on every backend.
func GetShared(tx Tx, key string) ([]byte, error) {
	if s, ok := tx.(SharedGetter); ok {
		return s.GetShared(key)
	}
	return tx.Get(key)
}

// GetExclusive reads key as [Tx.Get] does, and also waits for the transactions that
// read it with [GetShared] and keeps new ones out until the commit: the read of a
// transaction that will change such a key.
func GetExclusive(tx Tx, key string) ([]byte, error) {
	if s, ok := tx.(SharedGetter); ok {
		return s.GetExclusive(key)
	}
	return tx.Get(key)
}

// Prefetcher is implemented by the Tx of a backend whose every read is a round trip to a
// server (PostgreSQL): in a View, Prefetch sends the reads of keys along with the
// transaction's next round trip, so that a later [Tx.Get] of one of them costs none. It
// is a hint and changes no result: a Get returns what it would have returned without it,
// and a prefetched key never read costs a wasted read, nothing else. Call it through
// [Prefetch].
type Prefetcher interface {
	Prefetch(keys ...string)
}

// Prefetch asks tx's backend to read keys with its next round trip, where it can
// ([Prefetcher]); elsewhere it does nothing. For the read of a View that knows what it
// will read next (a request reads its vault's record, then the object it names); in an
// Update it does nothing, since a Get there locks, and the order of locks is the caller's.
func Prefetch(tx Tx, keys ...string) {
	if p, ok := tx.(Prefetcher); ok {
		p.Prefetch(keys...)
	}
}

// Unsnapshotted is implemented by the Tx of a backend whose snapshot costs more than a
// read (PostgreSQL: BEGIN and COMMIT, one more round trip than the reads): after
// ReadsNeedNoSnapshot, each read of the View is consistent by itself but two reads may
// see different commits. Call it through [NoSnapshot].
type Unsnapshotted interface {
	ReadsNeedNoSnapshot()
}

// NoSnapshot tells tx's backend, before the first read of a View, that the View's reads
// need not come from one snapshot — a View that reads one record (a request's check
// that its vault exists, before a change reads it again in its own transaction) — so
// that a backend where a snapshot costs a round trip can do without ([Unsnapshotted]).
// Elsewhere, and in an Update, it does nothing.
func NoSnapshot(tx Tx) {
	if u, ok := tx.(Unsnapshotted); ok {
		u.ReadsNeedNoSnapshot()
	}
}

// BackgroundUpdater is a [Backend] that can run an Update as background work: work no
// request waits for (the sweeper's purges), at a lower processor priority than the
// requests it serves, so that on a busy machine it takes the processor time they leave
// rather than making them wait for it. The embedded bbolt backend is one (its committer
// does an Update's work); PostgreSQL, which does the work of a transaction in its own
// processes, is not.
type BackgroundUpdater interface {
	UpdateBackground(ctx context.Context, fn func(Tx) error) error
}

// UpdateBackground runs fn as b's Update, as background work when b is a
// [BackgroundUpdater]. The contract is Update's.
func UpdateBackground(ctx context.Context, b Backend, fn func(Tx) error) error {
	if bu, ok := b.(BackgroundUpdater); ok {
		return bu.UpdateBackground(ctx, fn)
	}
	return b.Update(ctx, fn)
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
