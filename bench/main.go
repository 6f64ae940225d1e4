package main

// The run, step by step in the order the report shows them: start what the selected
// workloads need, print the environment, prepare the data, measure, report. Each step
// lives in the file of its concern; this one only orders them and decides the exit
// status and whether the temp dir is kept.

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == ceilingMode {
		if err := ceilingServer(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "ceiling server:", err)
			os.Exit(1)
		}
		return
	}
	cfg, err := parseConfig(os.Args[0], os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code, err := run(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func run(ctx context.Context, cfg *config) (int, error) {
	tmp, err := os.MkdirTemp("", "coffer-bench-")
	if err != nil {
		return 1, err
	}
	keep := cfg.keep
	defer func() {
		if keep {
			fmt.Fprintf(os.Stderr, "temp dir kept: %s (coffer*.log, data*/)\n", tmp)
		} else {
			os.RemoveAll(tmp)
		}
	}()

	bin, err := cofferBinary(ctx, cfg, tmp)
	if err != nil {
		return 1, err
	}
	if cfg.scale > 0 {
		return 0, runScale(ctx, cfg, bin, tmp)
	}
	roots := x509.NewCertPool()
	srv := &servers{}
	defer srv.stop()
	if cfg.needCoffer() {
		if err := srv.start(ctx, cfg, bin, tmp); err != nil {
			return 1, err
		}
		if err := srv.trustIn(roots); err != nil {
			return 1, err
		}
	}
	var emb *servers // -compare-embedded
	if cfg.compareEmb {
		emb, err = startEmbedded(ctx, cfg, bin, tmp)
		defer emb.stop()
		if err != nil {
			return 1, err
		}
		if err := emb.trustIn(roots); err != nil {
			return 1, err
		}
	}
	var ceiling *ceilingProc
	if cfg.only["ceiling"] {
		if ceiling, err = startCeiling(ctx, tmp); err != nil {
			return 1, err
		}
		defer ceiling.stop()
		if !roots.AppendCertsFromPEM(ceiling.certPEM) {
			return 1, errors.New("no certificate from the ceiling server")
		}
	}

	b := &bench{cfg: cfg, roots: roots, names: make([]string, cfg.names), disk: diskDevice(tmp)}
	if cfg.needCoffer() {
		if b.token, err = srv.token(ctx); err != nil {
			return 1, err
		}
		b.vaultURL = srv.vaultURL()
	} else {
		b.token = strings.Repeat("x", 600) // the ceiling alone: same header size, roughly
	}
	for i := range b.names {
		b.names[i] = fmt.Sprintf("bench-%05d", i)
	}
	if cfg.only["del"] {
		b.delNames = make([]string, cfg.delNames)
		for i := range b.delNames {
			b.delNames[i] = fmt.Sprintf("bench-del-%06d", i)
		}
	}
	if emb != nil {
		eb := &bench{cfg: cfg, roots: roots, names: b.names, vaultURL: emb.vaultURL(), disk: b.disk}
		if eb.token, err = emb.token(ctx); err != nil {
			return 1, err
		}
		for _, p := range emb.procs {
			eb.serverPIDs = append(eb.serverPIDs, p.PID())
			eb.serverAddrs = append(eb.serverAddrs, p.Addr)
		}
		b.embedded = eb
	}
	for _, p := range srv.procs {
		b.serverPIDs = append(b.serverPIDs, p.PID())
		b.serverAddrs = append(b.serverAddrs, p.Addr)
	}
	if ceiling != nil {
		b.ceilingURL = "https://" + ceiling.addr
		b.ceilingPID = ceiling.cmd.Process.Pid
	}

	la0 := loadavg()
	fmt.Printf("# Coffer benchmark\n\n")
	printEnv(cfg, bin)
	fmt.Printf("- load average at start: %s\n", la0)

	if cfg.needSecrets() {
		fmt.Fprintf(os.Stderr, "pre-populating %d secrets at c=%d …\n", cfg.names, cfg.prepopC)
		start := time.Now()
		if err := b.prepopulate(ctx, cfg.prepopC); err != nil {
			keep = len(srv.procs) > 0 // for the servers' logs
			return 1, fmt.Errorf("pre-populate: %w", err)
		}
		el := time.Since(start)
		n := cfg.names + len(b.delNames)
		fmt.Printf("- pre-populated %d secrets (%d-byte values) at c=%d in %v (%.0f creates/s)\n",
			n, cfg.valueSize, cfg.prepopC, el.Round(time.Millisecond), float64(n)/el.Seconds())
		if b.embedded != nil {
			fmt.Fprintf(os.Stderr, "pre-populating %d secrets on the embedded coffer …\n", cfg.names)
			if err := b.embedded.create(ctx, cfg.prepopC, b.names); err != nil {
				keep = true
				return 1, fmt.Errorf("pre-populate the embedded coffer: %w", err)
			}
		}
	}
	if err := b.setupSign(ctx); err != nil {
		return 1, fmt.Errorf("signing keys: %w", err)
	}
	fmt.Println()

	results, err := b.measure(ctx, srv.exitedLog)
	if err != nil {
		var exited exitedError
		keep = keep || errors.As(err, &exited)
		return 1, err
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
		for _, log := range slices.Concat(srv.logs, emb.logFiles()) {
			keep = true // for the server's log
			fmt.Printf("- coffer log: %s (kept)\n", log.Name())
		}
		return 1, fmt.Errorf("%d request errors", errTotal)
	}
	if missed > 0 && cfg.strict {
		return 1, fmt.Errorf("%d targets missed", missed)
	}
	return 0, nil
}
