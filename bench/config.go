package main

// The command line, parsed once into a config that main passes down: the run, the
// servers' start-up, the workloads and the report read it and nothing changes it, so no
// part of the program depends on package-level state that another part may have set.

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ceilingMode is the hidden first argument that makes this program the ceiling server
// (`bench -ceiling-server DIR`); it is no flag, so that -h does not show it.
const ceilingMode = "-ceiling-server"

type config struct {
	cofferBin   string          // -coffer: a prebuilt binary; "": go build
	dur         time.Duration   // -d
	warmup      time.Duration   // -warmup
	concs       []int           // -c
	only        map[string]bool // -only: the selected workloads
	names       int             // -names
	valueSize   int             // -value-size
	h2          bool
	keep        bool
	strict      bool
	prepopC     int // -prepop-c
	tinyCeiling bool
	rounds      int    // -rounds, at least 1
	serverArgs  string // -server-args, space-separated
	serverEnv   string // -server-env, space-separated KEY=VALUE
	storage     string // -storage; "": the embedded bbolt file
	servers     int    // -servers
	scale       int    // -scale: run the scale benchmarks (scale.go) at this many deleted secrets instead
	delNames    int    // -del-names: secrets pre-created for the del workload (0: enough for 5,000 deletes/s)
	compareEmb  bool   // -compare-embedded: get also against a coffer on the embedded storage
}

// The workloads: the default ones, then the signing ones (only when -only names them).
// Runners are made in this order at each concurrency. Functions rather than package
// variables, so that no part of the program can change a list another part reads.
func defaultWorkloads() []string { return []string{"ceiling", "get", "set", "delrec"} }
func signWorkloads() []string {
	return []string{"sign-rs256", "inproc-rs256", "sign-es256", "inproc-es256"}
}

// del (deletes only) and get-embedded (-compare-embedded) run only when asked for;
// knownWorkloads is also the order the runners are made in.
func knownWorkloads() []string {
	return slices.Concat([]string{"ceiling", "get", "get-embedded", "set", "delrec", "del"}, signWorkloads())
}

// inProcess says whether a workload runs in this process rather than against a server.
func inProcess(w string) bool { return strings.HasPrefix(w, "inproc-") }

// parseConfig parses the flags of args (without the program name). -h and a malformed
// flag print the usage and exit, as flag.Parse does; an inconsistent value is an error.
func parseConfig(name string, args []string) (*config, error) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	var c config
	var concs string
	var rounds int
	fs.StringVar(&c.cofferBin, "coffer", "", "coffer binary to run (default: go build ./cmd/coffer into the temp dir)")
	fs.DurationVar(&c.dur, "d", 5*time.Second, "measured duration of each workload at each concurrency")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "uncounted warm-up before each measurement")
	fs.StringVar(&concs, "c", "1,16,64", "concurrencies, comma-separated")
	only := fs.String("only", "", "workloads to run, comma-separated from ceiling,get,set,delrec (default: these four), del (deletes only) and sign-rs256,inproc-rs256,sign-es256,inproc-es256 (\"sign\": these four)")
	fs.IntVar(&c.names, "names", 10000, "number of secret names")
	fs.IntVar(&c.valueSize, "value-size", 1024, "bytes of each secret value")
	fs.BoolVar(&c.h2, "h2", false, "also run every workload over HTTP/2")
	fs.BoolVar(&c.keep, "keep", false, "keep the temp dir (data dir, server log) and print its path")
	fs.BoolVar(&c.strict, "strict", false, "exit 1 when a target is missed, not only on errors")
	fs.IntVar(&c.prepopC, "prepop-c", 64, "concurrency of the pre-population")
	fs.BoolVar(&c.tinyCeiling, "tiny-ceiling", false, "send the ceiling a bare GET / instead of the get workload's request (path, query, Authorization)")
	fs.IntVar(&rounds, "rounds", 1, "split each -d into this many rounds, interleaving the workloads at each concurrency (steadier ratios on a busy machine)")
	fs.StringVar(&c.serverArgs, "server-args", "", "extra flags of coffer server, space-separated (e.g. --audit-log off)")
	fs.StringVar(&c.serverEnv, "server-env", "", "extra environment of the coffer process, space-separated KEY=VALUE (e.g. GOGC=400)")
	fs.StringVar(&c.storage, "storage", "", "run coffer on this storage (--storage), e.g. postgres://USER@HOST:PORT/DB?sslmode=disable; the database must be empty (default: the embedded bbolt file)")
	fs.IntVar(&c.servers, "servers", 1, "coffer processes on the same -storage, behind one public URL; workers alternate between them (more than 1 needs -storage)")
	fs.IntVar(&c.scale, "scale", 0, "instead of the workloads, run the scale benchmarks at this many deleted secrets: start-up with the file out of the page cache, /metrics scrape, sweep (purges/s, get p99 during it); uses -value-size and -prepop-c (writers of the population)")
	fs.IntVar(&c.delNames, "del-names", 0, "secrets pre-created for the del workload, each deleted once (default: enough for 5,000 deletes/s over every -c, warm-up included)")
	fs.BoolVar(&c.compareEmb, "compare-embedded", false, "with -storage: also start a coffer on the embedded bbolt file and run get against it as get-embedded, interleaved with get in the same run")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./bench [flags]\n\n"+
			"Measures Coffer (subprocess, real storage, TLS) against a bare net/http TLS server.\n\n"+
			"Workloads: ceiling, get, set, delrec run by default; the signing workloads sign-rs256,\n"+
			"inproc-rs256, sign-es256, inproc-es256 (API sign against the same operation in-process,\n"+
			"the ceiling) run only when -only names them; -only sign selects all four.\n\n")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	c.rounds = max(1, rounds)

	var err error
	if c.concs, err = parseConcs(concs); err != nil {
		return nil, err
	}
	if c.only, err = parseOnly(*only); err != nil {
		return nil, err
	}
	if c.names < 1 || c.valueSize < 1 {
		return nil, errors.New("-names and -value-size must be positive")
	}
	if c.servers < 1 {
		return nil, errors.New("-servers must be at least 1")
	}
	if c.servers > 1 && c.storage == "" {
		return nil, errors.New("-servers > 1 needs -storage postgres://…: the servers share that database")
	}
	if c.only["get-embedded"] {
		c.compareEmb = true
	}
	if c.compareEmb && c.storage == "" {
		return nil, errors.New("-compare-embedded needs -storage: it compares that storage with the embedded one")
	}
	if c.compareEmb && c.only["get"] {
		c.only["get-embedded"] = true
	}
	if c.delNames == 0 {
		c.delNames = int(5000 * (c.warmup + c.dur).Seconds() * float64(len(c.concs)))
	}
	return &c, nil
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
		for _, w := range defaultWorkloads() {
			sel[w] = true
		}
		return sel, nil
	}
	known := knownWorkloads()
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		switch {
		case f == "sign":
			for _, w := range signWorkloads() {
				sel[w] = true
			}
		case slices.Contains(known, f):
			sel[f] = true
		default:
			return nil, fmt.Errorf("-only: unknown workload %q (want some of %s, or sign)", f, strings.Join(known, ","))
		}
	}
	return sel, nil
}

// needSecrets says whether a selected workload needs the pre-populated secrets.
func (c *config) needSecrets() bool {
	return c.only["get"] || c.only["set"] || c.only["delrec"] || c.only["del"]
}

// needCoffer says whether a selected workload talks to Coffer.
func (c *config) needCoffer() bool {
	return c.scale > 0 || c.needSecrets() || c.only["sign-rs256"] || c.only["sign-es256"]
}
