package vault_test

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/vault"
)

// BenchmarkSweep measures the sweeper's purges per second over a backlog of overdue
// secrets (1 KiB values) on bbolt behind the barrier: many purges per commit. It also
// reports the bytes and allocations per purge, the sweep's alone (the backlog is built
// before), since what the sweeper allocates is GC work taken from requests served
// meanwhile.
//
// COFFER_SWEEP_N sets the backlog (default 20000); COFFER_SWEEP_SLICE the work of one
// transaction (sweepSlice); COFFER_SWEEP_CPUPROFILE names a file
// for a CPU profile of the sweep alone (go test's -cpuprofile covers the backlog's
// making too, which costs more than the sweep); COFFER_SWEEP_ALLOCS_BEFORE and _AFTER
// name files for the allocation profile before and after the sweep (compare them with
// go tool pprof -diff_base).
func BenchmarkSweep(b *testing.B) {
	n := 20000
	if s := os.Getenv("COFFER_SWEEP_N"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	if s := os.Getenv("COFFER_SWEEP_SLICE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			b.Fatal(err)
		}
		vault.SetSweepPace(b, d, 1)
	}
	for range b.N {
		b.StopTimer()
		h := newHarness(b)
		h.unchecked = true
		h.vault("v", 7, false)
		r := h.s.Internal()
		value := strings.Repeat("x", 1024)
		var wg sync.WaitGroup
		for w := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 64 {
					name := fmt.Sprintf("s%06d", i)
					if _, err := r.SetSecret(bg, "v", name, vault.SecretParams{Value: value}); err != nil {
						b.Error(err)
						return
					}
					if _, err := r.Secrets().Delete(bg, "v", name); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if _, err := r.SetSecret(bg, "v", "live", vault.SecretParams{Value: value}); err != nil {
			b.Fatal(err)
		}
		reads := func(d time.Duration, stop func() bool) []time.Duration {
			var out []time.Duration
			for end := time.Now().Add(d); time.Now().Before(end) && !stop(); {
				t := time.Now()
				if _, err := r.GetSecret(bg, "v", "live", ""); err != nil {
					b.Error(err)
					return out
				}
				out = append(out, time.Since(t))
			}
			return out
		}
		idle := reads(time.Second, func() bool { return false })
		h.advance(8 * 24 * time.Hour)
		runtime.GC()
		if path := os.Getenv("COFFER_SWEEP_CPUPROFILE"); path != "" {
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				b.Fatal(err)
			}
		}
		writeAllocs(b, "COFFER_SWEEP_ALLOCS_BEFORE")
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		cpu0 := cpuTime(b)
		b.StartTimer()
		start := time.Now()
		var busy []time.Duration
		var stop atomic.Bool
		readsDone := make(chan struct{})
		go func() { busy = reads(time.Hour, stop.Load); close(readsDone) }()
		got := h.sweep()
		took := time.Since(start)
		stop.Store(true)
		<-readsDone
		b.StopTimer()
		runtime.ReadMemStats(&ms1)
		cpu := cpuTime(b) - cpu0
		if os.Getenv("COFFER_SWEEP_CPUPROFILE") != "" {
			pprof.StopCPUProfile()
		}
		writeAllocs(b, "COFFER_SWEEP_ALLOCS_AFTER")
		if got != n {
			b.Fatalf("swept %d, want %d", got, n)
		}
		b.ReportMetric(float64(n)/took.Seconds(), "purges/s")
		b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(n), "B/purge")
		b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(n), "allocs/purge")
		b.ReportMetric(float64(ms1.NumGC-ms0.NumGC), "GCs")
		b.ReportMetric(float64(cpu.Microseconds())/float64(n), "CPU-µs/purge")
		// A read at c=1 in the same process, as the server's gets: its p99 during the
		// sweep over its p99 alone.
		b.ReportMetric(float64(p99(busy))/float64(p99(idle)), "read-p99-ratio")
		b.ReportMetric(float64(p99(busy).Microseconds()), "read-p99-µs")
		b.StartTimer()
	}
}

func p99(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)*99/100]
}

// cpuTime is the processor time the process has used (user and system): the sweep's
// cost whatever else the machine runs, which its rate is not.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writeAllocs writes the allocation profile to the file the environment variable env
// names, if it is set.
func writeAllocs(b *testing.B, env string) {
	path := os.Getenv(env)
	if path == "" {
		return
	}
	runtime.GC() // the profile shows allocations as of the last GC
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}
