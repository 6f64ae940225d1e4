package bbolt_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func benchBolt(b *testing.B, batch bool) {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "x.db"), 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err })
	value := make([]byte, 1024)
	var next atomic.Int64
	b.SetParallelism((benchWriters + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := fmt.Sprintf("bench/%016d", next.Add(1))
			f := func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte(key), value) }
			var err error
			if batch {
				err = db.Batch(f)
			} else {
				err = db.Update(f)
			}
			if err != nil {
				b.Error(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
func BenchmarkBoltBatch(b *testing.B)  { benchBolt(b, true) }
func BenchmarkBoltUpdate(b *testing.B) { benchBolt(b, false) }
