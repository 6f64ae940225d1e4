package barrier_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/coffer/coffer/internal/barrier"
	"github.com/coffer/coffer/internal/storage"
)

// The "plain" cases run the same operation on the in-memory store without the barrier, so the
// difference is the barrier's cost.
func benchStores(b *testing.B) map[string]storage.Backend {
	inner := newMem()
	inner.rerun = false
	bar, err := barrier.Open(context.Background(), inner, newKEK(b), barrier.Options{Create: true})
	if err != nil {
		b.Fatal(err)
	}
	plain := newMem()
	plain.rerun = false
	return map[string]storage.Backend{"plain": plain, "barrier": bar}
}

func BenchmarkPut1KiB(b *testing.B) {
	value := bytes.Repeat([]byte("x"), 1024)
	for _, name := range []string{"plain", "barrier"} {
		st := benchStores(b)[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(value)))
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				err := st.Update(ctx, func(tx storage.Tx) error {
					return tx.Put("v/default/secret/bench/ver/0123456789abcdef", value)
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGet1KiB(b *testing.B) {
	value := bytes.Repeat([]byte("x"), 1024)
	const key = "v/default/secret/bench/ver/0123456789abcdef"
	for _, name := range []string{"plain", "barrier"} {
		st := benchStores(b)[name]
		put(b, st, key, value)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(value)))
			b.ReportAllocs()
			ctx := context.Background()
			for b.Loop() {
				err := st.View(ctx, func(tx storage.Tx) error {
					_, err := tx.Get(key)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
