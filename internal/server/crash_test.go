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
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
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

// dataPlaneToken is a raw data-plane access token, as the SDK would get it.
func (c *procClient) dataPlaneToken(t *testing.T) string {
	t.Helper()
	tok, err := c.cred.GetToken(t.Context(), tokenScope("https://localhost:"+c.p.Port))
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// get sends GET url with a bearer token and returns status and body.
func (c *procClient) get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
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
	bin := testenv.BuildCoffer(t)
	dir := dataDir(t)
	p := testenv.StartProcess(t, bin, dir)
	c := connect(t, p)
	ctx := t.Context()

	if _, err := c.secrets.SetSecret(ctx, "doomed", azsecrets.SetSecretParameters{Value: to.Ptr("bye")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.secrets.DeleteSecret(ctx, "doomed", nil); err != nil {
		t.Fatal(err)
	}
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
	p.Kill() // right after the last acknowledgement: nothing had time to settle

	acked := 0
	for i, err := range errs {
		if err != nil {
			t.Errorf("set %s (not acknowledged, so not checked after the crash): %v", names[i], err)
		} else {
			acked++
		}
	}

	p2 := testenv.StartProcess(t, bin, dir, "--addr", p.Addr)
	c2 := connect(t, p2)

	// The token issued before the crash is still valid.
	if status, body := c2.get(t, p2.VaultURL("default")+"secrets?api-version=7.6", oldToken); status != 200 {
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
	p2.Term()
}

// TestDataDirInUse: a second server on a data dir in use fails at once with "data dir
// in use", and the first keeps serving.
func TestDataDirInUse(t *testing.T) {
	t.Parallel()
	bin := testenv.BuildCoffer(t)
	dir := dataDir(t)
	p := testenv.StartProcess(t, bin, dir)

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
	c := connect(t, p)
	if _, err := c.secrets.SetSecret(t.Context(), "still-here", azsecrets.SetSecretParameters{Value: to.Ptr("yes")}, nil); err != nil {
		t.Fatalf("first server after the second start: %v", err)
	}
	p.Term()
}

// TestSIGTERM: SIGTERM stops the server with exit status 0, and a restart sees the data.
func TestSIGTERM(t *testing.T) {
	t.Parallel()
	bin := testenv.BuildCoffer(t)
	dir := dataDir(t)
	p := testenv.StartProcess(t, bin, dir)
	c := connect(t, p)
	value := "kept-" + randHex(t, 8)
	if _, err := c.secrets.SetSecret(t.Context(), "survivor", azsecrets.SetSecretParameters{Value: &value}, nil); err != nil {
		t.Fatal(err)
	}
	oldToken := c.dataPlaneToken(t)
	p.Term()
	if t.Failed() {
		return
	}

	p2 := testenv.StartProcess(t, bin, dir, "--addr", p.Addr)
	c2 := connect(t, p2)
	got, err := c2.secrets.GetSecret(t.Context(), "survivor", "", nil)
	if err != nil || *got.Value != value {
		t.Fatalf("after SIGTERM and restart: %v", err)
	}
	if status, body := c2.get(t, p2.VaultURL("default")+"secrets?api-version=7.6", oldToken); status != 200 {
		t.Errorf("token issued before the restart: %d %s", status, body)
	}
	p2.Term()
}
