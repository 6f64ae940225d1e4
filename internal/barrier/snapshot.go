package barrier

import "github.com/coffer/coffer/internal/storage"

// Snapshotter returns the backend under the barrier as a [storage.Snapshotter], when it
// is one, for an online snapshot of a whole deployment: such a snapshot is taken below
// the barrier on purpose, so that it carries every value as stored — still sealed, the
// keyring (sealed by the KEK) included — and nothing is opened on its way out. Restored
// under the same keys into any backend, the values open again with the same KEK.
func (b *Barrier) Snapshotter() (storage.Snapshotter, bool) {
	s, ok := b.inner.(storage.Snapshotter)
	return s, ok
}
