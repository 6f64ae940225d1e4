package barrier_test

import (
	"testing"

	"github.com/coffer/coffer/internal/barrier"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

// The barrier is a storage.Backend like any other: it passes the same suite.
func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		b, err := barrier.Open(t.Context(), newMem(), newKEK(t), barrier.Options{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

// The test store the other tests rely on passes it too.
func TestMemStoreConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend { return newMem() })
}
