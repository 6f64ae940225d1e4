package server_test

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/testenv"
	"github.com/coffer/coffer/internal/testenv/cofferproc"
)

// pacedBody hands out data chunk bytes at a time, one chunk every interval.
type pacedBody struct {
	data     []byte
	chunk    int
	interval time.Duration
	started  bool
}

func (p *pacedBody) Read(b []byte) (int, error) {
	if len(p.data) == 0 {
		return 0, io.EOF
	}
	if p.started {
		time.Sleep(p.interval)
	}
	p.started = true
	n := copy(b[:min(len(b), p.chunk)], p.data)
	p.data = p.data[n:]
	return n, nil
}

// paddedSecret is a secret-set body of about size bytes: a short value and JSON
// whitespace, as large as a certificate import.
func paddedSecret(size int) []byte {
	return []byte(`{"value":"padded"` + strings.Repeat(" ", size) + `}`)
}

// http1Client trusts the stack's CA and speaks HTTP/1.1 only.
func http1Client(t *testing.T, st *testenv.Stack) *http.Client {
	t.Helper()
	pool, err := cofferproc.CAPool(st.Server.CAPath())
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DialContext: cofferproc.LoopbackDial(&net.Dialer{}, ""),
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// TestBodyDeadlineFollowsTheRate: a request body has --body-timeout plus one second for
// each --min-body-rate bytes received. A large body that keeps coming fast enough passes
// however long it takes in all; one that trickles in slower is cut off soon after
// --body-timeout, over HTTP/1.1 and HTTP/2 (where only its stream is cut) alike.
func TestBodyDeadlineFollowsTheRate(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{Config: func(c *server.Config) {
		c.BodyTimeout, c.MinBodyRate = time.Second, 64<<10
	}})
	tok := "Bearer " + token(t, st.Cred, "https://vault.azure.net")
	target := st.Server.VaultURL("default") + "secrets/paced?api-version=7.6"
	put := func(hc *http.Client, body io.Reader, size int) (int, error, time.Duration) {
		req, _ := http.NewRequest("PUT", target, body)
		req.ContentLength = int64(size)
		req.Header.Set("Authorization", tok)
		req.Header.Set("Content-Type", "application/json")
		t0 := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err, time.Since(t0)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil, time.Since(t0)
	}

	// 300 KB at about 256 KiB/s: longer than --body-timeout, and passes.
	data := paddedSecret(300 << 10)
	status, err, took := put(http1Client(t, st), &pacedBody{data: data, chunk: 16 << 10, interval: 60 * time.Millisecond}, len(data))
	if err != nil || status != 200 {
		t.Fatalf("a 300 KB body at 256 KiB/s: %d %v after %v, want 200", status, err, took)
	}
	if took < time.Second {
		t.Logf("the paced body took only %v (the test wants it longer than --body-timeout)", took)
	}

	// The same body at 8 KiB/s is cut off at about 1.15 s.
	status, err, took = put(http1Client(t, st), &pacedBody{data: data, chunk: 1 << 10, interval: 125 * time.Millisecond}, len(data))
	if status == 200 || took > 4*time.Second {
		t.Errorf("a body at 8 KiB/s over HTTP/1.1: %d %v after %v, want it cut off within seconds", status, err, took)
	}

	// Over HTTP/2, a stream that sends a byte every 200 ms is cut off; the connection
	// goes on serving.
	slowBefore := metricValue(t, st.HTTP, st.Server.URL(), `coffer_connections_cut_total{reason="slow"}`)
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < 100; i++ {
			if _, err := pw.Write([]byte(" ")); err != nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("PUT", target, pr)
	req.ContentLength = 100
	req.Header.Set("Authorization", tok)
	req.Header.Set("Content-Type", "application/json")
	t0 := time.Now()
	resp, err := st.HTTP.Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode == 200 {
			t.Errorf("a trickling HTTP/2 stream: %s %d", resp.Proto, resp.StatusCode)
		}
	}
	pr.CloseWithError(io.ErrClosedPipe)
	if took := time.Since(t0); took > 4*time.Second {
		t.Errorf("a trickling HTTP/2 stream was answered after %v, want about 1 s", took)
	}
	if after := metricValue(t, st.HTTP, st.Server.URL(), `coffer_connections_cut_total{reason="slow"}`); after < slowBefore+1 {
		t.Errorf("/metrics: streams cut off for slowness %v → %v, want one more", slowBefore, after)
	}
	if status, _, b := st.Request(t, "GET", "/healthz", "", nil); status != 200 {
		t.Errorf("after the cut: /healthz %d %s", status, b)
	}
}

// TestOversizeHeaderGets431: request headers above --max-header-bytes (64 KiB by default)
// are answered 431 Request Header Fields Too Large, not served and not dropped silently.
func TestOversizeHeaderGets431(t *testing.T) {
	st := testenv.NewStack(t)
	u, _ := url.Parse(st.Server.URL())
	for _, tc := range []struct {
		size   int
		status int
	}{{40 << 10, 200}, {100 << 10, 431}, {900 << 10, 431}} {
		status, _, body := rawRequestHeaders(t, u.Host, st.Server.CAPath(), "localhost:"+u.Port(), "/healthz",
			"X-Big: "+strings.Repeat("x", tc.size))
		if status != tc.status {
			t.Errorf("a %d KiB header: %d %q, want %d", tc.size>>10, status, body, tc.status)
		}
	}
}

// rawRequestHeaders sends a GET over HTTP/1.1 with one extra header line.
func rawRequestHeaders(t *testing.T, addr, caPath, host, target, header string) (int, http.Header, string) {
	t.Helper()
	return rawRequest(t, addr, caPath, host+"\r\n"+header, "GET", target, "")
}
