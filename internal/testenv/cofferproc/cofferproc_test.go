package cofferproc

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The benchmark is a main package without tests, so what it alone uses of this package
// (Token, Stop's status) is checked here against a real server.
func TestStartTokenStop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs coffer")
	}
	bin := filepath.Join(t.TempDir(), "coffer")
	if err := Build(t.Context(), bin, false, nil); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder // read only once the process is gone and its output copied
	p, err := Start(t.Context(), Config{Bin: bin, DataDir: t.TempDir(), Output: &out})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("coffer server output:\n%s", out.String())
		}
	})
	tok, err := p.Token(t.Context(), "https://localhost:"+p.Port+"/.default")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(tok, ".") != 2 {
		t.Errorf("token %.20q… is not a JWT", tok)
	}
	if err := p.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !p.Exited() {
		t.Error("Exited is false after Stop")
	}
}

func TestStartFails(t *testing.T) {
	_, err := Start(context.Background(), Config{Bin: "/bin/false", DataDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") {
		t.Fatalf("err = %v, want exited before it was ready", err)
	}
}

func TestAddrArg(t *testing.T) {
	for _, c := range []struct {
		args  []string
		addr  string
		found bool
	}{
		{nil, "", false},
		{[]string{"--audit-log", "off"}, "", false},
		{[]string{"--addr", "127.0.0.1:9"}, "127.0.0.1:9", true},
		{[]string{"--addr=127.0.0.1:8", "--storage", "x"}, "127.0.0.1:8", true},
		{[]string{"--addr"}, "", false},
	} {
		if addr, found := addrArg(c.args); addr != c.addr || found != c.found {
			t.Errorf("addrArg(%q) = %q, %v; want %q, %v", c.args, addr, found, c.addr, c.found)
		}
	}
}

func TestLoopbackDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	for _, c := range []struct{ pin, addr string }{
		{"", "default.localhost:" + port},
		{"", "localhost:" + port},
		{ln.Addr().String(), "example.invalid:1"},
	} {
		conn, err := LoopbackDial(&net.Dialer{Timeout: 5 * time.Second}, c.pin)(t.Context(), "tcp", c.addr)
		if err != nil {
			t.Errorf("pin %q, dial %s: %v", c.pin, c.addr, err)
			continue
		}
		if got := conn.RemoteAddr().String(); got != ln.Addr().String() {
			t.Errorf("pin %q, dial %s: connected to %s, want %s", c.pin, c.addr, got, ln.Addr())
		}
		conn.Close()
	}
}
