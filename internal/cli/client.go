package cli

// The client plumbing every client command shares. Client commands reach the server
// only through Microsoft's Azure SDK for Go — the SDK clients, or azcore's pipeline for
// Coffer's own routes — never through Coffer's server packages, so that they use the
// public contract as any Azure SDK program does (TestClientFilesImportNoServerPackage).

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
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Fixed values of Coffer's management plane: the audience of its ARM tokens, the
// subscription every server has, and the cloud-metadata route that tells the vault DNS
// suffix; and the name and version this client gives azcore's pipelines.
const (
	armAudience         = "https://management.azure.com"
	armScope            = armAudience + "/.default"
	defaultSubscription = "c0ffe000-0000-4000-8000-000000000000"
	metadataPath        = "/metadata/endpoints?api-version=2015-01-01"
	moduleName          = "coffer-cli"
	moduleVersion       = "v0.1.0"
)

// annotationClient marks a client command: Main explains its Azure SDK errors.
const annotationClient = "coffer.client"

// clientCommand marks cmd as a client command.
func clientCommand(cmd *cobra.Command) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[annotationClient] = "true"
	return cmd
}

// hintLogin is the hint for a client command that does not know its server.
var hintLogin = []string{
	"run: coffer login --server https://127.0.0.1:8443 --credentials DATA-DIR/bootstrap-credentials.json --ca DATA-DIR/tls/ca.crt",
	"or set COFFER_SERVER and COFFER_CREDENTIALS",
}

// clientOptions are the flags every client command shares.
type clientOptions struct {
	CA     string // --ca: overrides the profile's CA
	Output string // -o: json, table or tsv
}

func (o *clientOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.CA, "ca", "", "PEM file of the CA to trust (default: the profile's, then SSL_CERT_FILE and the system roots)")
	fs.StringVarP(&o.Output, "output", "o", "json", "output format: json, table or tsv")
}

// validate checks the flags that need no server.
func (o *clientOptions) validate() error {
	switch o.Output {
	case "json", "table", "tsv":
		return nil
	}
	return usageError(fmt.Errorf("unknown output format %q", o.Output), "use -o json, -o table or -o tsv")
}

// target is where a client command goes: the profile with the environment's overrides.
type target struct {
	Server      string
	Credentials string
	CA          string
}

// resolveTarget applies, in order of strength: --ca over the profile's CA;
// COFFER_SERVER and COFFER_CREDENTIALS over the profile's server and credentials.
func resolveTarget(caFlag string) (target, error) {
	p, path, perr := loadProfile()
	t := target{Server: p.Server, Credentials: p.Credentials, CA: p.CA}
	envServer, envCreds := os.Getenv("COFFER_SERVER"), os.Getenv("COFFER_CREDENTIALS")
	if perr != nil && (envServer == "" || envCreds == "") {
		return target{}, perr
	}
	if envServer != "" {
		t.Server = envServer
	}
	if envCreds != "" {
		t.Credentials = envCreds
	}
	if caFlag != "" {
		t.CA = caFlag
	}
	switch {
	case t.Server == "" && t.Credentials == "":
		where := "no profile"
		if path != "" {
			where = "no profile at " + path
		}
		return target{}, &hintError{err: fmt.Errorf("not logged in: %s", where), hints: hintLogin}
	case t.Server == "":
		return target{}, &hintError{err: errors.New("no server: the profile has none and COFFER_SERVER is unset"), hints: hintLogin}
	case t.Credentials == "":
		return target{}, &hintError{err: errors.New("no credentials: the profile has none and COFFER_CREDENTIALS is unset"), hints: hintLogin}
	}
	return t, nil
}

// credentialsFile has the shape of bootstrap-credentials.json and of the output of
// `coffer principal create`, so that either works as a credentials file.
type credentialsFile struct {
	TenantID      string `json:"tenantId"`
	ClientID      string `json:"clientId"`
	ClientSecret  string `json:"clientSecret"`
	ObjectID      string `json:"objectId,omitempty"`
	AuthorityHost string `json:"authorityHost"`
}

func readCredentials(path string) (credentialsFile, error) {
	var c credentialsFile
	b, err := os.ReadFile(path)
	if err != nil {
		return c, &hintError{err: fmt.Errorf("read credentials: %w", err),
			hints: []string{"the credentials file is DATA-DIR/bootstrap-credentials.json or the saved output of coffer principal create"}}
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, &hintError{err: fmt.Errorf("credentials file %s is not valid JSON", path),
			hints: []string{`it must be {"tenantId", "clientId", "clientSecret", "authorityHost"}`}}
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"tenantId", c.TenantID}, {"clientId", c.ClientID}, {"clientSecret", c.ClientSecret}, {"authorityHost", c.AuthorityHost}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return c, &hintError{err: fmt.Errorf("credentials file %s lacks %s", path, strings.Join(missing, ", ")),
			hints: []string{`it must be {"tenantId", "clientId", "clientSecret", "authorityHost"}`}}
	}
	u, err := url.Parse(c.AuthorityHost)
	if err != nil || u.Scheme != "https" || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return c, fmt.Errorf("credentials file %s: authorityHost %q must be https://HOST[:PORT]/", path, c.AuthorityHost)
	}
	if !strings.HasSuffix(c.AuthorityHost, "/") {
		c.AuthorityHost += "/"
	}
	return c, nil
}

// parseServer checks the bare address and returns it without a trailing "/".
func parseServer(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSuffix(s, "/"))
	if err != nil || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, &hintError{err: fmt.Errorf("server %q is not a URL of the form https://HOST[:PORT]", s),
			hints: []string{"give the server's bare address, e.g. https://127.0.0.1:8443"}}
	}
	if u.Scheme != "https" {
		return nil, &hintError{err: fmt.Errorf("server %q: Coffer serves HTTPS only", s),
			hints: []string{"use https://" + u.Host}}
	}
	return u, nil
}

// client is the plumbing shared by client commands: one transport, trusting the CA and
// dialling vault hosts at the server's own address; one azidentity credential; the
// azcore options the SDK clients take; and a pipeline for Coffer's own routes.
type client struct {
	server *url.URL // bare address, no trailing "/"
	creds  credentialsFile
	http   *http.Client
	cred   *azidentity.ClientSecretCredential
	admin  runtime.Pipeline

	mu     sync.Mutex
	suffix string // suffixes.keyVaultDns, e.g. ".localhost:8443"; "" until learned
	domain string // its host part, e.g. "localhost"
}

// newClient resolves the target (profile, environment, --ca) and builds the client.
func newClient(o *clientOptions) (*client, error) {
	t, err := resolveTarget(o.CA)
	if err != nil {
		return nil, err
	}
	return newClientFor(t)
}

func newClientFor(t target) (*client, error) {
	u, err := parseServer(t.Server)
	if err != nil {
		return nil, err
	}
	creds, err := readCredentials(t.Credentials)
	if err != nil {
		return nil, err
	}
	if os.Getenv("AZURE_REGIONAL_AUTHORITY_NAME") != "" {
		return nil, &hintError{err: errors.New("AZURE_REGIONAL_AUTHORITY_NAME is set: it makes azidentity look up login.microsoftonline.com"),
			hints: []string{"unset AZURE_REGIONAL_AUTHORITY_NAME for coffer"}}
	}
	pool, err := rootCAs(t.CA)
	if err != nil {
		return nil, err
	}
	c := &client{server: u, creds: creds}
	c.http = &http.Client{Transport: c.transport(pool)}
	opts := c.clientOptions()
	c.cred, err = azidentity.NewClientSecretCredential(creds.TenantID, creds.ClientID, creds.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	c.admin = runtime.NewPipeline(moduleName, moduleVersion, runtime.PipelineOptions{
		PerRetry: []policy.Policy{runtime.NewBearerTokenPolicy(c.cred, []string{armScope}, nil)},
	}, &opts)
	return c, nil
}

// rootCAs is the system roots plus SSL_CERT_FILE plus the CA file, when given.
func rootCAs(caPath string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	var files []string
	if f := os.Getenv("SSL_CERT_FILE"); f != "" {
		files = append(files, f)
	}
	if caPath != "" {
		files = append(files, caPath)
	}
	for _, f := range files {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, &hintError{err: fmt.Errorf("read CA: %w", err), hints: []string{"the CA of a Coffer server is DATA-DIR/tls/ca.crt"}}
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &hintError{err: fmt.Errorf("no PEM certificate in %s", f), hints: []string{"the CA of a Coffer server is DATA-DIR/tls/ca.crt"}}
		}
	}
	return pool, nil
}

// transport trusts pool and dials any host under the vault domain at the server's own
// address, keeping the vault host as SNI and Host: no DNS entry or /etc/hosts line is
// needed for V.localhost.
func (c *client) transport(pool *x509.CertPool) *http.Transport {
	serverHost := c.server.Hostname()
	serverAddr := c.server.Host
	if c.server.Port() == "" {
		serverAddr = net.JoinHostPort(serverHost, "443")
	}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy: func(r *http.Request) (*url.URL, error) {
			if c.isVaultHost(r.URL.Hostname()) {
				return nil, nil
			}
			return http.ProxyFromEnvironment(r)
		},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if h, _, err := net.SplitHostPort(addr); err == nil && !strings.EqualFold(h, serverHost) && c.isVaultHost(h) {
				addr = serverAddr
			}
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:       &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// isVaultHost reports whether host is under the vault domain, once that is known.
func (c *client) isVaultHost(host string) bool {
	c.mu.Lock()
	domain := c.domain
	c.mu.Unlock()
	return domain != "" && strings.HasSuffix(strings.ToLower(strings.TrimSuffix(host, ".")), "."+domain)
}

// clientOptions is the azcore configuration every SDK client and the admin pipeline
// share: Coffer's authority, the ARM endpoint at the server, and the one transport.
func (c *client) clientOptions() policy.ClientOptions {
	return policy.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: c.creds.AuthorityHost,
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: c.server.String(), Audience: armAudience},
			},
		},
		Transport: c.http,
		Telemetry: policy.TelemetryOptions{ApplicationID: "coffer"},
		// Fewer, shorter retries than azcore's default: a person is waiting, and token
		// requests retry inside every retry of the request that needs the token. A 429's
		// Retry-After is still honoured.
		Retry: policy.RetryOptions{MaxRetries: 2, RetryDelay: 250 * time.Millisecond, MaxRetryDelay: 5 * time.Second},
	}
}

// armOptions are the options of armkeyvault clients.
func (c *client) armOptions() *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: c.clientOptions()}
}

// vaultSuffix returns suffixes.keyVaultDns of the server's cloud metadata (e.g.
// ".localhost:8443"), fetching it once. Vault hosts are dialled at the server only after
// this has been learned.
func (c *client) vaultSuffix(ctx context.Context) (string, error) {
	c.mu.Lock()
	s := c.suffix
	c.mu.Unlock()
	if s != "" {
		return s, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.server.String()+metadataPath, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("cloud metadata of %s: %w", c.server, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var doc struct {
		Suffixes struct {
			KeyVaultDNS string `json:"keyVaultDns"`
		} `json:"suffixes"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &doc) != nil || !strings.HasPrefix(doc.Suffixes.KeyVaultDNS, ".") {
		return "", &hintError{err: fmt.Errorf("%s answered GET %s with %s and no suffixes.keyVaultDns", c.server, metadataPath, resp.Status),
			hints: []string{"is " + c.server.String() + " a Coffer server's bare address?"}}
	}
	s = doc.Suffixes.KeyVaultDNS
	u := url.URL{Host: strings.TrimPrefix(s, ".")}
	c.mu.Lock()
	c.suffix, c.domain = s, strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	c.mu.Unlock()
	return s, nil
}

// vaultURL is the data-plane URL of a vault, https://V.<domain>[:PORT]/.
func (c *client) vaultURL(ctx context.Context, name string) (string, error) {
	s, err := c.vaultSuffix(ctx)
	if err != nil {
		return "", err
	}
	return "https://" + strings.ToLower(name) + s + "/", nil
}

// call sends a request to one of Coffer's own routes through the admin pipeline (bearer
// token of the ARM audience). A status not in ok is an *azcore.ResponseError. in, when
// not nil, is sent as JSON; out, when not nil, receives the JSON answer.
func (c *client) call(ctx context.Context, method, path string, in, out any, ok ...int) error {
	req, err := runtime.NewRequest(ctx, method, c.server.String()+path)
	if err != nil {
		return err
	}
	req.Raw().Header.Set("Accept", "application/json")
	if in != nil {
		if err := runtime.MarshalAsJSON(req, in); err != nil {
			return err
		}
	}
	resp, err := c.admin.Do(req)
	if err != nil {
		return err
	}
	if !runtime.HasStatusCode(resp, ok...) {
		return runtime.NewResponseError(resp)
	}
	if out == nil {
		runtime.Drain(resp)
		return nil
	}
	return runtime.UnmarshalAsJSON(resp, out)
}

// newAdminListCommand is `list` of one of Coffer's own collections: path answers
// {"value": [...]}, printed as JSON or with table.
func newAdminListCommand[T any](args cobra.PositionalArgs, help cmdHelp, path string, table func([]T) func() table) *cobra.Command {
	opts := &clientOptions{}
	return newClientCommand(cmdSpec{
		use: "list", args: args, opts: opts, help: help,
		run: func(cmd *cobra.Command, c *client) error {
			items, err := adminList[T](cmd.Context(), c, path)
			if err != nil {
				return err
			}
			return printOut(cmd.OutOrStdout(), opts.Output, items, table(items))
		},
	})
}

// adminList reads a list from one of Coffer's own routes: {"value": [...]}, never null.
func adminList[T any](ctx context.Context, c *client, path string) ([]T, error) {
	var out struct {
		Value []T `json:"value"`
	}
	if err := c.call(ctx, http.MethodGet, path, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	if out.Value == nil {
		out.Value = []T{}
	}
	return out.Value, nil
}

// explain turns the errors of the Azure SDK into one line for the person at the
// terminal, with hints. Other errors pass unchanged.
func explain(err error) error {
	var h *hintError
	if err == nil || errors.As(err, &h) {
		return err
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		code, msg := re.ErrorCode, ""
		if re.RawResponse != nil {
			if b, rerr := runtime.Payload(re.RawResponse); rerr == nil {
				var e struct {
					Error struct{ Code, Message string }
				}
				if json.Unmarshal(b, &e) == nil {
					if e.Error.Code != "" {
						code = e.Error.Code
					}
					msg = e.Error.Message
				}
			}
		}
		text := http.StatusText(re.StatusCode)
		line := fmt.Sprintf("%d %s", re.StatusCode, text)
		if code != "" && code != strings.ReplaceAll(text, " ", "") {
			line += " (" + code + ")"
		}
		if msg != "" {
			line += ": " + msg
		}
		out := &hintError{err: errors.New(line), code: codeOfStatus(re.StatusCode)}
		switch re.StatusCode {
		case http.StatusUnauthorized:
			out.hints = []string{"the server refused the token: check the credentials (COFFER_CREDENTIALS or coffer login); a deleted principal's credentials stop working at once"}
		case http.StatusForbidden:
			path := ""
			if r := re.RawResponse; r != nil && r.Request != nil {
				path = strings.ToLower(r.Request.URL.Path)
			}
			switch {
			case strings.HasPrefix(path, "/admin/"):
				out.hints = []string{"Coffer's admin routes need the administrator's credentials (DATA-DIR/bootstrap-credentials.json)"}
			case strings.HasPrefix(path, "/subscriptions"), strings.HasPrefix(path, "/providers"):
				out.hints = []string{"on the management plane a role assignment must grant the action: coffer role assignment create --assignee OBJECT-ID --role ROLE --scope SCOPE (the administrator, Owner or User Access Administrator can make it)"}
			case strings.Contains(msg, "Action: '"):
				out.hints = []string{"the vault is decided by role assignments: a role granting the action at the vault or the object is needed (coffer role assignment create)"}
			default:
				out.hints = []string{"the principal lacks the permission: the administrator can grant it with coffer vault set-policy"}
			}
		}
		return out
	}
	var ae *azidentity.AuthenticationFailedError
	if errors.As(err, &ae) {
		line := "authentication failed"
		if ae.RawResponse != nil {
			if b, rerr := runtime.Payload(ae.RawResponse); rerr == nil {
				var e struct {
					Error       string `json:"error"`
					Description string `json:"error_description"`
				}
				if json.Unmarshal(b, &e) == nil && e.Error != "" {
					line += ": " + e.Error
					if e.Description != "" {
						line += ": " + firstLine(e.Description)
					}
				}
			}
		}
		return &hintError{err: errors.New(line), hints: []string{
			"check the credentials file (tenantId, clientId, clientSecret, authorityHost); a deleted principal's credentials no longer work",
		}}
	}
	s := err.Error()
	var ua x509.UnknownAuthorityError
	var cv *tls.CertificateVerificationError
	switch {
	case errors.As(err, &ua) || errors.As(err, &cv) || strings.Contains(s, "x509: certificate signed by unknown authority"):
		return &hintError{err: fmt.Errorf("the server's certificate is not trusted: %s", firstLine(s)), hints: []string{
			"pass --ca DATA-DIR/tls/ca.crt (or coffer login --ca), or set SSL_CERT_FILE",
		}}
	case strings.Contains(s, "connection refused") || strings.Contains(s, "no such host") || strings.Contains(s, "i/o timeout"):
		return &hintError{err: fmt.Errorf("cannot reach the server: %s", firstLine(s)), hints: []string{
			"is coffer server running at the address of the profile or COFFER_SERVER?",
		}}
	}
	return err
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

// absPath makes a path given on the command line absolute, so the profile works from
// any directory.
func absPath(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	a, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("path %s: %w", p, err)
	}
	return a, nil
}
