package main

// The report, in Markdown on stdout so that it pastes into an issue as it is: the
// environment the figures were taken in, the table of results, and the targets with
// their verdicts. Progress goes to stderr elsewhere; nothing here measures.

import (
	"fmt"
	"net/url"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/testenv/cofferproc"
)

// printEnv prints the header: the machine, the server and the run's parameters.
func printEnv(cfg *config, bin string) {
	fmt.Printf("- %s, %s/%s, %d CPUs (NumCPU), GOMAXPROCS %d; server, ceiling and load generator share them\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	if m := cpuModel(); m != "" {
		fmt.Printf("- CPU: %s\n", m)
	}
	if bin == "" {
		fmt.Println("- coffer: not run (no selected workload needs it)")
	} else {
		fmt.Printf("- coffer: %s", bin)
		if cfg.serverEnv != "" {
			fmt.Printf(" with %s", cfg.serverEnv)
		}
		if rev := gitRev(); rev != "" {
			fmt.Printf(" (tree %s)", rev)
		}
		fmt.Println()
		if cfg.storage == "" {
			fmt.Println("- storage: embedded (bbolt, under the data dir)")
		} else {
			fmt.Printf("- storage: %s", redactDSN(cfg.storage))
			if cfg.servers > 1 {
				fmt.Printf("; %d coffer processes on it behind one public URL, worker i on server i mod %d; server CPU is their sum", cfg.servers, cfg.servers)
			}
			fmt.Println()
		}
	}
	fmt.Printf("- %d names, %d-byte values, -d %v (in %d interleaved rounds) after -warmup %v, concurrency %v, HTTP/1.1 keep-alive over TLS",
		cfg.names, cfg.valueSize, cfg.dur, cfg.rounds, cfg.warmup, cfg.concs)
	if cfg.h2 {
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

// printTable prints the results, one row a workload, concurrency and protocol.
func printTable(rs []result) {
	fmt.Println("| workload | proto | c | ops/s | p50 | p99 | errors | server CPU | loadgen CPU | other CPU | busiest other | disk writes |")
	fmt.Println("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|")
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
		fmt.Printf("| %s | %s | %d | %.0f%s | %s | %s | %d | %s | %.2f | %.2f | %s | %s |\n",
			r.workload, r.proto, r.c, r.opsPerS, unit, fmtDur(r.p50), fmtDur(r.p99), r.errs, srv, r.genCPU, r.otherCPU, r.topOther, r.diskColumn())
	}
	fmt.Println()
	fmt.Printf("CPU columns are cores busy during the window (of %d): the measured server, this load generator, and everything\n", runtime.NumCPU())
	fmt.Println("else (other processes, kernel threads for block I/O and networking, interrupts); a high \"other\" means depressed figures.")
	fmt.Println("Disk writes are what the block device under the data dirs completed during the window (every writer on it,")
	fmt.Println("PostgreSQL too when its files are there), a second, and kilobytes per operation; \"none\" when there is no device")
	fmt.Println("(a tmpfs). A write rate that the disk bounds shows as idle cores and many kilobytes written per operation.")
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
	if ran(signWorkloads()) {
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
	if del := find("del"); del != nil {
		ok := del.opsPerS >= 2000 && del.p99 < 100*time.Millisecond && del.errs == 0
		fmt.Printf("- delete = %.0f/s, p99 %s, %d errors (PostgreSQL target ≥ 2000/s, p99 < 100ms, no errors): %s\n",
			del.opsPerS, fmtDur(del.p99), del.errs, verdict(ok))
	}
	if get, emb := find("get"), find("get-embedded"); get != nil && emb != nil && emb.opsPerS > 0 {
		ratio := get.opsPerS / emb.opsPerS
		fmt.Printf("- get on -storage / get embedded = %.0f / %.0f = %.1f%% (target ≥ 60%%): %s\n",
			get.opsPerS, emb.opsPerS, 100*ratio, verdict(ratio >= 0.6))
	}
	if !ran(defaultWorkloads()) {
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
		fmt.Printf("- delete+recover = %.0f pairs/s (target ≥ 5000/s): %s\n", dr.opsPerS, verdict(dr.opsPerS >= 5000))
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

// fmtDur prints a latency with the precision it deserves: µs below a millisecond.
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

// gitRev describes the tree the binary was built from, for the header.
func gitRev() string {
	root, err := cofferproc.ModuleRoot()
	if err != nil {
		return ""
	}
	out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// diskColumn is the disk writes of r's windows, a second, and per operation.
func (r result) diskColumn() string {
	if !r.disk.ok {
		return "none"
	}
	w := float64(r.ops) / r.opsPerS // the windows' length in seconds
	if w <= 0 || r.ops == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f/s, %.1f MB/s, %.1f KB/op", float64(r.disk.writes)/w, float64(r.disk.bytes)/w/1e6, float64(r.disk.bytes)/float64(r.ops)/1e3)
}
