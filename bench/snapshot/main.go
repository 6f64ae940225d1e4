// Command snapshot measures an online snapshot (GET /admin/snapshot, coffer snapshot save)
// of a large deployment and what it costs the requests served meanwhile:
//
//	go run ./bench/snapshot                       # 1,000,000 secrets, gets at c=16
//	go run ./bench/snapshot -objects 100000 -c 16 -writers 4
//
// It builds coffer, starts it once on a temporary data dir (which creates the keyring,
// the identity and the default vault) and stops it; fills the default vault with
// -objects secrets of -value-size bytes offline, in this process, through the vault
// domain over the barrier over bbolt (what the server writes for a set, without HTTP:
// a million creates over HTTP would take most of an hour on a small machine); starts
// coffer again as a subprocess and then measures, one after the other:
//
//	base           gets (GET /secrets/{random one of the objects}) at -c for -d
//	snapshot@R     the same gets while one snapshot paced at R MiB/s (?rate=R; 0:
//	               unpaced) streams into a file (fsynced), for each R of -rates
//	base+w         gets, and sets at -writers concurrency (overwriting random secrets)
//	snapshot@R+w   the same while a snapshot streams
//
// For each: ops/s and the p50, p99 and max latency of the gets, and for the snapshot
// phases its duration, size and records. The target: the snapshot under 60 s, get p99
// during it under twice the p99 without it. With writers, pages freed during the
// snapshot cannot be reused until it ends, so the file grows; a commit that needs more
// of the file than bbolt maps must remap, which waits for the snapshot's read
// transaction (see internal/storage/bbolt/snapshot.go): the +w phases
// shows what that costs.
//
// This is a main package without tests: `go test ./...` never runs it.
package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coffer/coffer/internal/barrier"
	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/storage/bbolt"
	"github.com/coffer/coffer/internal/testenv/cofferproc"
	"github.com/coffer/coffer/internal/vault"
)

type config struct {
	objects, valueSize, c, writers, fillC int
	d                                     time.Duration
	coffer, rates                         string
	keep, discard                         bool
}

func main() {
	cfg := &config{}
	flag.IntVar(&cfg.objects, "objects", 1_000_000, "secrets in the default vault")
	flag.IntVar(&cfg.valueSize, "value-size", 64, "bytes of each secret's value")
	flag.IntVar(&cfg.c, "c", 16, "concurrent gets")
	flag.IntVar(&cfg.writers, "writers", 4, "concurrent sets in the +w phases (0: skip them)")
	flag.IntVar(&cfg.fillC, "fill-c", 64, "concurrent creates while filling")
	flag.DurationVar(&cfg.d, "d", 20*time.Second, "length of the base phases")
	flag.StringVar(&cfg.coffer, "coffer", "", "prebuilt coffer binary (default: go build)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the temp dir (data, log, snapshot)")
	flag.BoolVar(&cfg.discard, "discard", false, "throw the snapshot away instead of writing it to a file on the data dir's disk")
	flag.StringVar(&cfg.rates, "rates", "64,0", "the snapshot phases run once for each pace, in MiB/s (0: unpaced)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "snapshot bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg *config) error {
	tmp, err := os.MkdirTemp("", "coffer-snapbench-")
	if err != nil {
		return err
	}
	if cfg.keep {
		defer fmt.Fprintf(os.Stderr, "temp dir kept: %s\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	bin := cfg.coffer
	if bin == "" {
		bin = filepath.Join(tmp, "coffer")
		fmt.Fprintln(os.Stderr, "building coffer …")
		if err := cofferproc.Build(ctx, bin, false, os.Stderr); err != nil {
			return err
		}
	}
	data := filepath.Join(tmp, "data")
	logf, err := os.Create(filepath.Join(tmp, "coffer.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	start := func() (*cofferproc.Process, error) {
		return cofferproc.Start(ctx, cofferproc.Config{Bin: bin, DataDir: data, Output: logf, ReadyTimeout: 5 * time.Minute})
	}
	p, err := start()
	if err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	if err := p.Stop(30 * time.Second); err != nil {
		return err
	}

	fmt.Fprintf(os.Stderr, "filling %d secrets offline at c=%d …\n", cfg.objects, cfg.fillC)
	t0 := time.Now()
	if err := fill(ctx, cfg, data); err != nil {
		return fmt.Errorf("fill: %w", err)
	}
	fillTime := time.Since(t0)
	fi, _ := os.Stat(filepath.Join(data, "coffer.db"))

	if p, err = start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer p.Stop(30 * time.Second)
	dataTok, err := p.Token(ctx, "https://localhost:"+p.Port+"/.default")
	if err != nil {
		return err
	}
	armTok, err := p.Token(ctx, "https://management.azure.com/.default")
	if err != nil {
		return err
	}
	pool, err := cofferproc.CAPool(p.CAPath())
	if err != nil {
		return err
	}
	newClient := func(n int) *http.Client {
		return &http.Client{Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: pool},
			DialContext:         cofferproc.LoopbackDial(&net.Dialer{}, p.Addr),
			MaxIdleConnsPerHost: n,
		}}
	}
	b := &bench{cfg: cfg, vaultURL: fmt.Sprintf("https://default.localhost:%s", p.Port), token: dataTok,
		gets: newClient(cfg.c), sets: newClient(max(cfg.writers, 1))}

	fmt.Printf("# Online snapshot benchmark\n\n")
	fmt.Printf("- %d secrets (%d-byte values) filled offline in %v (%.0f creates/s); coffer.db %.0f MiB\n",
		cfg.objects, cfg.valueSize, fillTime.Round(time.Second), float64(cfg.objects)/fillTime.Seconds(), float64(fi.Size())/(1<<20))
	fmt.Printf("- gets at c=%d on random secrets; sets at c=%d in the +w phases; %d CPUs\n\n", cfg.c, cfg.writers, nprocs())
	fmt.Println("| phase | duration | gets/s | get p50 | get p99 | get max | sets/s | snapshot | load avg (1 min) |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")

	snapFile := filepath.Join(tmp, "coffer.snapshot")
	snapshot := func(rate string) func(ctx context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			os.Remove(snapFile)
			t0 := time.Now()
			n, err := saveSnapshot(ctx, p.URL()+"/admin/snapshot?rate="+rate, armTok, newClient(1), snapFile, cfg.discard)
			if err != nil {
				return "", err
			}
			el := time.Since(t0)
			return fmt.Sprintf("%.1f s, %.0f MiB, %.0f MiB/s", el.Seconds(), float64(n)/(1<<20), float64(n)/(1<<20)/el.Seconds()), nil
		}
	}
	type phase struct {
		name    string
		writers int
		rate    string // "": no snapshot
	}
	var phases []phase
	for _, w := range []int{0, cfg.writers} {
		if w == 0 && len(phases) > 0 {
			continue
		}
		suffix := ""
		if w > 0 {
			suffix = "+w"
		}
		phases = append(phases, phase{"base" + suffix, w, ""})
		for _, r := range strings.Split(cfg.rates, ",") {
			phases = append(phases, phase{"snapshot@" + r + suffix, w, r})
		}
		if cfg.writers == 0 {
			break
		}
	}
	// A short warm-up: connections, the page cache.
	b.load(ctx, 0, 3*time.Second, nil)
	for _, ph := range phases {
		var r phaseResult
		if ph.rate != "" {
			r = b.load(ctx, ph.writers, 0, snapshot(ph.rate))
		} else {
			r = b.load(ctx, ph.writers, cfg.d, nil)
		}
		if r.err != nil {
			return fmt.Errorf("%s: %w", ph.name, r.err)
		}
		fmt.Printf("| %s | %.1f s | %.0f | %v | %v | %v | %.0f | %s | %s |\n", ph.name, r.dur.Seconds(), float64(len(r.lat))/r.dur.Seconds(),
			pct(r.lat, 50), pct(r.lat, 99), pct(r.lat, 100), float64(r.sets)/r.dur.Seconds(), r.snap, loadavg())
	}
	if !cfg.discard {
		// The last snapshot, restored offline into a new data dir (the server keeps running).
		t0 := time.Now()
		res, err := server.RestoreSnapshot(ctx, snapFile, server.RestoreTarget{DataDir: filepath.Join(tmp, "restored")})
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		fmt.Printf("\n- restored the last snapshot (%d keys) into a new data dir, checked twice, in %.1f s\n", res.Records, time.Since(t0).Seconds())
	}
	return nil
}

// fill creates cfg.objects secrets bench-0000000 … in the default vault, offline.
func fill(ctx context.Context, cfg *config, data string) error {
	db, err := bbolt.Open(filepath.Join(data, "coffer.db"), bbolt.Options{TxidFile: filepath.Join(data, "coffer.db.txid")})
	if err != nil {
		return err
	}
	defer db.Close()
	text, err := os.ReadFile(filepath.Join(data, "master.key"))
	if err != nil {
		return err
	}
	kek, err := barrier.ParseKEK(string(text))
	if err != nil {
		return err
	}
	st, err := barrier.Open(ctx, db, kek, barrier.Options{})
	if err != nil {
		return err
	}
	svc, err := vault.Open(ctx, vault.Options{Storage: st, Clock: clock.Real{}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, cfg.fillC)
	value := strings.Repeat("v", cfg.valueSize)
	t0 := time.Now()
	for range cfg.fillC {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(cfg.objects) || ctx.Err() != nil {
					return
				}
				if _, err := svc.Internal().SetSecret(ctx, "default", name(int(i)), vault.SecretParams{Value: value}); err != nil {
					errs <- err
					return
				}
				if i%100000 == 0 && i > 0 {
					fmt.Fprintf(os.Stderr, "  %d in %v\n", i, time.Since(t0).Round(time.Second))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return errors.Join(<-errs, ctx.Err())
}

func name(i int) string { return fmt.Sprintf("bench-%07d", i) }

type bench struct {
	cfg        *config
	vaultURL   string
	token      string
	gets, sets *http.Client
}

type phaseResult struct {
	dur  time.Duration
	lat  []time.Duration
	sets int64
	snap string
	err  error
}

// load runs gets at cfg.c and sets at writers until d has passed or, with during, until
// during returns.
func (b *bench) load(ctx context.Context, writers int, d time.Duration, during func(context.Context) (string, error)) phaseResult {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		lat   []time.Duration
		sets  atomic.Int64
		first error
		wg    sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil && ctx.Err() == nil {
			first = err
		}
		mu.Unlock()
		cancel()
	}
	for range b.cfg.c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for ctx.Err() == nil {
				t0 := time.Now()
				if err := b.do(ctx, b.gets, http.MethodGet, name(mrand.IntN(b.cfg.objects)), ""); err != nil {
					fail(err)
					break
				}
				if ctx.Err() == nil { // a get cut short by the phase's end is not counted
					mine = append(mine, time.Since(t0))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := b.do(ctx, b.sets, http.MethodPut, name(mrand.IntN(b.cfg.objects)), `{"value":"`+rand.Text()+`"}`); err != nil {
					fail(err)
					return
				}
				sets.Add(1)
			}
		}()
	}
	t0 := time.Now()
	var snap string
	if during != nil {
		var err error
		if snap, err = during(ctx); err != nil {
			fail(err)
		}
	} else {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	dur := time.Since(t0)
	cancel()
	wg.Wait()
	return phaseResult{dur: dur, lat: lat, sets: sets.Load(), snap: snap, err: first}
}

func (b *bench) do(ctx context.Context, c *http.Client, method, name, body string) error {
	req, err := http.NewRequestWithContext(ctx, method, b.vaultURL+"/secrets/"+name+"?api-version=7.6", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s", method, name, resp.Status)
	}
	return nil
}

// saveSnapshot streams GET /admin/snapshot into path, fsynced (or, with discard, nowhere),
// and returns its size.
func saveSnapshot(ctx context.Context, url, token string, c *http.Client, path string, discard bool) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return 0, fmt.Errorf("snapshot: %s %s", resp.Status, b)
	}
	if discard {
		return io.Copy(io.Discard, resp.Body)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := io.Copy(f, resp.Body)
	if err == nil {
		err = f.Sync()
	}
	return n, err
}

func pct(l []time.Duration, p int) time.Duration {
	if len(l) == 0 {
		return 0
	}
	slices.Sort(l)
	i := min(len(l)-1, len(l)*p/100)
	return l[i].Round(10 * time.Microsecond)
}

// loadavg is the machine's load average over the last minute: other processes (other
// people's test runs) depress the figures.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func nprocs() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "processor\t:")
}
