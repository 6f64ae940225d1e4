package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/testenv"
)

// procClient is what a user's program holds for a coffer server running as a process.
type procClient struct {
	p       *testenv.Process
	creds   identity.Credentials
	http    *http.Client
	cred    azcore.TokenCredential
	secrets *azsecrets.Client // vault "default"
}

// connect builds fresh clients (new transport, new token cache) for p.
func connect(t *testing.T, p *testenv.Process) *procClient {
	t.Helper()
	c := &procClient{p: p, creds: testenv.ReadCredentials(t, p.CredentialsPath())}
	c.http = testenv.HTTPClient(t, p.CAPath())
	c.cred = testenv.Credential(t, c.creds, c.http)
	s, err := azsecrets.NewClient(p.VaultURL("default"), c.cred, &azsecrets.ClientOptions{ClientOptions: testenv.ClientOptions(c.creds, c.http)})
	if err != nil {
		t.Fatal(err)
	}
	c.secrets = s
	return c
}

// startProc builds coffer and starts it on a data dir of its own (see dataDir), with
// clients.
func startProc(t *testing.T) *procClient {
	t.Helper()
	return connect(t, testenv.StartProcess(t, testenv.BuildCoffer(t), dataDir(t)))
}

// restart starts the server again on c's data dir and address (after c's process has
// stopped), with fresh clients.
func (c *procClient) restart(t *testing.T) *procClient {
	t.Helper()
	return connect(t, testenv.StartProcess(t, c.p.Bin, c.p.DataDir, "--addr", c.p.Addr))
}

// dataPlaneToken is a raw data-plane access token, as the SDK would get it.
func (c *procClient) dataPlaneToken(t *testing.T) string {
	t.Helper()
	return token(t, c.cred, "https://localhost:"+c.p.Port)
}

// listSecrets lists the default vault's secrets with a raw bearer token.
func (c *procClient) listSecrets(t *testing.T, token string) (int, string) {
	t.Helper()
	return send(t, c.http, "GET", c.p.VaultURL("default")+"secrets?api-version=7.6", token, "")
}

func randHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func dataDir(t *testing.T) string {
	// A directory coffer creates itself, so that its mode is coffer's doing.
	return filepath.Join(t.TempDir(), "data")
}

// TestCrashDurability: every write acknowledged before a SIGKILL, concurrent ones
// included, is there after a restart, deleted state stays deleted, and a token issued
// before the crash still works.
func TestCrashDurability(t *testing.T) {
	t.Parallel()
	c := startProc(t)
	ctx := t.Context()

	setValue(t, c.secrets, "doomed", "bye")
	deleteSecret(t, c.secrets, "doomed")
	oldToken := c.dataPlaneToken(t)

	const n = 200
	names, values := make([]string, n), make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("crash-%03d", i)
		values[i] = fmt.Sprintf("value-%03d-%s", i, randHex(t, 8))
	}
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = c.secrets.SetSecret(ctx, names[i], azsecrets.SetSecretParameters{Value: &values[i]}, nil)
		})
	}
	close(start)
	wg.Wait()
	c.p.Kill() // right after the last acknowledgement: nothing had time to settle

	acked := 0
	for i, err := range errs {
		if err != nil {
			t.Errorf("set %s (not acknowledged, so not checked after the crash): %v", names[i], err)
		} else {
			acked++
		}
	}

	c2 := c.restart(t)

	// The token issued before the crash is still valid.
	if status, body := c2.listSecrets(t, oldToken); status != 200 {
		t.Errorf("token issued before the crash: %d %s", status, body)
	}

	// Every acknowledged write is there, with its value.
	sem := make(chan struct{}, 32)
	var mu sync.Mutex
	var lost []string
	for i := range n {
		if errs[i] != nil {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			got, err := c2.secrets.GetSecret(ctx, names[i], "", nil)
			if err != nil || got.Value == nil || *got.Value != values[i] {
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					lost = append(lost, fmt.Sprintf("%s: %v", names[i], errors.Unwrap(err)))
				} else {
					lost = append(lost, fmt.Sprintf("%s: value %v, want %q", names[i], got.Value, values[i]))
				}
			}
		})
	}
	wg.Wait()
	if len(lost) > 0 {
		t.Errorf("%d of %d acknowledged writes lost or wrong after SIGKILL; first: %s", len(lost), acked, strings.Join(lost[:min(5, len(lost))], "; "))
	}

	// Deleted state is kept.
	if _, err := c2.secrets.GetDeletedSecret(ctx, "doomed", nil); err != nil {
		t.Errorf("deleted secret after the crash: %v", err)
	}
	_, err := c2.secrets.GetSecret(ctx, "doomed", "", nil)
	wantCode(t, err, 404, "SecretNotFound")
	c2.p.Term()
}

// TestDataDirInUse: a second server on a data dir in use fails at once with "data dir
// in use", and the first keeps serving.
func TestDataDirInUse(t *testing.T) {
	t.Parallel()
	c := startProc(t)
	bin, dir := c.p.Bin, c.p.DataDir

	// Another process.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	began := time.Now()
	out, err := exec.CommandContext(ctx, bin, "server", "--data-dir", dir, "--addr", "127.0.0.1:0").CombinedOutput()
	took := time.Since(began)
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() <= 0 {
		t.Fatalf("second server on the same data dir: %v after %s, want a non-zero exit\n%s", err, took, out)
	}
	if !strings.Contains(string(out), "data dir in use") {
		t.Errorf("second server's message lacks \"data dir in use\":\n%s", out)
	}
	if took > 5*time.Second {
		t.Errorf("second server took %s to give up; want it to fail at once", took)
	}

	// The same in-process.
	began = time.Now()
	srv, err := server.New(t.Context(), server.Config{DataDir: dir, Addr: "127.0.0.1:0", Log: discardLog()})
	if err == nil {
		srv.Close()
		t.Fatal("server.New on a data dir in use succeeded")
	}
	if !strings.Contains(err.Error(), "data dir in use") || time.Since(began) > 5*time.Second {
		t.Errorf("server.New on a data dir in use: %v after %s", err, time.Since(began))
	}

	// The first server is unharmed.
	setValue(t, c.secrets, "still-here", "yes")
	c.p.Term()
}

// TestSIGTERM: SIGTERM stops the server with exit status 0, and a restart sees the data.
func TestSIGTERM(t *testing.T) {
	t.Parallel()
	c := startProc(t)
	value := "kept-" + randHex(t, 8)
	setValue(t, c.secrets, "survivor", value)
	oldToken := c.dataPlaneToken(t)
	c.p.Term()
	if t.Failed() {
		return
	}

	c2 := c.restart(t)
	got, err := c2.secrets.GetSecret(t.Context(), "survivor", "", nil)
	if err != nil || *got.Value != value {
		t.Fatalf("after SIGTERM and restart: %v", err)
	}
	if status, body := c2.listSecrets(t, oldToken); status != 200 {
		t.Errorf("token issued before the restart: %d %s", status, body)
	}
	c2.p.Term()
}
