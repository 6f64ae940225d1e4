package testenv

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The coffer binary is built once per test binary, into a directory of the OS temp dir
// named after the test process's pid. CleanupBuild (from a TestMain) removes it; without
// one, the next BuildCoffer removes the directories of processes that are gone.
var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

// BuildCoffer builds `coffer` (github.com/coffer/coffer/cmd/coffer) once per test binary
// and returns its path. GOFLAGS from the environment applies; a test binary built with
// -race builds coffer with -race too.
func BuildCoffer(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("no go command: %w", err)
			return
		}
		removeStaleBuilds()
		if buildDir, err = os.MkdirTemp("", fmt.Sprintf("coffer-testbin-%d-", os.Getpid())); err != nil {
			buildErr = err
			return
		}
		bin := filepath.Join(buildDir, "coffer")
		args := []string{"build", "-o", bin}
		if raceEnabled() {
			args = append(args, "-race")
		}
		args = append(args, "github.com/coffer/coffer/cmd/coffer")
		cmd := exec.Command(goBin, args...)
		cmd.Env = os.Environ() // GOFLAGS and the rest as given
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
			return
		}
		buildBin = bin
	})
	if buildErr != nil {
		t.Fatalf("build coffer: %v", buildErr)
	}
	return buildBin
}

// CleanupBuild removes the binary BuildCoffer made, if any. Call it from TestMain after
// m.Run.
func CleanupBuild() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

// removeStaleBuilds removes the build directories of test processes that have exited.
func removeStaleBuilds() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "coffer-testbin-*-*"))
	for _, d := range dirs {
		rest := strings.TrimPrefix(filepath.Base(d), "coffer-testbin-")
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(d)
		}
	}
}

func raceEnabled() bool {
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

// Process is `coffer server` running as a child process.
type Process struct {
	t       testing.TB
	Bin     string
	DataDir string
	Addr    string // 127.0.0.1:PORT
	Port    string

	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{} // closed when the process has been waited for
	err  error         // cmd.Wait's result, set before done closes
}

// StartProcess runs `BIN server --data-dir DATADIR --addr 127.0.0.1:PORT EXTRA...` and
// waits until GET /healthz answers 200 over TLS (trusting DATADIR/tls/ca.crt). Without an
// --addr in extraArgs it picks a free port. The child's output is logged if the test
// fails, and the child is killed at the end of the test if it still runs.
func StartProcess(t testing.TB, bin, dataDir string, extraArgs ...string) *Process {
	t.Helper()
	return StartProcessEnv(t, bin, dataDir, nil, extraArgs...)
}

// StartProcessEnv is StartProcess with env (KEY=VALUE, e.g. COFFER_MASTER_KEY=…) added
// to the environment the child inherits from the test.
func StartProcessEnv(t testing.TB, bin, dataDir string, env []string, extraArgs ...string) *Process {
	t.Helper()
	addr, fixed := "", false
	for i, a := range extraArgs {
		if v, ok := strings.CutPrefix(a, "--addr="); ok {
			addr, fixed = v, true
		} else if a == "--addr" && i+1 < len(extraArgs) {
			addr, fixed = extraArgs[i+1], true
		}
	}
	for attempt := 0; ; attempt++ {
		a := addr
		if !fixed {
			a = freeAddr(t)
		}
		p, err := startProcess(t, bin, dataDir, a, fixed, env, extraArgs)
		if err == nil {
			return p
		}
		// Another program may take the free port between our probe and the child's bind.
		if !fixed && attempt < 3 && strings.Contains(p.Output(), "address already in use") {
			continue
		}
		t.Fatalf("coffer server: %v\n--- output ---\n%s", err, p.Output())
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startProcess(t testing.TB, bin, dataDir, addr string, fixed bool, env, extra []string) (*Process, error) {
	_, port, _ := net.SplitHostPort(addr)
	p := &Process{t: t, Bin: bin, DataDir: dataDir, Addr: addr, Port: port, out: &lockedBuffer{}, done: make(chan struct{})}
	args := []string{"server", "--data-dir", dataDir}
	if !fixed {
		args = append(args, "--addr", addr)
	}
	args = append(args, extra...)
	p.cmd = exec.Command(bin, args...)
	if len(env) > 0 {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	if err := p.cmd.Start(); err != nil {
		return p, err
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			t.Logf("--- coffer server %s (data dir %s) output ---\n%s", p.Addr, p.DataDir, p.Output())
		}
	})
	if err := p.waitReady(20 * time.Second); err != nil {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
		return p, err
	}
	return p, nil
}

// waitReady polls GET /healthz until it answers 200, the process exits, or timeout.
func (p *Process) waitReady(timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last error = errors.New("no CA file yet")
	for {
		select {
		case <-p.done:
			return fmt.Errorf("exited before it was ready: %v", p.err)
		case <-deadline.C:
			return fmt.Errorf("not ready after %s: %v", timeout, last)
		case <-tick.C:
		}
		if last = p.healthy(); last == nil {
			return nil
		}
	}
}

func (p *Process) healthy() error {
	pem, err := os.ReadFile(p.CAPath())
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return errors.New("CA file holds no certificate yet")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	resp, err := c.Get(p.URL() + "/healthz")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("/healthz: %d", resp.StatusCode)
	}
	return nil
}

// URL is the bare address, https://127.0.0.1:PORT.
func (p *Process) URL() string { return "https://" + p.Addr }

// VaultURL is the data-plane URL of vault name (vault domain localhost).
func (p *Process) VaultURL(name string) string {
	return "https://" + net.JoinHostPort(name+".localhost", p.Port) + "/"
}

// CAPath is DATADIR/tls/ca.crt.
func (p *Process) CAPath() string { return filepath.Join(p.DataDir, "tls", "ca.crt") }

// CredentialsPath is DATADIR/bootstrap-credentials.json.
func (p *Process) CredentialsPath() string {
	return filepath.Join(p.DataDir, "bootstrap-credentials.json")
}

// Output is everything the child wrote to stdout and stderr so far.
func (p *Process) Output() string { return p.out.String() }

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Process) Kill() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Term sends SIGTERM, waits (up to 20 s) for the process to exit, and fails the test
// unless it exited with status 0.
func (p *Process) Term() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Errorf("SIGTERM: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		p.t.Errorf("coffer server did not exit within 20s of SIGTERM")
		return
	}
	if p.err != nil {
		p.t.Errorf("coffer server after SIGTERM: %v (want exit status 0)", p.err)
	}
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
