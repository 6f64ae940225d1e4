package server

import (
	"crypto/tls"
	"errors"
	"github.com/coffer/coffer/internal/clock"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// What keeps clients that send slowly, or hold connections open, from exhausting the
// server (the flags are in config.go):
//
//   - --max-connections: connLimiter hands the HTTP server at most that many connections.
//     At the cap it closes the connection idle the longest (a keep-alive connection between
//     requests loses nothing: clients open a new one) to make room; when none is idle it
//     waits up to --header-timeout for one to close, and otherwise closes the new one
//     unserved. Connections beyond it wait in the kernel's listen queue, costing the
//     server no file descriptor and no memory.
//   - --header-timeout: the TLS handshake and a request's headers (net/http).
//   - --body-timeout and --min-body-rate: deadlineBody, on every request body.
//   - --idle-timeout: a keep-alive connection between requests (net/http).
//
// Network deadlines are set against the real time, which is what the network compares
// them with, never against the server's clock (which tests replace): wall.

// wall is the clock network deadlines and idle times are read from.
var wall clock.Clock = clock.Real{}

// connLimiter is a listener that hands out at most cap(slots) connections at once.
type connLimiter struct {
	net.Listener
	slots chan struct{} // one token per connection handed out
	wait  time.Duration // how long an accepted connection waits for a slot
	m     *metrics

	done      chan struct{}
	closeOnce sync.Once

	mu      sync.Mutex
	idle    map[*trackedConn]time.Time // idle connections, and since when
	idleSig chan struct{}              // a connection became idle
}

func newConnLimiter(ln net.Listener, max int, wait time.Duration, m *metrics) *connLimiter {
	m.connLimit.Set(float64(max))
	return &connLimiter{Listener: ln, slots: make(chan struct{}, max), wait: wait, m: m,
		done: make(chan struct{}), idle: map[*trackedConn]time.Time{}, idleSig: make(chan struct{}, 1)}
}

// Accept returns the next connection once it has a slot; one that gets none within
// l.wait is closed unserved and counted as refused.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.acquire() {
			l.m.connOpen.Inc()
			return &trackedConn{Conn: c, l: l}, nil
		}
		c.Close()
		select {
		case <-l.done:
			return nil, net.ErrClosed
		default:
			l.m.connRefused.Inc()
		}
	}
}

// acquire takes a slot: a free one, or one freed by closing the connection idle the
// longest, or one that frees up within l.wait.
func (l *connLimiter) acquire() bool {
	var timeout <-chan time.Time
	for {
		select {
		case l.slots <- struct{}{}:
			return true
		default:
		}
		if l.evictIdle() {
			continue
		}
		if timeout == nil {
			t := time.NewTimer(l.wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case l.slots <- struct{}{}:
			return true
		case <-l.idleSig:
		case <-timeout:
			return false
		case <-l.done:
			return false
		}
	}
}

// evictIdle closes the connection idle the longest, if any.
func (l *connLimiter) evictIdle() bool {
	l.mu.Lock()
	var oldest *trackedConn
	var since time.Time
	for c, t := range l.idle {
		if oldest == nil || t.Before(since) {
			oldest, since = c, t
		}
	}
	if oldest != nil {
		delete(l.idle, oldest)
	}
	l.mu.Unlock()
	if oldest == nil {
		return false
	}
	oldest.evicted.Store(true)
	oldest.Close()
	return true
}

func (l *connLimiter) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// connState is the HTTP server's ConnState hook: it keeps the set of idle connections.
func (l *connLimiter) connState(c net.Conn, st http.ConnState) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	t, ok := c.(*trackedConn)
	if !ok {
		return
	}
	t.state.Store(int32(st))
	l.mu.Lock()
	if st == http.StateIdle {
		l.idle[t] = wall.Now()
	} else {
		delete(l.idle, t)
	}
	l.mu.Unlock()
	if st == http.StateIdle {
		select {
		case l.idleSig <- struct{}{}:
		default:
		}
	}
}

// longAgo: net/http aborts a pending read by setting a read deadline in the distant past;
// such a deadline is no client's slowness.
var longAgo = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// trackedConn is a connection the limiter handed out. It notices a read cut off by a
// deadline (the TLS handshake, a request's headers or body, or idleness) and gives its
// slot back when closed.
type trackedConn struct {
	net.Conn
	l            *connLimiter
	state        atomic.Int32 // the http.ConnState last reported
	readDeadline atomic.Int64 // the read deadline last set (Unix nanoseconds; 0: none)
	timedOut     atomic.Int32 // 1 + the state in which a read hit its deadline (0: none)
	evicted      atomic.Bool
	closeOnce    sync.Once
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && c.readDeadline.Load() > longAgo {
		c.timedOut.CompareAndSwap(0, c.state.Load()+1)
	}
	return n, err
}

func (c *trackedConn) SetReadDeadline(t time.Time) error {
	c.noteDeadline(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *trackedConn) SetDeadline(t time.Time) error {
	c.noteDeadline(t)
	return c.Conn.SetDeadline(t)
}

func (c *trackedConn) noteDeadline(t time.Time) {
	if t.IsZero() {
		c.readDeadline.Store(0)
	} else {
		c.readDeadline.Store(t.UnixNano())
	}
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() {
		c.l.mu.Lock()
		delete(c.l.idle, c)
		c.l.mu.Unlock()
		<-c.l.slots
		c.l.m.connOpen.Dec()
		switch s := c.timedOut.Load(); {
		case c.evicted.Load():
			c.l.m.connCut.WithLabelValues("evicted").Inc()
		case s == 0:
		case http.ConnState(s-1) == http.StateIdle:
			c.l.m.connCut.WithLabelValues("idle").Inc()
		default:
			c.l.m.connCut.WithLabelValues("slow").Inc()
		}
	})
	return err
}

// deadlineBody is a request body read under a deadline that moves with what arrives:
// the client has --body-timeout from the handler's first read, plus one second for each
// --min-body-rate bytes received. A body that keeps arriving at least that fast is never
// cut off, however large; one that stops, or trickles in slower, is. Before the first
// read the deadline is --body-timeout from the request's start, which also bounds what
// net/http reads of a body the handler left unread (after a 401, say). Once the whole
// body is in, the deadline is lifted: the handler may take its time.
type deadlineBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	grace time.Duration
	rate  float64 // bytes per second

	first time.Time // the handler's first read
	n     int64     // bytes received
	set   time.Time // the deadline in force
	done  bool      // the body has been read to its end
	slow  func()    // counts a stream cut off (HTTP/2; HTTP/1 connections count themselves)
}

// deadlineStep is how far the deadline must move before it is set again (setting it
// costs a message to HTTP/2's connection goroutine).
const deadlineStep = 250 * time.Millisecond

// limitBody puts r's body under its deadline; the returned function, called when the
// handler is done, gives a body left unread a last --body-timeout to be discarded in.
func (s *Server) limitBody(w http.ResponseWriter, r *http.Request) func() {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return func() {}
	}
	b := &deadlineBody{ReadCloser: r.Body, rc: http.NewResponseController(w), grace: s.cfg.BodyTimeout,
		rate: float64(s.cfg.MinBodyRate), set: wall.Now().Add(s.cfg.BodyTimeout)}
	if r.ProtoMajor == 2 {
		b.slow = func() { s.metrics.connCut.WithLabelValues("slow").Inc() }
	}
	if b.rc.SetReadDeadline(b.set) != nil {
		return func() {} // a ResponseWriter without deadlines (not net/http's)
	}
	r.Body = b
	return func() {
		if !b.done {
			b.rc.SetReadDeadline(wall.Now().Add(b.grace))
		}
	}
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.done {
		return b.ReadCloser.Read(p)
	}
	if b.first.IsZero() {
		b.first = wall.Now()
	}
	dl := b.first.Add(b.grace + time.Duration(float64(b.n)/b.rate*float64(time.Second)))
	if dl.Sub(b.set) >= deadlineStep {
		b.set = dl
		b.rc.SetReadDeadline(dl)
	}
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	switch {
	case err == io.EOF:
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded) && b.slow != nil:
		b.slow()
		b.slow = nil
	}
	return n, err
}
