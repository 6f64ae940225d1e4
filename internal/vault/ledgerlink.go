package vault

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/storage"
)

// A change records its ledger entry pending (ledger.AppendPending), without taking the
// chain's head; the entry is linked into the chain before the change is acknowledged,
// so that the ledger's order agrees with real time: a change acknowledged before
// another began has the smaller seq. Linking is a group commit: one Link moves every
// entry pending when it starts, and the changes that committed before it began need
// no Link of their own. linkingStore does this for every Update of the Service, on
// storage with concurrent writers (Options.ConcurrentWriters); on storage that runs
// Updates one after the other a change appends to the chain itself, which costs no
// waiting there.

// linkingStore is the Service's storage: after an Update that recorded pending ledger
// entries commits, it returns only once a Link that began after that commit has
// committed.
type linkingStore struct {
	storage.Backend
	mu sync.Mutex // one Link at a time in this process: the others wait and reuse it
	// started counts the Links begun (their lists of pending entries); done is the
	// newest of them known committed having linked everything it listed.
	started, done atomic.Uint64
}

func (l *linkingStore) Update(ctx context.Context, fn func(storage.Tx) error) error {
	var recorded bool
	err := l.Backend.Update(ctx, func(tx storage.Tx) error {
		w := &pendingWatch{Tx: tx}
		recorded = false
		err := fn(w)
		recorded = w.recorded
		return err
	})
	if err != nil || !recorded {
		return err
	}
	return l.awaitLink(ctx, l.started.Load()+1)
}

// awaitLink returns once Link number want (or a later one) has committed complete,
// running Links itself while none has.
func (l *linkingStore) awaitLink(ctx context.Context, want uint64) error {
	for l.done.Load() < want {
		l.mu.Lock()
		if l.done.Load() >= want {
			l.mu.Unlock()
			return nil
		}
		var n int
		var gen uint64
		err := l.Backend.Update(ctx, func(tx storage.Tx) error {
			// Link lists the pending entries after this: every entry committed before the
			// generation is taken is listed.
			gen = l.started.Add(1)
			var err error
			n, err = ledger.Link(tx, 1000)
			return err
		})
		if err == nil && n < 1000 && gen > l.done.Load() {
			l.done.Store(gen) // under mu: no other Link stores meanwhile
		}
		l.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// pendingWatch notes whether a transaction recorded a pending ledger entry.
type pendingWatch struct {
	storage.Tx
	recorded bool
}

func (w *pendingWatch) Put(key string, value []byte) error {
	if strings.HasPrefix(key, ledger.PendingPrefix) {
		w.recorded = true
	}
	return w.Tx.Put(key, value)
}

// GetShared and GetExclusive keep the locking reads of the storage under it.
func (w *pendingWatch) GetShared(key string) ([]byte, error) { return storage.GetShared(w.Tx, key) }

func (w *pendingWatch) GetExclusive(key string) ([]byte, error) {
	return storage.GetExclusive(w.Tx, key)
}
