package main

// The scale benchmarks (-scale N): what must not grow with the data. One data dir is
// filled with N deleted secrets (and a few live ones to read), written straight through
// the storage, the barrier and the vault service for speed (the same records a server
// writes); then, against a coffer process on it:
//
//   - start-up at size: the database file evicted from the page cache
//     (posix_fadvise DONTNEED), the time from exec to /healthz answering 200, and the
//     server's RSS then; again with the cache warm; and an empty data dir's, for scale;
//   - the background check the start leaves to after /healthz: how long it takes;
//   - a /metrics scrape with N deleted objects: its time over 20 scrapes;
//   - a sweep: the vault clock is moved past every retention (POST /admin/time-shift),
//     the sweeper purges the N overdue secrets; purges per second, and the p50/p99 of a
//     get at c=1 meanwhile against the same get before; the server's processor time per
//     purge and its GC cycles meanwhile (from its /metrics).
//
// Each figure comes with the CPU the rest of the machine used meanwhile ("other"), in
// cores: the machine is shared.

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/coffer/coffer/internal/barrier"
	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/storage/bbolt"
	"github.com/coffer/coffer/internal/testenv/cofferproc"
	"github.com/coffer/coffer/internal/vault"
)

// scaleLive is how many live secrets the get workload reads.
const scaleLive = 1000

func runScale(ctx context.Context, cfg *config, bin, tmp string) error {
	n := cfg.scale
	fmt.Printf("# Coffer scale benchmark: %d deleted secrets, %d-byte values\n\n", n, cfg.valueSize)
	printEnv(cfg, bin)
	fmt.Printf("- load average at start: %s\n", loadavg())

	// An empty data dir: the reference start.
	empty := filepath.Join(tmp, "empty")
	p, took, err := startTimed(ctx, cfg, bin, empty, nil)
	if err != nil {
		return err
	}
	fmt.Printf("- start of an empty data dir to /healthz: %v, RSS %s\n", took.Round(time.Millisecond), rss(p.PID()))
	p.Stop(15 * time.Second)

	dir := filepath.Join(tmp, "data")
	if p, _, err = startTimed(ctx, cfg, bin, dir, nil); err != nil { // makes the data dir
		return err
	}
	p.Stop(15 * time.Second)
	fmt.Fprintf(os.Stderr, "populating %d deleted secrets through the storage …\n", n)
	t0, c0 := time.Now(), sampleCPU(nil)
	if err := populate(ctx, dir, n, cfg.valueSize, cfg.prepopC); err != nil {
		return fmt.Errorf("populate: %w", err)
	}
	el := time.Since(t0)
	fi, _ := os.Stat(filepath.Join(dir, "coffer.db"))
	fmt.Printf("- populated %d secrets set then deleted (and %d live) in %v (%.0f/s); coffer.db is %.0f MB; other CPU %s\n",
		n, scaleLive, el.Round(time.Second), float64(n)/el.Seconds(), float64(fi.Size())/1e6, others(c0, nil))

	// Start-up at size, cold then warm.
	if err := evict(filepath.Join(dir, "coffer.db")); err != nil {
		return err
	}
	c0 = sampleCPU(nil)
	p, took, err = startTimed(ctx, cfg, bin, dir, []string{"--allow-time-shift"})
	if err != nil {
		return err
	}
	fmt.Printf("- **start at %d deleted secrets, coffer.db evicted from the page cache, to /healthz: %v; RSS then %s** (other CPU %s)\n",
		n, took.Round(time.Millisecond), rss(p.PID()), others(c0, []int{p.PID()}))
	cl, err := newScaleClient(ctx, p)
	if err != nil {
		p.Stop(15 * time.Second)
		return err
	}
	t0 = time.Now()
	for cl.metric(ctx, "coffer_storage_check_done") != 1 {
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Printf("- the background check (structure of every page, then every value) finished %v after /healthz; RSS then %s\n",
		time.Since(t0).Round(100*time.Millisecond), rss(p.PID()))
	p.Stop(15 * time.Second)
	p, took, err = startTimed(ctx, cfg, bin, dir, []string{"--allow-time-shift"})
	if err != nil {
		return err
	}
	fmt.Printf("- start at %d, page cache warm: %v; RSS then %s\n", n, took.Round(time.Millisecond), rss(p.PID()))
	defer func() { p.Stop(15 * time.Second) }()
	if cl, err = newScaleClient(ctx, p); err != nil {
		return err
	}
	for cl.metric(ctx, "coffer_storage_check_done") != 1 {
		time.Sleep(100 * time.Millisecond)
	}

	// Scrapes.
	var scrapes []time.Duration
	c0 = sampleCPU([]int{p.PID()})
	for range 20 {
		s := time.Now()
		if _, err := cl.get(ctx, cl.base+"/metrics", ""); err != nil {
			return err
		}
		scrapes = append(scrapes, time.Since(s))
	}
	slices.Sort(scrapes)
	fmt.Printf("- **/metrics scrape at %d deleted: p50 %v, max %v** (20 scrapes; coffer_deleted_objects %v; other CPU %s)\n",
		n, scrapes[10].Round(10*time.Microsecond), scrapes[19].Round(10*time.Microsecond), cl.metric(ctx, `coffer_deleted_objects{kind="secret",vault="default"}`), others(c0, []int{p.PID()}))

	// Gets at c=1 without a sweep, then during one.
	tok, err := p.Token(ctx, fmt.Sprintf("https://localhost:%s/.default", p.Port))
	if err != nil {
		return err
	}
	armTok, err := p.Token(ctx, "https://management.azure.com/.default")
	if err != nil {
		return err
	}
	c0 = sampleCPU([]int{p.PID()})
	// The sweep is watched by a scrape every sweepPoll, which the gets measured meanwhile
	// share the server with; the gets without a sweep are measured under the same scrapes,
	// so that the ratio of their p99s is the sweep's alone.
	stopPolls := cl.pollEvery(ctx, sweepPoll)
	before := cl.gets(ctx, tok, func(int) bool { return false }, 10*time.Second)
	stopPolls()
	fmt.Printf("- get c=1 without a sweep (same scrapes): %s (other CPU %s)\n", before, others(c0, []int{p.PID()}))

	if _, err := cl.do(ctx, "POST", cl.base+"/admin/time-shift", armTok, `{"seconds":7862400}`); err != nil {
		return err
	}
	var first time.Time
	var firstCount float64
	var doneAt time.Time
	var sweepGets latencies
	var wg sync.WaitGroup
	var stop atomic.Bool
	wg.Add(1)
	go func() {
		defer wg.Done()
		cl.getsInto(ctx, &sweepGets, tok, func(int) bool { return stop.Load() }, 10*time.Minute)
	}()
	c0 = sampleCPU([]int{p.PID()})
	var gc0, cpu0, gcs, cpu float64 // the server's GC cycles and processor seconds
	for {
		// One scrape a poll, and few polls once the sweep runs: a scrape costs the server
		// a millisecond and the client a parse of the whole page, which the gets measured
		// meanwhile would otherwise pay for.
		m := cl.metrics(ctx, sweepSamples...)
		purged, left := m[0], m[1]
		if purged > 0 && first.IsZero() {
			first, firstCount = time.Now(), purged
			gc0, cpu0 = m[2], m[3]
			sweepGets.reset() // count the gets made while the sweeper works
		}
		if left == 0 && purged > 0 {
			doneAt = time.Now()
			gcs, cpu = m[2]-gc0, m[3]-cpu0
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if first.IsZero() {
			time.Sleep(20 * time.Millisecond)
		} else {
			time.Sleep(sweepPoll)
		}
	}
	stop.Store(true)
	wg.Wait()
	sweepOther := others(c0, []int{p.PID()})
	sweepTook := doneAt.Sub(first)
	rate := (float64(n) - firstCount) / sweepTook.Seconds()
	fmt.Printf("- **sweep of %d overdue secrets: %v from the first batch seen to none left (%.0f purges/s)** (other CPU %s)\n",
		n, sweepTook.Round(10*time.Millisecond), rate, sweepOther)
	fmt.Printf("- **get c=1 during the sweep: %s**; p99 during / without: %.2f\n", &sweepGets, float64(sweepGets.p(99))/float64(before.p(99)))
	fmt.Printf("- the server during the sweep: %.1f s of processor (%.1f µs a purge, the gets' included), %.0f GC cycles (%.0f a second)\n",
		cpu, cpu/(float64(n)-firstCount)*1e6, gcs, gcs/sweepTook.Seconds())

	// A start after the mass purge: the free list is large (written by the clean stop).
	t0 = time.Now()
	if err := p.Stop(5 * time.Minute); err != nil {
		return err
	}
	stopTook := time.Since(t0)
	if err := evict(filepath.Join(dir, "coffer.db")); err != nil {
		return err
	}
	c0 = sampleCPU(nil)
	p, took, err = startTimed(ctx, cfg, bin, dir, nil)
	if err != nil {
		return err
	}
	defer p.Stop(15 * time.Second)
	fmt.Printf("- after the purge: stop %v; start out of the page cache to /healthz %v, RSS then %s (other CPU %s)\n",
		stopTook.Round(time.Millisecond), took.Round(time.Millisecond), rss(p.PID()), others(c0, []int{p.PID()}))
	fmt.Printf("- load average at end: %s\n", loadavg())
	return nil
}

// startTimed starts coffer on dir (with -server-args and -server-env) and returns once /healthz answers, with the time taken.
func startTimed(ctx context.Context, cfg *config, bin, dir string, args []string) (*cofferproc.Process, time.Duration, error) {
	args = append(args, strings.Fields(cfg.serverArgs)...)
	logf, err := os.OpenFile(dir+".log", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	p, err := cofferproc.Start(ctx, cofferproc.Config{Bin: bin, DataDir: dir, Args: args, Env: strings.Fields(cfg.serverEnv), Output: logf, ReadyTimeout: 10 * time.Minute})
	took := time.Since(start)
	if err != nil {
		log, _ := os.ReadFile(dir + ".log")
		return nil, 0, fmt.Errorf("coffer did not become healthy (%v); its log:\n%s", err, log)
	}
	return p, took, nil
}

// populate writes n secrets set then deleted, and scaleLive live ones ("live-00042"),
// into the stopped server's data dir, through the vault service on the barrier on the
// bbolt file, as the server would, with c writers (bbolt commits them in groups).
func populate(ctx context.Context, dir string, n, size, c int) error {
	db, err := bbolt.Open(filepath.Join(dir, "coffer.db"), bbolt.Options{TxidFile: filepath.Join(dir, "coffer.db.txid")})
	if err != nil {
		return err
	}
	defer db.Close()
	key, err := os.ReadFile(filepath.Join(dir, "master.key"))
	if err != nil {
		return err
	}
	kek, err := barrier.ParseKEK(strings.TrimSpace(string(key)))
	if err != nil {
		return err
	}
	b, err := barrier.Open(ctx, db, kek, barrier.Options{})
	if err != nil {
		return err
	}
	vs, err := vault.Open(ctx, vault.Options{Storage: b, Clock: clock.Real{}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	r := vs.Internal()
	value := strings.Repeat("v", size)
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n+scaleLive || firstErr.Load() != nil {
					return
				}
				name := fmt.Sprintf("gone-%07d", i)
				if i >= n {
					name = fmt.Sprintf("live-%05d", i-n)
				}
				if _, err := r.SetSecret(ctx, "default", name, vault.SecretParams{Value: value}); err != nil {
					firstErr.Store(err)
					return
				}
				if i < n {
					if _, err := r.Secrets().Delete(ctx, "default", name); err != nil {
						firstErr.Store(err)
						return
					}
				}
				if i%100000 == 0 && i > 0 {
					fmt.Fprintf(os.Stderr, "  %d …\n", i)
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	return nil
}

// evict drops path from the page cache (fdatasync first: only clean pages can go).
func evict(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return err
	}
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}

// rss is a process's resident set size, from /proc.
func rss(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return fmt.Sprintf("%.0f MB", float64(kb)/1024)
		}
	}
	return "?"
}

// others is the CPU the rest of the machine used since before (cores, on average):
// neither this process nor the coffer processes pids (before must have been sampled with
// the same pids, or with none when they started since).
func others(before cpuSample, pids []int) string {
	_, _, other := sampleCPU(pids).cores(before)
	return fmt.Sprintf("%.2f cores", other)
}

// scaleClient talks to one coffer process.
type scaleClient struct {
	base string
	hc   *http.Client
}

func newScaleClient(ctx context.Context, p *cofferproc.Process) (*scaleClient, error) {
	pool, err := cofferproc.CAPool(p.CAPath())
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DialContext: cofferproc.LoopbackDial(&net.Dialer{}, ""), MaxIdleConnsPerHost: 4}
	return &scaleClient{base: p.URL(), hc: &http.Client{Transport: tr, Timeout: time.Minute}}, nil
}

func (c *scaleClient) do(ctx context.Context, method, url, tok, body string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return "", fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return string(b), err
}

func (c *scaleClient) get(ctx context.Context, url, tok string) (string, error) {
	return c.do(ctx, "GET", url, tok, "")
}

// sweepPoll is how often the scale benchmark scrapes /metrics while it watches a sweep.
const sweepPoll = 250 * time.Millisecond

// sweepSamples are what a scrape watching a sweep reads: purges done, deleted secrets
// left, the server's GC cycles and processor seconds.
var sweepSamples = []string{`coffer_scheduler_actions_total{action="purge"}`, `coffer_deleted_objects{kind="secret",vault="default"}`,
	"go_gc_duration_seconds_count", "process_cpu_seconds_total"}

// pollEvery scrapes /metrics every d, as watching a sweep does, until the returned
// function is called (which waits for the scrape in progress).
func (c *scaleClient) pollEvery(ctx context.Context, d time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c.metrics(ctx, sweepSamples...)
			select {
			case <-done:
				return
			case <-time.After(d):
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// metrics returns the values of samples (each a name and labels as /metrics prints them;
// -1 for one missing) from one scrape.
func (c *scaleClient) metrics(ctx context.Context, samples ...string) []float64 {
	out := make([]float64, len(samples))
	for i := range out {
		out[i] = -1
	}
	body, err := c.get(ctx, c.base+"/metrics", "")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(body, "\n") {
		for i, sample := range samples {
			if rest, ok := strings.CutPrefix(line, sample+" "); ok {
				out[i], _ = strconv.ParseFloat(strings.TrimSpace(rest), 64)
			}
		}
	}
	return out
}

// metric is one sample of metrics.
func (c *scaleClient) metric(ctx context.Context, sample string) float64 {
	return c.metrics(ctx, sample)[0]
}

// latencies collects request times.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) { l.mu.Lock(); l.d = append(l.d, d); l.mu.Unlock() }
func (l *latencies) reset()              { l.mu.Lock(); l.d = l.d[:0]; l.mu.Unlock() }

func (l *latencies) p(q int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*q/100)]
}

func (l *latencies) String() string {
	l.mu.Lock()
	n := len(l.d)
	l.mu.Unlock()
	return fmt.Sprintf("%d gets, p50 %v, p99 %v", n, l.p(50).Round(time.Microsecond), l.p(99).Round(time.Microsecond))
}

// gets reads the live secrets one at a time for up to d, until stop says so.
func (c *scaleClient) gets(ctx context.Context, tok string, stop func(int) bool, d time.Duration) *latencies {
	l := &latencies{}
	c.getsInto(ctx, l, tok, stop, d)
	return l
}

func (c *scaleClient) getsInto(ctx context.Context, l *latencies, tok string, stop func(int) bool, d time.Duration) {
	vault := strings.Replace(c.base, "127.0.0.1", "default.localhost", 1)
	end := time.Now().Add(d)
	for i := 0; time.Now().Before(end) && !stop(i) && ctx.Err() == nil; i++ {
		s := time.Now()
		if _, err := c.get(ctx, fmt.Sprintf("%s/secrets/live-%05d?api-version=7.6", vault, i%scaleLive), tok); err != nil {
			fmt.Fprintln(os.Stderr, "get:", err)
			continue
		}
		l.add(time.Since(s))
	}
}
