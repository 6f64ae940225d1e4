// Command bench measures a real Coffer server over TLS against a bare Go net/http TLS
// server (the ceiling), with one load generator in the same run.
//
//	go run ./bench                      # all workloads at c=1,16,64, 5s each
//	go run ./bench -d 10s -rounds 5     # steadier on a busy machine (see -rounds)
//	go run ./bench -d 10s -c 64 -only ceiling,get
//	go run ./bench -h2                  # also every workload over HTTP/2
//	go run ./bench -coffer /tmp/coffer  # a prebuilt binary instead of `go build`
//	go run ./bench -c 16,64 -only sign  # key signing (RS256, ES256) against in-process
//	go run ./bench -c 64 -only set,get -storage postgres://postgres@127.0.0.1:5432/bench
//	go run ./bench -c 64 -only set,get -storage postgres://… -servers 2
//
// Coffer runs as a subprocess (`coffer server`) on a temporary data directory and a free
// port: the real server, real bbolt, every write fsynced. The ceiling is this program
// re-executed in a hidden mode, so both servers are a separate process from the load
// generator and share the machine's cores with it the same way. The ceiling answers
// {"ok":true} to any request; the load generator sends it the same requests (path,
// query, Authorization header) as the get workload (-tiny-ceiling: a bare GET /).
//
// Workloads, run in this order at each concurrency of -c:
//
//	ceiling  GET to the bare server
//	get      GET /secrets/{random one of -names}
//	set      PUT /secrets/{random name} with a fresh random value of -value-size bytes
//	delrec   a pair: DELETE /secrets/{name} then POST /deletedsecrets/{name}/recover, on
//	         names owned by the worker (name index mod c), so pairs never collide; ops/s
//	         counts pairs
//
// and, only when -only names them (or "sign", which means all four), these:
//
//	sign-rs256    POST /keys/bench-rs256/sign {"alg":"RS256","value":D}: an RSA-2048 key,
//	              its latest version
//	inproc-rs256  the same operation in this process: c goroutines calling
//	              rsa.SignPKCS1v15 on a local RSA-2048 key (the ceiling of sign-rs256)
//	sign-es256    POST /keys/bench-es256/sign {"alg":"ES256","value":D}: a P-256 key
//	inproc-es256  c goroutines calling ecdsa.SignASN1 on a local P-256 key
//
// D is one fixed random 32-byte digest. The two keys are created once, before any
// measurement, and one signature of each is checked against the key's public JWK. The
// in-process workloads use the same worker loop, window and latency count as the HTTP
// ones; they run while the server idles, so they have the machine's cores to themselves
// (their CPU is in the loadgen column) and run once, not again for -h2. The target line
// compares sign-rs256 with inproc-rs256 at c=64 (target ≥ 60%); beside it, signatures
// per busy core (server CPU against the in-process CPU), which other processes on the
// machine disturb less than the ops/s ratio.
//
// Before the secret workloads, -names secrets (bench-00000, …) are created at c=64 with
// -value-size values. Each workload at each concurrency has one HTTP transport (keep-alive,
// MaxIdleConnsPerHost ≥ c; HTTP/1.1 with HTTP/2 off, unless -h2) and c workers, a
// -warmup that opens the connections and is not counted, then -d of counted requests:
// ops/s is the completions inside the window, p50/p99 their latencies. With -rounds N the
// window is cut into N slices that alternate between the workloads, so a change in the
// machine's background load hits them alike. Any non-2xx or transport error is an
// error; the program exits 1 if any occurred (and keeps the server's log).
//
// The CPU columns are cores used during the window, from /proc (Linux): the server
// process, this load generator, and everything else on the machine ("other": other
// people's test runs, kernel threads, interrupts), with the busiest other process (a
// process's reaped children count as its own, so a `go test` shows under go). A
// high "other" means depressed figures. -server-env passes e.g. GOGC=400 to Coffer.
//
// -storage postgres://… runs Coffer on PostgreSQL (--storage) instead of the embedded
// bbolt file, with a COFFER_MASTER_KEY made for the run; the database (or the schema its
// search_path names) must be empty, as for a first start. -servers N (N > 1 needs
// -storage) starts N Coffer processes on that database, each with its own data dir and
// port and all with the same key and the same --public-url (a port nothing listens on,
// as behind a load balancer); the load generator spreads the connections over them —
// worker i talks to server i mod N, on a transport of that server's — and the server CPU
// column is the sum of the N processes.
//
// The server has no profiling endpoint; to see where its time goes, build a copy of
// cmd/coffer that imports net/http/pprof, pass it with -coffer, and fetch
// /debug/pprof/profile during a long (-d 12s) single workload.
//
// This is a main package without tests: `go test ./...` never runs it.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const ceilingMode = "-ceiling-server" // hidden: `bench -ceiling-server DIR`

var (
	flagCoffer   = flag.String("coffer", "", "coffer binary to run (default: go build ./cmd/coffer into the temp dir)")
	flagDur      = flag.Duration("d", 5*time.Second, "measured duration of each workload at each concurrency")
	flagWarm     = flag.Duration("warmup", time.Second, "uncounted warm-up before each measurement")
	flagConc     = flag.String("c", "1,16,64", "concurrencies, comma-separated")
	flagOnly     = flag.String("only", "", "workloads to run, comma-separated from ceiling,get,set,delrec (default: these four) and sign-rs256,inproc-rs256,sign-es256,inproc-es256 (\"sign\": these four)")
	flagNames    = flag.Int("names", 10000, "number of secret names")
	flagValue    = flag.Int("value-size", 1024, "bytes of each secret value")
	flagH2       = flag.Bool("h2", false, "also run every workload over HTTP/2")
	flagKeep     = flag.Bool("keep", false, "keep the temp dir (data dir, server log) and print its path")
	flagStrict   = flag.Bool("strict", false, "exit 1 when a target is missed, not only on errors")
	flagPrepopC  = flag.Int("prepop-c", 64, "concurrency of the pre-population")
	flagTinyCeil = flag.Bool("tiny-ceiling", false, "send the ceiling a bare GET / instead of the get workload's request (path, query, Authorization)")
	flagRounds   = flag.Int("rounds", 1, "split each -d into this many rounds, interleaving the workloads at each concurrency (steadier ratios on a busy machine)")
	flagSrvArgs  = flag.String("server-args", "", "extra flags of coffer server, space-separated (e.g. --audit-log off)")
	flagSrvEnv   = flag.String("server-env", "", "extra environment of the coffer process, space-separated KEY=VALUE (e.g. GOGC=400)")
	flagStorage  = flag.String("storage", "", "run coffer on this storage (--storage), e.g. postgres://USER@HOST:PORT/DB?sslmode=disable; the database must be empty (default: the embedded bbolt file)")
	flagServers  = flag.Int("servers", 1, "coffer processes on the same -storage, behind one public URL; workers alternate between them (more than 1 needs -storage)")
)

// allWorkloads run by default; signWorkloads only when -only names them. Runners are
// made in the order of knownWorkloads.
var (
	allWorkloads   = []string{"ceiling", "get", "set", "delrec"}
	signWorkloads  = []string{"sign-rs256", "inproc-rs256", "sign-es256", "inproc-es256"}
	knownWorkloads = slices.Concat(allWorkloads, signWorkloads)
)

// inProcess says whether a workload runs in this process rather than against a server.
func inProcess(w string) bool { return strings.HasPrefix(w, "inproc-") }

func main() {
	if len(os.Args) == 3 && os.Args[1] == ceilingMode {
		if err := ceilingServer(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "ceiling server:", err)
			os.Exit(1)
		}
		return
	}
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./bench [flags]\n\n"+
			"Measures Coffer (subprocess, real storage, TLS) against a bare net/http TLS server.\n\n"+
			"Workloads: ceiling, get, set, delrec run by default; the signing workloads sign-rs256,\n"+
			"inproc-rs256, sign-es256, inproc-es256 (API sign against the same operation in-process,\n"+
			"the ceiling) run only when -only names them; -only sign selects all four.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code, err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// ---------------------------------------------------------------------------------------
// The run.

type result struct {
	workload string
	proto    string
	c        int
	ops      int     // completions in the window
	opsPerS  float64 // ops / window
	p50, p99 time.Duration
	errs     int64 // errors in the window and the warm-up
	firstErr string
	srvCPU   float64 // cores
	genCPU   float64
	otherCPU float64
	topOther string // the busiest other process in the window
}

func run(ctx context.Context) (int, error) {
	concs, err := parseConcs(*flagConc)
	if err != nil {
		return 2, err
	}
	selected, err := parseOnly(*flagOnly)
	if err != nil {
		return 2, err
	}
	if *flagNames < 1 || *flagValue < 1 {
		return 2, errors.New("-names and -value-size must be positive")
	}
	if *flagServers < 1 {
		return 2, errors.New("-servers must be at least 1")
	}
	if *flagServers > 1 && *flagStorage == "" {
		return 2, errors.New("-servers > 1 needs -storage postgres://…: the servers share that database")
	}

	tmp, err := os.MkdirTemp("", "coffer-bench-")
	if err != nil {
		return 1, err
	}
	keep := *flagKeep
	defer func() {
		if keep {
			fmt.Fprintf(os.Stderr, "temp dir kept: %s (coffer*.log, data*/)\n", tmp)
		} else {
			os.RemoveAll(tmp)
		}
	}()

	needSecrets := selected["get"] || selected["set"] || selected["delrec"]
	needSign := selected["sign-rs256"] || selected["sign-es256"]
	needCoffer := needSecrets || needSign

	bin := *flagCoffer
	if bin == "" && needCoffer {
		bin = filepath.Join(tmp, "coffer")
		fmt.Fprintln(os.Stderr, "building coffer …")
		if err := buildCoffer(ctx, bin); err != nil {
			return 1, err
		}
	}
	needCeiling := selected["ceiling"]
	roots := x509.NewCertPool()

	// coffers are the servers, one unless -servers; they share the storage, the CA and
	// the public URL.
	var coffers []*cofferProc
	var copts cofferOpts
	if needCoffer {
		if copts, err = newCofferOpts(); err != nil {
			return 1, err
		}
		for i := range *flagServers {
			fmt.Fprintf(os.Stderr, "starting coffer %d/%d …\n", i+1, *flagServers)
			p, err := startCoffer(ctx, bin, tmp, i, copts)
			if err != nil {
				return 1, err
			}
			defer p.stop()
			coffers = append(coffers, p)
		}
		if !roots.AppendCertsFromPEM(coffers[0].caPEM) {
			return 1, errors.New("no certificate in coffer's ca.crt")
		}
	}
	exited := func() *cofferProc {
		for _, p := range coffers {
			if p.exited() {
				return p
			}
		}
		return nil
	}
	var ceiling *ceilingProc
	if needCeiling {
		ceiling, err = startCeiling(ctx, tmp)
		if err != nil {
			return 1, err
		}
		defer ceiling.stop()
		if !roots.AppendCertsFromPEM(ceiling.certPEM) {
			return 1, errors.New("no certificate from the ceiling server")
		}
	}

	var token string
	if needCoffer {
		if copts.publicPort == 0 {
			copts.publicPort = coffers[0].port
		}
		if token, err = getToken(ctx, roots, coffers[0], copts.publicPort); err != nil {
			return 1, err
		}
	} else {
		token = strings.Repeat("x", 600) // the ceiling alone: same header size, roughly
	}

	b := &bench{roots: roots, token: token, names: make([]string, *flagNames)}
	for i := range b.names {
		b.names[i] = fmt.Sprintf("bench-%05d", i)
	}
	if len(coffers) > 0 {
		b.vaultURL = fmt.Sprintf("https://default.localhost:%d", copts.publicPort)
	}
	for _, p := range coffers {
		b.serverPIDs = append(b.serverPIDs, p.cmd.Process.Pid)
		b.serverAddrs = append(b.serverAddrs, fmt.Sprintf("127.0.0.1:%d", p.port))
	}
	if ceiling != nil {
		b.ceilingURL = "https://" + ceiling.addr
		b.ceilingPID = ceiling.cmd.Process.Pid
	}

	la0 := loadavg()
	fmt.Printf("# Coffer benchmark\n\n")
	printEnv(bin, concs)
	fmt.Printf("- load average at start: %s\n", la0)

	if needSecrets {
		fmt.Fprintf(os.Stderr, "pre-populating %d secrets at c=%d …\n", *flagNames, *flagPrepopC)
		start := time.Now()
		if err := b.prepopulate(ctx, *flagPrepopC); err != nil {
			keep = len(coffers) > 0 // for the servers' logs
			return 1, fmt.Errorf("pre-populate: %w", err)
		}
		el := time.Since(start)
		fmt.Printf("- pre-populated %d secrets (%d-byte values) at c=%d in %v (%.0f creates/s)\n",
			*flagNames, *flagValue, *flagPrepopC, el.Round(time.Millisecond), float64(*flagNames)/el.Seconds())
	}
	if err := b.setupSign(ctx, selected); err != nil {
		return 1, fmt.Errorf("signing keys: %w", err)
	}
	fmt.Println()

	protos := []string{"h1"}
	if *flagH2 {
		protos = append(protos, "h2")
	}
	var results []result
	rounds := max(1, *flagRounds)
	for _, proto := range protos {
		for _, c := range concs {
			var runners []*runner
			for _, w := range knownWorkloads {
				if selected[w] && (proto == "h1" || !inProcess(w)) {
					runners = append(runners, b.newRunner(w, proto, c))
				}
			}
			// Rounds interleave the workloads, so that a change in the machine's
			// background load hits them alike.
			for round := range rounds {
				for _, r := range runners {
					if ctx.Err() != nil {
						return 1, ctx.Err()
					}
					if p := exited(); p != nil {
						keep = true
						return 1, fmt.Errorf("coffer exited; see its log %s", p.logPath)
					}
					warm := *flagWarm
					if round > 0 {
						warm = min(warm, 200*time.Millisecond) // connections are open already
					}
					fmt.Fprintf(os.Stderr, "%s %s c=%d round %d/%d …\n", r.workload, proto, c, round+1, rounds)
					b.round(ctx, r, warm, *flagDur/time.Duration(rounds))
				}
			}
			for _, r := range runners {
				for _, tr := range r.trs {
					tr.CloseIdleConnections()
				}
				res := r.result()
				results = append(results, res)
				fmt.Fprintf(os.Stderr, "  %s: %.0f ops/s p50 %s p99 %s errors %d\n", r.workload, res.opsPerS, fmtDur(res.p50), fmtDur(res.p99), res.errs)
			}
		}
	}

	printTable(results)
	missed := printTargets(results)
	fmt.Printf("- load average at end: %s\n", loadavg())

	var errTotal int64
	for _, r := range results {
		errTotal += r.errs
	}
	if errTotal > 0 {
		fmt.Printf("\n**FAILED: %d request errors** (first of each run:)\n", errTotal)
		for _, r := range results {
			if r.errs > 0 {
				fmt.Printf("- %s %s c=%d: %d errors; first: %s\n", r.workload, r.proto, r.c, r.errs, r.firstErr)
			}
		}
		for _, p := range coffers {
			keep = true // for the server's log
			fmt.Printf("- coffer log: %s (kept)\n", p.logPath)
		}
		return 1, fmt.Errorf("%d request errors", errTotal)
	}
	if missed > 0 && *flagStrict {
		return 1, fmt.Errorf("%d targets missed", missed)
	}
	return 0, nil
}

func parseConcs(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-c: bad concurrency %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseOnly(s string) (map[string]bool, error) {
	sel := map[string]bool{}
	if strings.TrimSpace(s) == "" {
		for _, w := range allWorkloads {
			sel[w] = true
		}
		return sel, nil
	}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "sign":
			for _, w := range signWorkloads {
				sel[w] = true
			}
		case slices.Contains(knownWorkloads, f):
			sel[f] = true
		default:
			return nil, fmt.Errorf("-only: unknown workload %q (want some of %s, or sign)", f, strings.Join(knownWorkloads, ","))
		}
	}
	return sel, nil
}

func printEnv(bin string, concs []int) {
	fmt.Printf("- %s, %s/%s, %d CPUs (NumCPU), GOMAXPROCS %d; server, ceiling and load generator share them\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	if m := cpuModel(); m != "" {
		fmt.Printf("- CPU: %s\n", m)
	}
	if bin == "" {
		fmt.Println("- coffer: not run (no selected workload needs it)")
	} else {
		fmt.Printf("- coffer: %s", bin)
		if *flagSrvEnv != "" {
			fmt.Printf(" with %s", *flagSrvEnv)
		}
		if rev := gitRev(); rev != "" {
			fmt.Printf(" (tree %s)", rev)
		}
		fmt.Println()
		if *flagStorage == "" {
			fmt.Println("- storage: embedded (bbolt, under the data dir)")
		} else {
			fmt.Printf("- storage: %s", redactDSN(*flagStorage))
			if *flagServers > 1 {
				fmt.Printf("; %d coffer processes on it behind one public URL, worker i on server i mod %d; server CPU is their sum", *flagServers, *flagServers)
			}
			fmt.Println()
		}
	}
	fmt.Printf("- %d names, %d-byte values, -d %v (in %d interleaved rounds) after -warmup %v, concurrency %v, HTTP/1.1 keep-alive over TLS",
		*flagNames, *flagValue, *flagDur, max(1, *flagRounds), *flagWarm, concs)
	if *flagH2 {
		fmt.Printf(" (and HTTP/2)")
	}
	fmt.Println()
}

// redactDSN drops a password from a storage URL for printing.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparsable storage URL)"
	}
	return u.Redacted()
}

func printTable(rs []result) {
	fmt.Println("| workload | proto | c | ops/s | p50 | p99 | errors | server CPU | loadgen CPU | other CPU | busiest other |")
	fmt.Println("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|")
	inproc := false
	for _, r := range rs {
		unit := ""
		if r.workload == "delrec" {
			unit = " pairs"
		}
		srv := fmt.Sprintf("%.2f", r.srvCPU)
		if inProcess(r.workload) {
			srv, inproc = "-", true
		}
		fmt.Printf("| %s | %s | %d | %.0f%s | %s | %s | %d | %s | %.2f | %.2f | %s |\n",
			r.workload, r.proto, r.c, r.opsPerS, unit, fmtDur(r.p50), fmtDur(r.p99), r.errs, srv, r.genCPU, r.otherCPU, r.topOther)
	}
	fmt.Println()
	fmt.Printf("CPU columns are cores busy during the window (of %d): the measured server, this load generator, and everything\n", runtime.NumCPU())
	fmt.Println("else (other processes, kernel threads for block I/O and networking, interrupts); a high \"other\" means depressed figures.")
	if inproc {
		fmt.Println("The inproc- rows have no server: the signing runs in the load generator, so its CPU is in the loadgen column.")
	}
	fmt.Println()
}

// printTargets prints the targets at c=64 over HTTP/1.1 — the secrets' three when a
// secret workload ran, the signing one when a signing workload ran — and returns how
// many were missed.
func printTargets(rs []result) int {
	find := func(w string) *result {
		for i := range rs {
			if rs[i].workload == w && rs[i].c == 64 && (rs[i].proto == "h1" || inProcess(w)) {
				return &rs[i]
			}
		}
		return nil
	}
	ran := func(ws []string) bool {
		return slices.ContainsFunc(rs, func(r result) bool { return slices.Contains(ws, r.workload) })
	}
	missed := 0
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		missed++
		return "**FAIL**"
	}
	fmt.Println("Targets (c=64, HTTP/1.1):")
	if ran(signWorkloads) {
		api, in := find("sign-rs256"), find("inproc-rs256")
		if api != nil && in != nil && in.opsPerS > 0 {
			ratio := api.opsPerS / in.opsPerS
			fmt.Printf("- RS256 sign API/in-process at c=64 = %.0f / %.0f = %.1f%% (target ≥ 60%%): %s\n",
				api.opsPerS, in.opsPerS, 100*ratio, verdict(ratio >= 0.6))
			perCore(api, in)
		} else {
			fmt.Println("- RS256 sign API/in-process: n/a (needs sign-rs256 and inproc-rs256 at c=64)")
		}
		if api, in := find("sign-es256"), find("inproc-es256"); api != nil && in != nil && in.opsPerS > 0 {
			fmt.Printf("- ES256 sign API/in-process at c=64 = %.0f / %.0f = %.1f%% (no target)\n",
				api.opsPerS, in.opsPerS, 100*api.opsPerS/in.opsPerS)
			perCore(api, in)
		}
	}
	if !ran(allWorkloads) {
		return missed
	}
	get, ceil := find("get"), find("ceiling")
	if get != nil && ceil != nil && ceil.opsPerS > 0 {
		ratio := get.opsPerS / ceil.opsPerS
		fmt.Printf("- get/ceiling = %.0f / %.0f = %.1f%% (target ≥ 50%%): %s\n", get.opsPerS, ceil.opsPerS, 100*ratio, verdict(ratio >= 0.5))
	} else {
		fmt.Println("- get/ceiling: n/a (needs get and ceiling at c=64)")
	}
	if set := find("set"); set != nil {
		fmt.Printf("- set = %.0f/s, fsynced (target ≥ 10000/s): %s\n", set.opsPerS, verdict(set.opsPerS >= 10000))
	} else {
		fmt.Println("- set: n/a (needs set at c=64)")
	}
	if dr := find("delrec"); dr != nil {
		fmt.Printf("- delete+recover = %.0f pairs/s (target ≥ 4000/s): %s\n", dr.opsPerS, verdict(dr.opsPerS >= 4000))
	} else {
		fmt.Println("- delete+recover: n/a (needs delrec at c=64)")
	}
	return missed
}

// perCore prints signatures per busy core, the server's against the in-process
// ceiling's: steadier than the ratio of ops/s when other processes take cores away.
func perCore(api, in *result) {
	if api.srvCPU <= 0 || in.genCPU <= 0 {
		return
	}
	a, i := api.opsPerS/api.srvCPU, in.opsPerS/in.genCPU
	fmt.Printf("  - per busy core: %.0f/s per server core, %.0f/s per core in-process = %.1f%% (the load generator's own %.2f cores are not counted)\n",
		a, i, 100*a/i, api.genCPU)
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/1e3)
	default:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	}
}

// ---------------------------------------------------------------------------------------
// Load generation.

type bench struct {
	roots       *x509.CertPool
	token       string
	names       []string
	vaultURL    string // https://default.localhost:PORT (the public URL's port)
	ceilingURL  string // https://localhost:PORT
	serverPIDs  []int
	serverAddrs []string // 127.0.0.1:PORT of each coffer process
	ceilingPID  int
	sign        signState
}

type worker struct {
	id, c  int
	client *http.Client
	rng    *mrand.Rand
	body   []byte // {"value":"…"} with a value of -value-size bytes
	next   int    // delrec: next owned name
}

// transport is a transport for c workers; with pin (host:port) every connection goes
// there whatever the URL says (TLS still checks the URL's host), as through a load
// balancer; without, *.localhost dials 127.0.0.1.
func (b *bench) transport(proto string, c int, pin string) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: b.roots},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if pin != "" {
				addr = pin
			} else if h, p, err := net.SplitHostPort(addr); err == nil && (h == "localhost" || strings.HasSuffix(h, ".localhost")) {
				addr = net.JoinHostPort("127.0.0.1", p)
			}
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: c + 8,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	if proto == "h2" {
		tr.ForceAttemptHTTP2 = true
	} else {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return tr
}

// cofferClients returns a client per coffer process for c workers (worker i uses client
// i mod len), and their transports.
func (b *bench) cofferClients(proto string, c int) ([]*http.Client, []*http.Transport) {
	var cs []*http.Client
	var trs []*http.Transport
	for _, addr := range b.serverAddrs {
		tr := b.transport(proto, c, addr)
		trs = append(trs, tr)
		cs = append(cs, &http.Client{Transport: tr, Timeout: 60 * time.Second})
	}
	return cs, trs
}

func (b *bench) newWorker(id, c int, client *http.Client) *worker {
	w := &worker{id: id, c: c, client: client, rng: mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), uint64(id)))}
	w.body = make([]byte, 0, *flagValue+16)
	w.body = append(w.body, `{"value":"`...)
	w.body = append(w.body, make([]byte, *flagValue)...)
	w.body = append(w.body, `"}`...)
	w.fillValue()
	w.next = id
	return w
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// fillValue writes a fresh random value into the body.
func (w *worker) fillValue() {
	v := w.body[len(`{"value":"`) : len(w.body)-2]
	for i := 0; i < len(v); {
		x := w.rng.Uint64()
		for k := 0; k < 10 && i < len(v); k++ {
			v[i] = alphabet[x&63]
			x >>= 6
			i++
		}
	}
}

// do sends one request and fails on any non-2xx.
func (b *bench) do(ctx context.Context, w *worker, method, url string, body []byte) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return fmt.Errorf("%s %s: %d %s", method, strings.SplitN(url, "?", 2)[0], resp.StatusCode, bytes.TrimSpace(msg))
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// doTiny sends a GET without Authorization (-tiny-ceiling).
func (b *bench) doTiny(ctx context.Context, w *worker, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func (b *bench) secretURL(name string) string {
	return b.vaultURL + "/secrets/" + name + "?api-version=7.6"
}

// op runs one operation of workload (a pair for delrec).
func (b *bench) op(ctx context.Context, workload string, w *worker) error {
	switch workload {
	case "ceiling":
		if *flagTinyCeil {
			return b.doTiny(ctx, w, b.ceilingURL+"/")
		}
		return b.do(ctx, w, http.MethodGet, b.ceilingURL+"/secrets/"+b.names[w.rng.IntN(len(b.names))]+"?api-version=7.6", nil)
	case "get":
		return b.do(ctx, w, http.MethodGet, b.secretURL(b.names[w.rng.IntN(len(b.names))]), nil)
	case "set":
		w.fillValue()
		return b.do(ctx, w, http.MethodPut, b.secretURL(b.names[w.rng.IntN(len(b.names))]), w.body)
	case "delrec":
		// Names owned by worker id of c: index ≡ id (mod c). With more workers than
		// names a worker owns none and idles.
		if w.id >= len(b.names) {
			time.Sleep(10 * time.Millisecond)
			return nil
		}
		name := b.names[w.next]
		if w.next += w.c; w.next >= len(b.names) {
			w.next = w.id
		}
		if err := b.do(ctx, w, http.MethodDelete, b.secretURL(name), nil); err != nil {
			return err
		}
		// The pair is finished even when ctx ends in between: a name left deleted would
		// fail every later workload.
		return b.do(context.WithoutCancel(ctx), w, http.MethodPost, b.vaultURL+"/deletedsecrets/"+name+"/recover?api-version=7.6", nil)
	case "sign-rs256", "sign-es256", "inproc-rs256", "inproc-es256":
		return b.signOp(ctx, workload, w)
	}
	panic("unknown workload " + workload)
}

func (b *bench) prepopulate(ctx context.Context, c int) error {
	clients, trs := b.cofferClients("h1", c)
	defer func() {
		for _, tr := range trs {
			tr.CloseIdleConnections()
		}
	}()
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for id := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := b.newWorker(id, c, clients[id%len(clients)])
			for {
				i := int(next.Add(1) - 1)
				if i >= len(b.names) || ctx.Err() != nil {
					return
				}
				w.fillValue()
				if err := b.do(ctx, w, http.MethodPut, b.secretURL(b.names[i]), w.body); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// runner is one workload at one concurrency over one protocol: its transport and
// workers live across rounds, its figures add up over them.
type runner struct {
	workload, proto string
	c               int
	pids            []int // the servers it measures (their CPU adds up)
	trs             []*http.Transport
	workers         []*worker
	lat             [][]time.Duration // per worker
	errs            []int64
	firstErr        []error
	window          time.Duration // counted time over all rounds
	cpuServer       float64       // CPU seconds in the windows
	cpuGen          float64
	cpuOther        float64
	others          map[string]float64 // CPU seconds of other processes, by name
}

func (b *bench) newRunner(workload, proto string, c int) *runner {
	r := &runner{workload: workload, proto: proto, c: c, pids: b.serverPIDs,
		lat: make([][]time.Duration, c), errs: make([]int64, c), firstErr: make([]error, c), others: map[string]float64{}}
	clients := []*http.Client{nil}
	switch {
	case inProcess(workload):
		// No server, no transport: no pid, so the server CPU is 0 and the work shows
		// as this load generator's.
		r.proto, r.pids = "in-proc", nil
	case workload == "ceiling":
		r.pids = []int{b.ceilingPID}
		tr := b.transport(proto, c, "")
		r.trs = []*http.Transport{tr}
		clients[0] = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	default:
		clients, r.trs = b.cofferClients(proto, c)
	}
	for id := range c {
		r.workers = append(r.workers, b.newWorker(id, c, clients[id%len(clients)]))
		r.lat[id] = make([]time.Duration, 0, 1<<14)
	}
	return r
}

// round runs r's workers for warm (uncounted) then d (counted).
func (b *bench) round(ctx context.Context, r *runner, warm, d time.Duration) {
	winStart := time.Now().Add(warm)
	winEnd := winStart.Add(d)

	var cpu0, cpu1 cpuSample
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		time.Sleep(time.Until(winStart))
		cpu0 = sampleCPU(r.pids)
		time.Sleep(time.Until(winEnd))
		cpu1 = sampleCPU(r.pids)
	}()

	var wg sync.WaitGroup
	for id, w := range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				s := time.Now()
				if !s.Before(winEnd) {
					return
				}
				err := b.op(ctx, r.workload, w)
				e := time.Now()
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					r.errs[id]++
					if r.firstErr[id] == nil {
						r.firstErr[id] = err
					}
					continue
				}
				if !e.Before(winStart) && !e.After(winEnd) {
					r.lat[id] = append(r.lat[id], e.Sub(s))
				}
			}
		}()
	}
	wg.Wait()
	<-sampled
	r.window += d
	srv, gen, other := cpu1.cores(cpu0)
	el := cpu1.at.Sub(cpu0.at).Seconds()
	r.cpuServer += srv * el
	r.cpuGen += gen * el
	r.cpuOther += other * el
	cpu1.addOthers(cpu0, r.pids, r.others)
}

func (r *runner) result() result {
	res := result{workload: r.workload, proto: r.proto, c: r.c}
	var all []time.Duration
	for id := range r.workers {
		all = append(all, r.lat[id]...)
		res.errs += r.errs[id]
		if r.firstErr[id] != nil && res.firstErr == "" {
			res.firstErr = r.firstErr[id].Error()
		}
	}
	slices.Sort(all)
	res.ops = len(all)
	w := r.window.Seconds()
	res.opsPerS = float64(len(all)) / w
	if n := len(all); n > 0 {
		res.p50 = all[n*50/100]
		res.p99 = all[min(n-1, n*99/100)]
	}
	res.srvCPU, res.genCPU, res.otherCPU = r.cpuServer/w, r.cpuGen/w, r.cpuOther/w
	best, bestCPU := "", 0.05*w
	for name, c := range r.others {
		if c >= bestCPU {
			best, bestCPU = name, c
		}
	}
	if best != "" {
		res.topOther = fmt.Sprintf("%s %.2f", best, bestCPU/w)
	}
	return res
}

// ---------------------------------------------------------------------------------------
// CPU accounting from /proc (Linux; zeros elsewhere).

type cpuSample struct {
	at                   time.Time
	server, self, system float64 // CPU seconds: the server processes, this process, all busy CPU
	procs                map[int]procTime
}

type procTime struct {
	name string
	ppid int
	cpu  float64 // its own and its reaped children's
}

func sampleCPU(pids []int) cpuSample {
	server := 0.0
	for _, pid := range pids {
		server += procCPU(strconv.Itoa(pid))
	}
	return cpuSample{at: time.Now(), server: server, self: procCPU("self"), system: systemBusy(), procs: allProcs()}
}

// allProcs returns the CPU seconds of every process.
func allProcs() map[int]procTime {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := make(map[int]procTime, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if i < 0 || j < i {
			continue
		}
		rest := s[j+1:]
		ppid := 0
		if f := strings.Fields(rest); len(f) > 1 {
			ppid, _ = strconv.Atoi(f[1])
		}
		out[pid] = procTime{name: s[i+1 : j], ppid: ppid, cpu: statCPU(rest) + childCPU(rest)}
	}
	return out
}

// addOthers adds to acc the CPU seconds, by name, of every process but those of skip and this
// one between before and s, with the children each reaped meanwhile (see childCPU). A
// process that started in between counts whole; one that ended in between counts under
// the ancestor that reaped it, less what it had used by before.
func (s cpuSample) addOthers(before cpuSample, skip []int, acc map[string]float64) {
	self := os.Getpid()
	delta := map[string]float64{}
	for pid, p := range s.procs {
		if slices.Contains(skip, pid) || pid == self {
			continue
		}
		// A kernel worker's name changes with its work item: same pid, same process.
		if q, ok := before.procs[pid]; ok {
			delta[p.name] += p.cpu - q.cpu
		} else {
			delta[p.name] += p.cpu
		}
	}
	// An ended process's CPU reaches the children's time of its nearest ancestor still
	// alive (through every ended process between them); take off its part before the
	// window, which is what it had at before, reaped children included.
	for pid, q := range before.procs {
		if _, ok := s.procs[pid]; ok {
			continue
		}
		a := q.ppid
		for range 64 {
			if _, ok := s.procs[a]; ok {
				break
			}
			p, ok := before.procs[a]
			if !ok {
				a = 0
				break
			}
			a = p.ppid
		}
		if p, ok := s.procs[a]; ok && a != self && !slices.Contains(skip, a) {
			delta[p.name] -= q.cpu
		}
	}
	for name, d := range delta {
		if d > 0 {
			acc[name] += d
		}
	}
}

func (s cpuSample) cores(before cpuSample) (server, self, other float64) {
	el := s.at.Sub(before.at).Seconds()
	if el <= 0 || before.at.IsZero() {
		return 0, 0, 0
	}
	server = (s.server - before.server) / el
	self = (s.self - before.self) / el
	other = max(0, (s.system-before.system)/el-server-self)
	return
}

const clkTck = 100 // USER_HZ on Linux

// procCPU returns utime+stime of /proc/PID/stat in seconds.
func procCPU(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	return statCPU(s[i+1:])
}

// childCPU returns cutime+cstime in seconds (the CPU of reaped children) from the part
// of /proc/PID/stat after the command name. Short-lived processes (a `go build`'s
// compile and link) rarely live through a whole window, so an other process's figure
// includes it: their CPU then shows under the parent (go) that reaped them.
func childCPU(rest string) float64 {
	f := strings.Fields(rest) // cutime is field 16, cstime 17
	if len(f) < 15 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[13], 64)
	st, _ := strconv.ParseFloat(f[14], 64)
	return (u + st) / clkTck
}

// statCPU returns utime+stime in seconds from the part of /proc/PID/stat after the
// command name.
func statCPU(rest string) float64 {
	f := strings.Fields(rest) // f[0] is field 3 (state); utime is field 14, stime 15
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / clkTck
}

// systemBusy returns the non-idle CPU seconds of the whole machine.
func systemBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0
	}
	var busy float64
	for i, x := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest times are already in user
			continue
		}
		v, _ := strconv.ParseFloat(x, 64)
		busy += v
	}
	return busy / clkTck
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// ---------------------------------------------------------------------------------------
// The Coffer subprocess.

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the coffer module; run from the repository or pass -coffer")
	}
	return filepath.Dir(mod), nil
}

func gitRev() string {
	root, err := moduleRoot()
	if err != nil {
		return ""
	}
	out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func buildCoffer(ctx context.Context, out string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/coffer")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/coffer: %w", err)
	}
	return nil
}

type cofferProc struct {
	cmd     *exec.Cmd
	port    int
	dataDir string
	logPath string
	caPEM   []byte
	creds   struct {
		TenantID      string `json:"tenantId"`
		ClientID      string `json:"clientId"`
		ClientSecret  string `json:"clientSecret"`
		AuthorityHost string `json:"authorityHost"`
	}
	done chan struct{}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// cofferOpts is what every coffer process of a run gets besides its data dir and address.
type cofferOpts struct {
	args       []string
	env        []string // KEY=VALUE added to this program's environment
	publicPort int      // the port of --public-url; 0: the (one) server's own
}

// newCofferOpts makes the options of -storage, -servers and -server-env: on a shared
// storage, one COFFER_MASTER_KEY for all; with several servers, one public URL on a port
// nothing listens on (the clients pin their connections to the servers).
func newCofferOpts() (cofferOpts, error) {
	o := cofferOpts{env: strings.Fields(*flagSrvEnv), args: strings.Fields(*flagSrvArgs)}
	if *flagStorage != "" {
		kek := make([]byte, 32)
		rand.Read(kek)
		o.env = append(o.env, "COFFER_MASTER_KEY="+base64.StdEncoding.EncodeToString(kek))
		o.args = append(o.args, "--storage", *flagStorage)
	}
	if *flagServers > 1 {
		port, err := freePort()
		if err != nil {
			return o, err
		}
		o.publicPort = port
		o.args = append(o.args, "--public-url", fmt.Sprintf("https://127.0.0.1:%d", port))
	}
	return o, nil
}

// startCoffer starts coffer process i (data dir tmp/data, tmp/data-2, …; log
// tmp/coffer.log, tmp/coffer-2.log, …) and waits until it is healthy.
func startCoffer(ctx context.Context, bin, tmp string, i int, o cofferOpts) (*cofferProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dataDir, logPath := filepath.Join(tmp, "data"), filepath.Join(tmp, "coffer.log")
	if i > 0 {
		dataDir, logPath = filepath.Join(tmp, fmt.Sprintf("data-%d", i+1)), filepath.Join(tmp, fmt.Sprintf("coffer-%d.log", i+1))
	}
	p := &cofferProc{port: port, dataDir: dataDir, logPath: logPath, done: make(chan struct{})}
	logf, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	args := append([]string{"server", "--data-dir", p.dataDir, "--addr", fmt.Sprintf("127.0.0.1:%d", port)}, o.args...)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.Env = append(os.Environ(), o.env...)
	p.cmd.SysProcAttr = childAttr()
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { p.cmd.Wait(); logf.Close(); close(p.done) }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := p.ready(); err == nil {
			return p, nil
		} else if time.Now().After(deadline) || ctx.Err() != nil || p.exited() {
			p.stop()
			log, _ := os.ReadFile(p.logPath)
			return nil, fmt.Errorf("coffer did not become healthy (%v); its log:\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ready reads the CA and credentials and checks /healthz.
func (p *cofferProc) ready() error {
	ca, err := os.ReadFile(filepath.Join(p.dataDir, "tls", "ca.crt"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return errors.New("ca.crt has no certificate yet")
	}
	cb, err := os.ReadFile(filepath.Join(p.dataDir, "bootstrap-credentials.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(cb, &p.creds); err != nil {
		return fmt.Errorf("bootstrap-credentials.json: %w", err)
	}
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(fmt.Sprintf("https://127.0.0.1:%d/healthz", p.port))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("/healthz: %s", resp.Status)
	}
	p.caPEM = ca
	return nil
}

func (p *cofferProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *cofferProc) stop() {
	if p.exited() {
		return
	}
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// getToken gets a data-plane token of the administrator from p, for the vaults of the
// public URL's port (every server of the run accepts it).
func getToken(ctx context.Context, roots *x509.CertPool, p *cofferProc, publicPort int) (string, error) {
	d := &net.Dialer{}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", p.port)) // the authority is the public URL
		},
	}}
	defer hc.CloseIdleConnections()
	auth := p.creds.AuthorityHost
	if !strings.HasSuffix(auth, "/") {
		auth += "/"
	}
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {p.creds.ClientID},
		"client_secret": {p.creds.ClientSecret},
		"scope":         {fmt.Sprintf("https://localhost:%d/.default", publicPort)},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, auth+p.creds.TenantID+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("token: %s %s", resp.Status, body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("token: no access_token in %s", body)
	}
	return tr.AccessToken, nil
}

// ---------------------------------------------------------------------------------------
// The ceiling: a bare net/http TLS server in a subprocess.

type ceilingProc struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	addr    string // localhost:PORT
	certPEM []byte
	done    chan struct{}
}

func startCeiling(ctx context.Context, tmp string) (*ceilingProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(tmp, "ceiling")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &ceilingProc{done: make(chan struct{})}
	p.cmd = exec.Command(self, ceilingMode, dir)
	p.cmd.SysProcAttr = childAttr()
	p.cmd.Stderr = os.Stderr
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
		io.Copy(io.Discard, out)
	}()
	select {
	case l, ok := <-line:
		addr, found := strings.CutPrefix(l, "LISTEN ")
		if !ok || !found {
			p.stop()
			return nil, fmt.Errorf("ceiling server: unexpected first line %q", l)
		}
		_, port, _ := net.SplitHostPort(addr)
		p.addr = "localhost:" + port
	case <-time.After(30 * time.Second):
		p.stop()
		return nil, errors.New("ceiling server did not start")
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
	if p.certPEM, err = os.ReadFile(filepath.Join(dir, "cert.pem")); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

func (p *ceilingProc) stop() {
	p.stdin.Close() // the server exits when its stdin closes
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// ceilingServer serves {"ok":true} over TLS (ECDSA P-256, like Coffer's certificates)
// until stdin closes. It writes DIR/cert.pem, then prints "LISTEN addr".
func ceilingServer(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	body := []byte(`{"ok":true}`)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Write(body)
		}),
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		},
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	fmt.Printf("LISTEN %s\n", ln.Addr())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		srv.Close()
	}()
	if err := srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
