package postgres_test

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/postgres/pgtest"
)

// TestReadsWhenUnreachable checks that a View's reads, whichever way they travel
// (without a snapshot: through the protocol layer, or a batch for many keys or on
// connections that prepare nothing; in a snapshot: a batch in a transaction), report a
// PostgreSQL that cannot be reached as storage.ErrUnavailable (the planes' 503), and work
// again once it can. Without a snapshot, a read on a pooled connection that died is read
// again on a new one, so it says what PostgreSQL's state is now, whichever way it went.
func TestReadsWhenUnreachable(t *testing.T) {
	for _, tc := range []struct {
		name     string
		apart    bool
		mode     string   // default_query_exec_mode, "" for pgx's default
		prefetch []string // read with "k"
	}{
		{"apart/prepared", true, "", []string{"absent"}},
		{"apart/many-keys", true, "", []string{"a1", "a2", "a3", "a4"}},
		{"apart/unprepared", true, "exec", []string{"absent"}},
		{"snapshot", false, "", []string{"absent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := freshDSN(t)
			if tc.mode != "" {
				dsn = pgtest.WithParam(t, dsn, "default_query_exec_mode", tc.mode)
			}
			dsn, p := throughProxy(t, dsn)
			db := open(t, dsn)
			ctx := t.Context()
			if err := db.Update(ctx, func(tx storage.Tx) error { return tx.Put("k", []byte("v")) }); err != nil {
				t.Fatal(err)
			}
			read := func() error {
				return db.View(ctx, func(tx storage.Tx) error {
					if tc.apart {
						storage.NoSnapshot(tx)
					}
					storage.Prefetch(tx, tc.prefetch...)
					_, err := tx.Get("k")
					return err
				})
			}
			if err := read(); err != nil { // leaves a connection in the pool
				t.Fatalf("read: %v", err)
			}
			p.cut()
			if tc.apart {
				if err := read(); !errors.Is(err, storage.ErrUnavailable) {
					t.Errorf("read on a dead pooled connection, PostgreSQL unreachable: %v; want ErrUnavailable", err)
				}
			} else {
				_ = read() // the dead pooled connection's end (a transaction cannot be read again)
			}
			if err := read(); !errors.Is(err, storage.ErrUnavailable) {
				t.Errorf("read with PostgreSQL unreachable: %v; want ErrUnavailable", err)
			}
			p.restore()
			if err := read(); err != nil {
				t.Errorf("read once PostgreSQL is reachable again: %v", err)
			}
		})
	}
}

// throughProxy starts a proxy to the server dsn names and returns dsn pointed at it
// (host and port replaced, in either form of DSN).
func throughProxy(t *testing.T, dsn string) (string, *proxy) {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))))
	host, port, _ := net.SplitHostPort(p.addr)
	return pgtest.WithParam(t, pgtest.WithParam(t, dsn, "host", host), "port", port), p
}

// proxy forwards loopback TCP connections to a PostgreSQL server until cut.
type proxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
}

// cut closes the listener and every forwarded connection: new connections are refused.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restore listens again on the same address.
func (p *proxy) restore() { p.listen(p.addr) }
