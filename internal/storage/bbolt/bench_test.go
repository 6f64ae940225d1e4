package bbolt_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/bbolt"
)

// benchWriters is the number of concurrent Update callers, whatever GOMAXPROCS is.
const benchWriters = 64

// BenchmarkUpdateParallel measures fsynced Updates per second from 64 concurrent writers,
// each Update putting one distinct key with a 1 KiB value: the group-commit path.
func BenchmarkUpdateParallel(b *testing.B) {
	db, err := bbolt.Open(filepath.Join(b.TempDir(), "coffer.db"), bbolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	value := make([]byte, 1024)
	var next atomic.Int64
	b.SetParallelism((benchWriters + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.SetBytes(int64(len(value)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := fmt.Sprintf("bench/%016d", next.Add(1))
			err := db.Update(b.Context(), func(tx storage.Tx) error { return tx.Put(key, value) })
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
