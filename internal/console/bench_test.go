package console_test

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/vault"
)

// BenchmarkPages measures each console page, as a signed-in administrator, over a store
// of 10,000 live secrets (vault shop) and 10,000 deleted ones (vault vault-locked, in the
// recycle bin and the deletion ledger). The target is under 100 ms a page.
//
//	go test ./internal/console/ -run '^$' -bench Pages -benchtime 20x
func BenchmarkPages(b *testing.B) {
	e := newEnv(b)
	in := e.vaults.Internal()
	const n = 10000
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 64 {
				name := fmt.Sprintf("secret-%05d", i)
				if _, err := in.SetSecret(b.Context(), "shop", name, vault.SecretParams{Value: "v"}); err != nil {
					errs <- err
					return
				}
				if _, err := in.SetSecret(b.Context(), "vault-locked", name, vault.SecretParams{Value: "v"}); err != nil {
					errs <- err
					return
				}
				if _, err := in.Secrets().Delete(b.Context(), "vault-locked", name); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	ck := e.signIn(b, e.admin)
	for _, p := range []struct{ name, path string }{
		{"recycle-bin", "/console/recycle-bin"},
		{"recycle-bin-last-page", "/console/recycle-bin?from=9900"},
		{"vaults", "/console/vaults"},
		{"vault", "/console/vaults/shop"},
		{"vault-page-200", "/console/vaults/shop?kind=secrets&after=secret-05000"},
		{"object", "/console/vaults/shop/secrets/secret-05000"},
		{"history", "/console/history?vault=vault-locked"},
		{"history-verify", "/console/history?vault=vault-locked&verify=1"},
	} {
		b.Run(p.name, func(b *testing.B) {
			before := cpuTime()
			for b.Loop() {
				if w := e.do("GET", p.path, nil, ck); w.Code != 200 {
					b.Fatalf("%s: %d %.300s", p.path, w.Code, w.Body)
				}
			}
			// CPU time per page, beside the wall time: on a machine other work shares,
			// the wall time says more about the machine than about the page.
			b.ReportMetric(float64(cpuTime()-before)/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
}

// cpuTime is the CPU time (user and system) the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
