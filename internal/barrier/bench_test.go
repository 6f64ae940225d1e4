package barrier_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/coffer/coffer/internal/barrier"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

// The "plain" cases run the same operation on the in-memory store without the barrier, so the
// difference is the barrier's cost.
func benchStores(b *testing.B) map[string]storage.Backend {
	inner := storagetest.NewMemory()
	bar, err := barrier.Open(context.Background(), inner, newKEK(b), barrier.Options{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	return map[string]storage.Backend{"plain": storagetest.NewMemory(), "barrier": bar}
}

// benchOp benchmarks op, which moves value, on the plain store and through the barrier;
// prepare, if not nil, readies each store first.
func benchOp(b *testing.B, value []byte, prepare func(storage.Backend), op func(context.Context, storage.Backend) error) {
	for _, name := range []string{"plain", "barrier"} {
		st := benchStores(b)[name]
		if prepare != nil {
			prepare(st)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(value)))
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				if err := op(ctx, st); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

const benchKey = "v/default/secret/bench/ver/0123456789abcdef"

func BenchmarkPut1KiB(b *testing.B) {
	value := bytes.Repeat([]byte("x"), 1024)
	benchOp(b, value, nil, func(ctx context.Context, st storage.Backend) error {
		return st.Update(ctx, func(tx storage.Tx) error { return tx.Put(benchKey, value) })
	})
}

func BenchmarkGet1KiB(b *testing.B) {
	value := bytes.Repeat([]byte("x"), 1024)
	benchOp(b, value, func(st storage.Backend) { put(b, st, benchKey, value) }, func(ctx context.Context, st storage.Backend) error {
		return st.View(ctx, func(tx storage.Tx) error {
			_, err := tx.Get(benchKey)
			return err
		})
	})
}
