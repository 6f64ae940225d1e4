// Package testenv starts whole Coffer servers for tests and hands out clients built the
// way a user's program builds them: Microsoft's azidentity and Key Vault SDKs over real
// TLS, trusting the server's own CA.
package testenv

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/testenv/cofferproc"
)

// Stack is a running server and the client plumbing to reach it.
type Stack struct {
	Server  *server.Server
	DataDir string
	Creds   identity.Credentials
	HTTP    *http.Client // trusts the CA; dials 127.0.0.1 for *.localhost
	Cred    azcore.TokenCredential

	stop func()
}

// Stop shuts the server down (SIGTERM-like) and waits; the test's cleanup does it too.
func (s *Stack) Stop() { s.stop() }

// Options tune NewStack.
type Options struct {
	DataDir string // "" → t.TempDir()
	Config  func(*server.Config)
}

// NewStack starts a server with --allow-time-shift on a fresh data dir and stops it at
// the end of the test.
func NewStack(t testing.TB, opts ...Options) *Stack {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	cfg := server.Config{
		DataDir:        o.DataDir,
		Addr:           "127.0.0.1:0",
		AllowTimeShift: true,
		Log:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		SweepInterval:  time.Hour, // tests call Sweep themselves
	}
	if o.Config != nil {
		o.Config(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("start server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server stopped with: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	s := &Stack{Server: srv, DataDir: o.DataDir, stop: stop}
	s.Creds = ReadCredentials(t, srv.CredentialsPath())
	s.HTTP = HTTPClient(t, srv.CAPath())
	s.Cred = Credential(t, s.Creds, s.HTTP)
	return s
}

// ReadCredentials reads a bootstrap-credentials.json.
func ReadCredentials(t testing.TB, path string) identity.Credentials {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c identity.Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// HTTPClient trusts the CA file and maps localhost and *.localhost to 127.0.0.1, as a
// user's program against Coffer does: a vault's host is V.localhost, which the C
// library of a stock image does not resolve.
func HTTPClient(t testing.TB, caPath string) *http.Client {
	t.Helper()
	pool, err := cofferproc.CAPool(caPath)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2:   true,
		DialContext:         cofferproc.LoopbackDial(&net.Dialer{}, ""),
		MaxIdleConnsPerHost: 128,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// ClientOptions is the azcore configuration pointing at Coffer.
func ClientOptions(creds identity.Credentials, hc *http.Client) policy.ClientOptions {
	arm := strings.TrimSuffix(creds.AuthorityHost, "/")
	return policy.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: creds.AuthorityHost,
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: arm, Audience: "https://management.azure.com"},
			},
		},
		Transport: hc,
	}
}

// Credential is azidentity's unmodified client-secret credential.
func Credential(t testing.TB, creds identity.Credentials, hc *http.Client) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(creds.TenantID, creds.ClientID, creds.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: ClientOptions(creds, hc), DisableInstanceDiscovery: true})
	return must(t, cred, err)
}

// Secrets returns an azsecrets client for vault, with the SDK's default challenge
// resource verification on.
func (s *Stack) Secrets(t testing.TB, vault string) *azsecrets.Client {
	t.Helper()
	c, err := azsecrets.NewClient(s.Server.VaultURL(vault), s.Cred, &azsecrets.ClientOptions{ClientOptions: s.options()})
	return must(t, c, err)
}

// ARMToken returns an ARM-audience token of the administrator.
func (s *Stack) ARMToken(t testing.TB) string {
	t.Helper()
	tok, err := s.Cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// ShiftTime moves the vault clock forward by d through POST /admin/time-shift.
func (s *Stack) ShiftTime(t testing.TB, d time.Duration) {
	t.Helper()
	body := fmt.Sprintf(`{"seconds":%d}`, int64(d/time.Second))
	req, _ := http.NewRequest("POST", s.Server.URL()+"/admin/time-shift", bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+s.ARMToken(t))
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("time shift: %d %s", resp.StatusCode, b)
	}
}

// options is ClientOptions for the stack's administrator and HTTP client.
func (s *Stack) options() policy.ClientOptions { return ClientOptions(s.Creds, s.HTTP) }

// must returns v, or fails the test with err: the SDK's constructors return both.
func must[T any](t testing.TB, v T, err error) T {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Path joins the data dir and a file name.
func (s *Stack) Path(name string) string { return filepath.Join(s.DataDir, name) }

// Keys returns an azkeys client for vault.
func (s *Stack) Keys(t testing.TB, vault string) *azkeys.Client {
	t.Helper()
	c, err := azkeys.NewClient(s.Server.VaultURL(vault), s.Cred, &azkeys.ClientOptions{ClientOptions: s.options()})
	return must(t, c, err)
}

// Certificates returns an azcertificates client for vault.
func (s *Stack) Certificates(t testing.TB, vault string) *azcertificates.Client {
	t.Helper()
	c, err := azcertificates.NewClient(s.Server.VaultURL(vault), s.Cred, &azcertificates.ClientOptions{ClientOptions: s.options()})
	return must(t, c, err)
}
