package main

// The load generator: c workers per workload on one keep-alive transport, a warm-up that
// opens the connections and is not counted, then a window whose completions and their
// latencies are recorded per worker (no lock on the hot path), with the CPU sampled at
// the window's edges. Rounds interleave the workloads so that a change in the machine's
// background load hits them alike. What a request is belongs to workloads.go and
// sign.go; this file only drives them and adds up.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coffer/coffer/internal/testenv/cofferproc"
)

// bench is what the workers need of the run: the configuration, whom to reach and how
// to prove who they are.
type bench struct {
	cfg         *config
	roots       *x509.CertPool
	token       string
	names       []string
	vaultURL    string // https://default.localhost:PORT (the public URL's port)
	ceilingURL  string // https://localhost:PORT
	serverPIDs  []int
	serverAddrs []string // 127.0.0.1:PORT of each coffer process
	ceilingPID  int
	sign        signState
	delNames    []string     // the del workload's secrets, each deleted once
	delNext     atomic.Int64 // the next of delNames to delete
	embedded    *bench       // -compare-embedded: the coffer on the embedded storage
	disk        string       // the block device under the data dirs (diskDevice), "" on a tmpfs
}

// result is one workload at one concurrency over one protocol, as the report prints it.
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
	topOther string     // the busiest other process in the window
	disk     diskSample // what the data dirs' block device did in the windows (ok false: none)
}

// exitedError says that a server under measurement exited in the middle of the run.
type exitedError struct{ log string }

func (e exitedError) Error() string { return fmt.Sprintf("coffer exited; see its log %s", e.log) }

// measure runs every selected workload at every concurrency of -c, over HTTP/1.1 and,
// with -h2, HTTP/2 (the in-process ones once), and returns their results in that order.
// exitedLog names the log of a server that has exited ("" while all run): the run stops
// there with an exitedError.
func (b *bench) measure(ctx context.Context, exitedLog func() string) ([]result, error) {
	protos := []string{"h1"}
	if b.cfg.h2 {
		protos = append(protos, "h2")
	}
	var results []result
	rounds := b.cfg.rounds
	for _, proto := range protos {
		for _, c := range b.cfg.concs {
			var runners []*runner
			for _, w := range knownWorkloads() {
				if b.cfg.only[w] && (proto == "h1" || !inProcess(w)) {
					runners = append(runners, b.newRunner(w, proto, c))
				}
			}
			for round := range rounds {
				for _, r := range runners {
					if ctx.Err() != nil {
						return nil, ctx.Err()
					}
					if log := exitedLog(); log != "" {
						return nil, exitedError{log}
					}
					warm := b.cfg.warmup
					if round > 0 {
						warm = min(warm, 200*time.Millisecond) // connections are open already
					}
					fmt.Fprintf(os.Stderr, "%s %s c=%d round %d/%d …\n", r.workload, proto, c, round+1, rounds)
					b.round(ctx, r, warm, b.cfg.dur/time.Duration(rounds))
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
	return results, nil
}

// transport is a transport for c workers; with pin (host:port) every connection goes
// there whatever the URL says (TLS still checks the URL's host), as through a load
// balancer; without, *.localhost dials 127.0.0.1.
func (b *bench) transport(proto string, c int, pin string) *http.Transport {
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: b.roots},
		DialContext:         cofferproc.LoopbackDial(&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}, pin),
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
	disk            string             // the block device under the data dirs, "" for none
	diskDone        diskSample         // what it did in the windows
}

// newRunner makes the transports and the c workers of workload over proto.
func (b *bench) newRunner(workload, proto string, c int) *runner {
	if workload == "get-embedded" && b.embedded != nil {
		return b.embedded.newRunner(workload, proto, c) // its workers talk to that server
	}
	r := &runner{workload: workload, proto: proto, c: c, pids: b.serverPIDs, disk: b.disk,
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
	var disk0, disk1 diskSample
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		time.Sleep(time.Until(winStart))
		cpu0, disk0 = sampleCPU(r.pids), sampleDisk(r.disk)
		time.Sleep(time.Until(winEnd))
		cpu1, disk1 = sampleCPU(r.pids), sampleDisk(r.disk)
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
	if d := disk1.sub(disk0); d.ok {
		r.diskDone.ok = true
		r.diskDone.writes += d.writes
		r.diskDone.bytes += d.bytes
	}
}

// result adds up r's rounds: ops/s over the counted time, p50 and p99 of every
// completion in it, and the average cores busy.
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
	res.disk = r.diskDone
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
