package postgres_test

import (
	"testing"

	"github.com/coffer/coffer/internal/storage"
)

// BenchmarkView measures the Views a data-plane request runs, on 64 goroutines (-cpu
// sets GOMAXPROCS, SetParallelism the goroutines per proc): a get's three reads (the
// vault's record, the object, its version) with and without the object's read
// prefetched with the record's, and a change's vault check (one read) in a snapshot and
// without ([storage.NoSnapshot]).
//
//	source scripts/postgres.sh; go test ./internal/storage/postgres/ -run '^$' -bench View
func BenchmarkView(b *testing.B) {
	db := open(b, freshDSN(b))
	ctx := b.Context()
	if err := db.Update(ctx, func(tx storage.Tx) error {
		for _, k := range []string{"vault", "live", "ver"} {
			if err := tx.Put(k, make([]byte, 1100)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	get3 := func(prefetch bool) func(tx storage.Tx) error {
		return func(tx storage.Tx) error {
			if prefetch {
				storage.Prefetch(tx, "live")
			}
			for _, k := range []string{"vault", "live", "ver"} {
				if _, err := tx.Get(k); err != nil {
					return err
				}
			}
			return nil
		}
	}
	get1 := func(apart bool) func(tx storage.Tx) error {
		return func(tx storage.Tx) error {
			if apart {
				storage.NoSnapshot(tx)
			}
			_, err := tx.Get("vault")
			return err
		}
	}
	for _, c := range []struct {
		name string
		fn   func(storage.Tx) error
	}{
		{"get3", get3(false)}, {"get3-prefetch", get3(true)},
		{"check", get1(false)}, {"check-nosnapshot", get1(true)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetParallelism(64)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := db.View(ctx, c.fn); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
