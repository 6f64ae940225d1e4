package vault_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/vault"
)

// BenchmarkSweep measures the sweeper's purges per second over a backlog of overdue
// secrets (1 KiB values) on bbolt behind the barrier: many purges per commit.
func BenchmarkSweep(b *testing.B) {
	const n = 20000
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
		h.advance(8 * 24 * time.Hour)
		b.StartTimer()
		start := time.Now()
		if got := h.sweep(); got != n {
			b.Fatalf("swept %d, want %d", got, n)
		}
		b.ReportMetric(n/time.Since(start).Seconds(), "purges/s")
	}
}
