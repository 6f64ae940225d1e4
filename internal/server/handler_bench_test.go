package server_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/coffer/coffer/internal/testenv"
)

// The handler benchmarks run the whole handler stack of a real server (authentication,
// the data plane, the vault domain, the barrier over bbolt with its fsyncs, the audit log
// on) without TLS and the network, whose cost is the bare server's too: what a request
// costs Coffer itself. cpu-ns/op is the process's CPU time (user and system) per
// operation, which other processes on a busy machine disturb far less than ns/op (wall
// time); allocs/op and B/op do not depend on the machine at all.
//
//	go test ./internal/server/ -run '^$' -bench Handler -benchmem

type handlerBench struct {
	st    *testenv.Stack
	host  string
	token string
}

func newHandlerBench(b *testing.B, names int) *handlerBench {
	st := testenv.NewStack(b)
	port := st.Server.URL()[strings.LastIndexByte(st.Server.URL(), ':')+1:]
	tok, err := st.Cred.GetToken(b.Context(), policy.TokenRequestOptions{Scopes: []string{"https://localhost:" + port + "/.default"}})
	if err != nil {
		b.Fatal(err)
	}
	h := &handlerBench{st: st, host: "default.localhost:" + port, token: tok.Token}
	for i := range names {
		h.do(b, "PUT", fmt.Sprintf("/secrets/bench-%05d", i), value(), 200)
	}
	return h
}

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs the parallel loop body and reports its CPU time per operation.
func measure(b *testing.B, parallelism int, body func(pb *testing.PB)) {
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	b.RunParallel(body)
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func value() string {
	v := make([]byte, 768)
	rand.Read(v)
	return `{"value":"` + base64.StdEncoding.EncodeToString(v) + `"}` // 1 KiB
}

func (h *handlerBench) do(b *testing.B, method, path, body string, want int) {
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, path+"?api-version=7.6", nil)
	} else {
		r = httptest.NewRequest(method, path+"?api-version=7.6", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	}
	r.Host = h.host
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("Authorization", "Bearer "+h.token)
	w := httptest.NewRecorder()
	h.st.Server.ServeHTTP(w, r)
	if w.Code != want {
		b.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
	}
}

const benchNames = 1000

func BenchmarkHandlerGetSecret(b *testing.B) {
	h := newHandlerBench(b, benchNames)
	var n atomic.Int64
	measure(b, 1, func(pb *testing.PB) {
		for pb.Next() {
			h.do(b, "GET", fmt.Sprintf("/secrets/bench-%05d", n.Add(1)%benchNames), "", 200)
		}
	})
}

func BenchmarkHandlerSetSecret(b *testing.B) {
	h := newHandlerBench(b, benchNames)
	body := value()
	var n atomic.Int64
	// 32 goroutines per CPU: concurrent writers share commits, as at c=64.
	measure(b, 32, func(pb *testing.PB) {
		for pb.Next() {
			h.do(b, "PUT", fmt.Sprintf("/secrets/bench-%05d", n.Add(1)%benchNames), body, 200)
		}
	})
}

func BenchmarkHandlerDeleteRecover(b *testing.B) {
	h := newHandlerBench(b, benchNames)
	var n atomic.Int64
	measure(b, 32, func(pb *testing.PB) {
		// Each goroutine owns the names k, k+P, k+2P, … (P goroutines), so that no two
		// delete the same secret.
		p := int64(32 * runtime.GOMAXPROCS(0))
		k := n.Add(1) - 1
		for i := k; pb.Next(); i += p {
			if i >= benchNames {
				i = k
			}
			name := fmt.Sprintf("/secrets/bench-%05d", i)
			h.do(b, "DELETE", name, "", 200)
			h.do(b, "POST", "/deletedsecrets/"+name[len("/secrets/"):]+"/recover", "", 200)
		}
	})
}
