// Package cofferproc runs `coffer server` as a child process: it builds the binary,
// starts the server on a data dir and a free port, waits until /healthz answers, reads
// what the first start writes (the CA and bootstrap-credentials.json), gets a token and
// stops the server with SIGTERM.
//
// It is the one implementation of that start-up for the tests (through testenv.Process)
// and for the benchmark (bench/). It is a package of its own, without "testing", so that
// the benchmark's load generator links neither the test framework nor the Azure SDK and
// the server that testenv brings with it.
package cofferproc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/coffer/coffer/internal/identity"
)

// ModuleRoot returns the directory of the go.mod this program runs in, where
// ./cmd/coffer is.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the coffer module; run from the repository or pass -coffer")
	}
	return filepath.Dir(mod), nil
}

// Build runs `go build -o out ./cmd/coffer` in the module root, with -race when race is
// set (a test binary built with -race wants its server raced too). GOFLAGS and the rest
// of the environment apply. The compiler's output goes to w; with w nil it ends up in
// the error, so that a test's failure shows why.
func Build(ctx context.Context, out string, race bool, w io.Writer) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("no go command: %w", err)
	}
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	args := []string{"build", "-o", out}
	if race {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/coffer")
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = root
	var captured strings.Builder
	if w == nil {
		w = &captured
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		if captured.Len() > 0 {
			return fmt.Errorf("go build ./cmd/coffer: %w\n%s", err, captured.String())
		}
		return fmt.Errorf("go build ./cmd/coffer: %w", err)
	}
	return nil
}

// Config is one `coffer server` to start.
type Config struct {
	Bin     string
	DataDir string
	// Args are more flags of coffer server. Without an --addr among them the server gets
	// --addr 127.0.0.1:PORT on a free port.
	Args []string
	// Env (KEY=VALUE, e.g. COFFER_MASTER_KEY=…) is added to the environment the child
	// inherits.
	Env []string
	// Output receives the child's stdout and stderr (nil: discarded). An *os.File is
	// handed to the child as is, so that a chatty server costs the parent nothing.
	Output io.Writer
	// ReadyTimeout bounds the wait for /healthz; 0 means a minute.
	ReadyTimeout time.Duration
}

// Process is `coffer server` running as a child process.
type Process struct {
	Bin     string
	DataDir string
	Addr    string // 127.0.0.1:PORT
	Port    string

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been waited for
	err  error         // cmd.Wait's result, set before done closes
}

// Start starts the server and waits until GET /healthz answers 200 over TLS, trusting
// DATADIR/tls/ca.crt. When ready fails, the child is killed and gone. A port Start picked
// itself can be taken by another program between the probe and the child's bind (tests
// start servers in parallel): then it tries again with another, up to three times.
func Start(ctx context.Context, cfg Config) (*Process, error) {
	addr, fixed := addrArg(cfg.Args)
	for attempt := 0; ; attempt++ {
		a := addr
		if !fixed {
			var err error
			if a, err = freeAddr(); err != nil {
				return nil, err
			}
		}
		p, err := start(ctx, cfg, a, fixed)
		if err == nil {
			return p, nil
		}
		if p == nil || fixed || attempt >= 3 || !portTaken(a) {
			return nil, err
		}
	}
}

// addrArg finds an --addr among coffer server's flags.
func addrArg(args []string) (addr string, found bool) {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--addr="); ok {
			addr, found = v, true
		} else if a == "--addr" && i+1 < len(args) {
			addr, found = args[i+1], true
		}
	}
	return addr, found
}

// FreePort returns a port of 127.0.0.1 that nothing listens on at the moment.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func freeAddr() (string, error) {
	port, err := FreePort()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", port), nil
}

// portTaken says whether something else listens on addr now: the reason a child that
// exited before it was ready may have failed.
func portTaken(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return true
	}
	ln.Close()
	return false
}

func start(ctx context.Context, cfg Config, addr string, fixed bool) (*Process, error) {
	_, port, _ := net.SplitHostPort(addr)
	p := &Process{Bin: cfg.Bin, DataDir: cfg.DataDir, Addr: addr, Port: port, done: make(chan struct{})}
	args := []string{"server", "--data-dir", cfg.DataDir}
	if !fixed {
		args = append(args, "--addr", addr)
	}
	p.cmd = exec.Command(cfg.Bin, append(args, cfg.Args...)...)
	if len(cfg.Env) > 0 {
		p.cmd.Env = append(os.Environ(), cfg.Env...)
	}
	p.cmd.Stdout, p.cmd.Stderr = cfg.Output, cfg.Output
	p.cmd.SysProcAttr = ChildAttr()
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.Bin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	timeout := cfg.ReadyTimeout
	if timeout == 0 {
		timeout = time.Minute
	}
	if err := p.waitReady(ctx, timeout); err != nil {
		p.Kill()
		return p, err
	}
	return p, nil
}

// waitReady polls GET /healthz until it answers 200, the process exits, ctx ends or
// timeout passes.
func (p *Process) waitReady(ctx context.Context, timeout time.Duration) error {
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
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if last = p.healthy(); last == nil {
			return nil
		}
	}
}

func (p *Process) healthy() error {
	pool, err := CAPool(p.CAPath())
	if err != nil {
		return err
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

// CAPool returns a pool of the certificates of a PEM file, such as the CA a server
// writes to DATADIR/tls/ca.crt on its first start: the one root a client of it trusts.
func CAPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", path)
	}
	return pool, nil
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

// Credentials reads the administrator's bootstrap-credentials.json, which the server
// writes before it listens, so it is there once Start returns.
func (p *Process) Credentials() (identity.Credentials, error) {
	var c identity.Credentials
	b, err := os.ReadFile(p.CredentialsPath())
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", filepath.Base(p.CredentialsPath()), err)
	}
	return c, nil
}

// Token gets an access token of the administrator for scope (e.g.
// https://localhost:PORT/.default) by the client-credentials grant, the way any OAuth
// client does. The request goes to this process whatever host the credentials'
// authority names: behind a shared --public-url that host may be a port nothing
// listens on.
func (p *Process) Token(ctx context.Context, scope string) (string, error) {
	creds, err := p.Credentials()
	if err != nil {
		return "", err
	}
	pool, err := CAPool(p.CAPath())
	if err != nil {
		return "", err
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext:     LoopbackDial(&net.Dialer{}, p.Addr),
	}}
	defer hc.CloseIdleConnections()
	auth := creds.AuthorityHost
	if !strings.HasSuffix(auth, "/") {
		auth += "/"
	}
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {creds.ClientID},
		"client_secret": {creds.ClientSecret},
		"scope":         {scope},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, auth+creds.TenantID+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("token: %s %s", resp.Status, body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("token: no access_token in %s", body)
	}
	return tr.AccessToken, nil
}

// PID is the child's process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Process) Kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM, the signal a service manager stops the server with, and waits up
// to timeout for the process to exit; then it kills it. The error says what went wrong:
// the signal could not be sent (the process had exited already), the process outlived
// the timeout, or it exited with a status other than 0.
func (p *Process) Stop(timeout time.Duration) error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		<-p.done
		return fmt.Errorf("SIGTERM: %w", err)
	}
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("did not exit within %s of SIGTERM", timeout)
	}
	if p.err != nil {
		return fmt.Errorf("after SIGTERM: %v (want exit status 0)", p.err)
	}
	return nil
}

// LoopbackDial returns a DialContext for an http.Transport that dials through d. With
// pin (host:port) every connection goes there whatever the URL names (TLS still checks
// the URL's host), as through a load balancer; without, localhost and *.localhost dial
// 127.0.0.1, where the servers listen, since the C library of a stock image does not
// resolve a vault's V.localhost.
func LoopbackDial(d *net.Dialer, pin string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if pin != "" {
			addr = pin
		} else if h, port, err := net.SplitHostPort(addr); err == nil && (h == "localhost" || strings.HasSuffix(h, ".localhost")) {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return d.DialContext(ctx, network, addr)
	}
}
