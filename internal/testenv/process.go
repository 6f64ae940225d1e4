package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/testenv/cofferproc"
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
		removeStaleBuilds()
		var err error
		if buildDir, err = os.MkdirTemp("", fmt.Sprintf("coffer-testbin-%d-", os.Getpid())); err != nil {
			buildErr = err
			return
		}
		bin := filepath.Join(buildDir, "coffer")
		if buildErr = cofferproc.Build(context.Background(), bin, raceEnabled(), nil); buildErr == nil {
			buildBin = bin
		}
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

// Process is `coffer server` running as a child process, tied to a test: its output is
// logged when the test fails and it is killed when the test ends. The start-up and the
// rest (Bin, DataDir, Addr, Port, URL, VaultURL, CAPath, CredentialsPath, Kill, Exited)
// are cofferproc's, which the benchmark shares.
type Process struct {
	*cofferproc.Process
	t   testing.TB
	out *lockedBuffer
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
	out := &lockedBuffer{}
	cp, err := cofferproc.Start(context.Background(), cofferproc.Config{
		Bin: bin, DataDir: dataDir, Args: extraArgs, Env: env, Output: out, ReadyTimeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatalf("coffer server: %v\n--- output ---\n%s", err, out.String())
	}
	p := &Process{Process: cp, t: t, out: out}
	t.Cleanup(func() {
		p.Process.Kill() // at once if it has exited already
		if t.Failed() {
			t.Logf("--- coffer server %s (data dir %s) output ---\n%s", p.Addr, p.DataDir, p.Output())
		}
	})
	return p
}

// Output is everything the child wrote to stdout and stderr so far.
func (p *Process) Output() string { return p.out.String() }

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Process) Kill() {
	p.t.Helper()
	p.Process.Kill()
}

// Term sends SIGTERM, waits (up to 20 s) for the process to exit, and fails the test
// unless it exited with status 0.
func (p *Process) Term() {
	p.t.Helper()
	if err := p.Stop(20 * time.Second); err != nil {
		p.t.Errorf("coffer server: %v", err)
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
