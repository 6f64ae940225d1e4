package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/testenv"
	"github.com/coffer/coffer/internal/testenv/cofferproc"
)

// procFDs counts the open file descriptors of process pid.
func procFDs(pid int) (int, error) {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(entries), err
}

// procRSS is the resident memory of process pid, in KiB.
func procRSS(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return strconv.Atoi(string(m[1]))
}

// metricValue reads one series from the server's /metrics.
func metricValue(t *testing.T, hc *http.Client, base, series string) float64 {
	t.Helper()
	resp, err := hc.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", series, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", series)
	return 0
}

// slowClient opens a TLS connection (HTTP/1.1) to addr and sends what start returns
// except its last byte at once, then one byte of drip every interval, until the server
// cuts the connection off or giveUp passes. It returns how long the server held it, and
// whether it was cut off. With start "" it does not even finish the TLS handshake: it
// connects and sends nothing.
func slowClient(addr string, pool *x509.CertPool, start string, drip byte, interval, giveUp time.Duration) (time.Duration, bool) {
	t0 := time.Now()
	raw, err := net.DialTimeout("tcp", addr, giveUp)
	if err != nil {
		return time.Since(t0), true // refused: nothing is held
	}
	defer raw.Close()
	raw.SetDeadline(t0.Add(giveUp))
	if start == "" {
		_, err := raw.Read(make([]byte, 1)) // the server must close it: the handshake never comes
		return time.Since(t0), err != nil && !isTimeout(err)
	}
	c := tls.Client(raw, &tls.Config{RootCAs: pool, ServerName: "localhost", NextProtos: []string{"http/1.1"}})
	if err := c.Handshake(); err != nil {
		return time.Since(t0), !isTimeout(err)
	}
	if _, err := io.WriteString(c, start); err != nil {
		return time.Since(t0), true
	}
	cut := make(chan struct{})
	go func() {
		io.Copy(io.Discard, c) // whatever the server answers (a 401, a 400), until it closes
		close(cut)
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-cut:
			return time.Since(t0), time.Since(t0) < giveUp
		case <-tick.C:
			if time.Since(t0) >= giveUp {
				return time.Since(t0), false
			}
			if _, err := c.Write([]byte{drip}); err != nil {
				return time.Since(t0), !isTimeout(err)
			}
		}
	}
}

// raceBuild says whether this test binary (and so the server testenv builds) runs
// with the race detector.
func raceBuild() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestSlowClientsAreCutOff: 200 clients that send slowly — a token request's body, a
// data-plane body after its 401, request headers, or not even a TLS handshake — against
// a real `coffer server` with small limits (64 connections, 2 s for headers and bodies)
// are all cut off within seconds; meanwhile the server's open files stay within the
// connection cap, its memory within bounds, and a normal client gets its token and its
// answers. /metrics counts what was cut off.
func TestSlowClientsAreCutOff(t *testing.T) {
	const (
		maxConns = 64
		clients  = 200
		giveUp   = 30 * time.Second
	)
	bin := testenv.BuildCoffer(t)
	p := testenv.StartProcess(t, bin, t.TempDir(), "--audit-log", "off", "--max-connections", strconv.Itoa(maxConns),
		"--header-timeout", "2s", "--body-timeout", "2s", "--idle-timeout", "10s")
	pool, err := cofferproc.CAPool(p.CAPath())
	if err != nil {
		t.Fatal(err)
	}
	creds, err := p.Credentials()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := p.Token(ctx, "https://localhost:"+p.Port+"/.default"); err != nil {
		t.Fatal(err)
	}
	pid := p.PID()
	baseFDs, err := procFDs(pid)
	if err != nil {
		t.Skipf("cannot count the server's open files through /proc (%v): this test needs Linux", err)
	}
	baseRSS, err := procRSS(pid)
	if err != nil {
		t.Skipf("cannot read the server's memory through /proc (%v): this test needs Linux", err)
	}

	// Sample the server's open files and memory while the clients run.
	var maxFDs, maxRSS atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if n, err := procFDs(pid); err == nil && int64(n) > maxFDs.Load() {
				maxFDs.Store(int64(n))
			}
			if n, err := procRSS(pid); err == nil && int64(n) > maxRSS.Load() {
				maxRSS.Store(int64(n))
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()

	tokenPath := "/" + creds.TenantID + "/oauth2/v2.0/token"
	kinds := []struct {
		name  string
		n     int
		start string
	}{
		{"token body", 80, "POST " + tokenPath + " HTTP/1.1\r\nHost: localhost:" + p.Port +
			"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ngrant_type=client_credentials"},
		{"data-plane body after a 401", 60, "PUT /secrets/slow?api-version=7.6 HTTP/1.1\r\nHost: default.localhost:" + p.Port +
			"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"value\":\""},
		{"headers", 40, "GET /healthz HTTP/1.1\r\nHost: localhost:" + p.Port + "\r\nX-Slow: "},
		{"no TLS handshake", 20, ""},
	}
	type result struct {
		kind string
		held time.Duration
		cut  bool
	}
	results := make(chan result, clients)
	var wg sync.WaitGroup
	began := time.Now()
	for _, k := range kinds {
		for range k.n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				held, cut := slowClient(p.Addr, pool, k.start, 'a', 500*time.Millisecond, giveUp)
				results <- result{k.name, held, cut}
			}()
		}
	}

	// A normal client, while the slow ones hold the server: new connections each time, as
	// a process starting up would open them; retried like azcore retries a failed connection.
	time.Sleep(time.Second)
	served := time.Now()
	var normalErr error
	for attempt := 0; attempt < 4; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		_, normalErr = p.Token(cctx, "https://localhost:"+p.Port+"/.default")
		cancel()
		if normalErr == nil {
			break
		}
	}
	normalTook := time.Since(served)

	wg.Wait()
	close(results)
	close(stopSampling)
	<-sampled
	var last time.Duration
	for r := range results {
		if !r.cut {
			t.Errorf("a slow client (%s) was held %v and not cut off", r.kind, r.held.Round(time.Millisecond))
		}
		last = max(last, r.held)
	}
	t.Logf("%d slow clients, all done after %v; the normal client took %v; open files %d → max %d; RSS %d → max %d KiB",
		clients, time.Since(began).Round(time.Millisecond), normalTook.Round(time.Millisecond), baseFDs, maxFDs.Load(), baseRSS, maxRSS.Load())
	if normalErr != nil {
		t.Errorf("the normal client was not served while the slow ones ran: %v", normalErr)
	}
	if time.Since(began) > 25*time.Second {
		t.Errorf("cutting off %d slow clients took %v", clients, time.Since(began))
	}
	// The cap, one connection waiting for a slot, and a few of the test's own (the
	// normal client, the samples' reads).
	if got, limit := maxFDs.Load(), int64(baseFDs+maxConns+16); got > limit {
		t.Errorf("the server had %d files open (%d before), more than the cap of %d connections allows (%d)", got, baseFDs, maxConns, limit)
	}
	// Holding 64 TLS connections costs a few MB (a race-detector build several times
	// that); the bound catches a server that holds on to far more.
	bound := int64(48 << 10)
	if raceBuild() {
		bound = 160 << 10
	}
	if grew := maxRSS.Load() - int64(baseRSS); grew > bound {
		t.Errorf("the server's memory grew by %d KiB holding slow clients (bound %d KiB)", grew, bound)
	}

	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: cofferproc.LoopbackDial(&net.Dialer{}, p.Addr)}}
	defer hc.CloseIdleConnections()
	base := "https://localhost:" + p.Port
	if slow := metricValue(t, hc, base, `coffer_connections_cut_total{reason="slow"}`); slow < clients/2 {
		t.Errorf("/metrics counts %v connections cut off for slowness, want most of %d", slow, clients)
	}
	if open := metricValue(t, hc, base, "coffer_connections_open"); open > 4 {
		t.Errorf("/metrics: %v connections still open after the slow clients were cut off", open)
	}
	if limit := metricValue(t, hc, base, "coffer_connections_limit"); limit != maxConns {
		t.Errorf("/metrics: coffer_connections_limit %v, want %d", limit, maxConns)
	}
	metricValue(t, hc, base, "coffer_connections_refused_total")
}
