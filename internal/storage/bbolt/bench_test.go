package bbolt_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/bbolt"
)

// benchWriters is the number of concurrent Update callers, whatever GOMAXPROCS is.
const benchWriters = 64

// benchOptions are the two ways a DB is opened: as Coffer's server opens it (with the
// txid record, written and fdatasynced after every commit) and without the record, to
// show what the record costs.
var benchOptions = []struct {
	name   string
	record bool
}{{"txid-record", true}, {"no-record", false}}

func benchOpen(b *testing.B, record bool) *bbolt.DB {
	b.Helper()
	dir := b.TempDir()
	opts := bbolt.Options{}
	if record {
		opts.TxidFile = filepath.Join(dir, "coffer.db.txid")
	}
	db, err := bbolt.Open(filepath.Join(dir, "coffer.db"), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkUpdateParallel measures fsynced Updates per second from 64 concurrent writers,
// each Update putting one distinct key with a 1 KiB value: the group-commit path.
func BenchmarkUpdateParallel(b *testing.B) {
	for _, o := range benchOptions {
		b.Run(o.name, func(b *testing.B) {
			db := benchOpen(b, o.record)
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
		})
	}
}

// BenchmarkUpdateSerial measures one writer's fsynced Updates, one after the other: the
// latency of a lone write, every commit a batch of one.
func BenchmarkUpdateSerial(b *testing.B) {
	for _, o := range benchOptions {
		b.Run(o.name, func(b *testing.B) {
			db := benchOpen(b, o.record)
			value := make([]byte, 1024)
			b.SetBytes(int64(len(value)))
			b.ResetTimer()
			for i := range b.N {
				key := fmt.Sprintf("bench/%016d", i)
				if err := db.Update(b.Context(), func(tx storage.Tx) error { return tx.Put(key, value) }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFreelist measures what writing the free list costs on the write path: fsynced
// Updates of one 1 KiB key from 64 writers, on a fresh file and on one whose 40,000 keys
// were all deleted (a free list of ~14,000 pages), and the open of that file (after a
// clean Close). Three ways: Coffer's (written with each commit while small, by Close
// while large), always written with each commit, and never (bbolt's NoFreelistSync: the
// list rebuilt at open by reading every page).
func BenchmarkFreelist(b *testing.B) {
	for _, mode := range []struct {
		name   string
		no     bool
		always bool
	}{{"coffer", false, false}, {"always-written", false, true}, {"rebuilt-at-open", true, false}} {
		for _, purged := range []bool{false, true} {
			name := mode.name + "/fresh"
			if purged {
				name = mode.name + "/after-mass-delete"
			}
			b.Run(name, func(b *testing.B) {
				bbolt.SetNoFreelistSync(b, mode.no)
				if mode.always {
					bbolt.SetMaxSyncedFreePages(b, 1<<62)
				}
				dir := b.TempDir()
				path := filepath.Join(dir, "coffer.db")
				var openTook time.Duration
				db, err := bbolt.Open(path, bbolt.Options{TxidFile: path + ".txid"})
				if err != nil {
					b.Fatal(err)
				}
				value := make([]byte, 1024)
				if purged {
					for _, del := range []bool{false, true} {
						for i := 0; i < 40000; i += 2000 {
							if err := db.Update(b.Context(), func(tx storage.Tx) error {
								for j := i; j < i+2000; j++ {
									k := fmt.Sprintf("fill/%08d", j)
									if del {
										if err := tx.Delete(k); err != nil {
											return err
										}
									} else if err := tx.Put(k, value); err != nil {
										return err
									}
								}
								return nil
							}); err != nil {
								b.Fatal(err)
							}
						}
					}
					db.Close()
					start := time.Now()
					if db, err = bbolt.Open(path, bbolt.Options{TxidFile: path + ".txid"}); err != nil {
						b.Fatal(err)
					}
					openTook = time.Since(start)
				}
				b.Cleanup(func() { db.Close() })
				var next atomic.Int64
				b.ResetTimer() // (and the metrics reported so far: open-µs is reported below)
				b.SetParallelism((benchWriters + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						key := fmt.Sprintf("bench/%016d", next.Add(1))
						if err := db.Update(b.Context(), func(tx storage.Tx) error { return tx.Put(key, value) }); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
				if purged {
					b.ReportMetric(float64(openTook.Microseconds()), "open-µs")
				}
			})
		}
	}
}
