package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/coffer/coffer/internal/testenv"
	"github.com/coffer/coffer/internal/testenv/cofferproc"
)

// rawRequest sends one HTTP/1.1 request over its own TLS connection to the server at
// addr with the Host line exactly as given (no Host line at all when host is "-"), and
// returns the answer.
func rawRequest(t *testing.T, addr, caPath, host, method, target, token string) (int, http.Header, string) {
	t.Helper()
	pool, err := cofferproc.CAPool(caPath)
	if err != nil {
		t.Fatal(err)
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{RootCAs: pool, ServerName: "localhost", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", method, target)
	if host != "-" {
		fmt.Fprintf(&b, "Host: %s\r\n", host)
	}
	if token != "" {
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", token)
	}
	b.WriteString("Connection: close\r\n\r\n")
	// Written on the side: the server may answer (a 431) and close before it has read
	// everything.
	go io.WriteString(conn, b.String())
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("Host %q: %v", host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// TestOddHostsNeverReachAnotherVault: a Host is matched exactly. The fully qualified
// form (a trailing dot) is the same vault, as in DNS; an empty label, a character no host
// name has, a bad port or no Host at all is a 400; a name under the vault domain that
// cannot be a vault is a 404; none of them is ever answered by the default vault. The
// bare address (the public URL's host, localhost, 127.0.0.1, ::1) still serves the
// default vault.
func TestOddHostsNeverReachAnotherVault(t *testing.T) {
	st := testenv.NewStack(t)
	u, _ := url.Parse(st.Server.URL())
	addr, port := u.Host, u.Port()

	path := "/subscriptions/" + testenv.DefaultSubscription + "/resourceGroups/coffer/providers/Microsoft.KeyVault/vaults/vone?api-version=2024-11-01"
	body := map[string]any{"location": "local", "properties": map[string]any{
		"tenantId": st.Creds.TenantID, "sku": map[string]string{"family": "A", "name": "standard"}, "accessPolicies": []any{}}}
	if status, _, b := st.ARM(t, "PUT", path, body); status != 201 {
		t.Fatalf("create vault vone: %d %s", status, b)
	}
	ctx := context.Background()
	for vault, value := range map[string]string{"default": "in-default", "vone": "in-vone"} {
		if _, err := st.Secrets(t, vault).SetSecret(ctx, "which", azsecrets.SetSecretParameters{Value: &value}, nil); err != nil {
			t.Fatalf("set the secret in %s: %v", vault, err)
		}
	}
	tok, err := st.Cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://localhost:" + port + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}

	const target = "/secrets/which?api-version=7.6"
	cases := []struct {
		host   string
		status int
		value  string // the secret's value on 200
		code   string // error.code otherwise
	}{
		{"vone.localhost:" + port, 200, "in-vone", ""},
		{"vone.localhost.:" + port, 200, "in-vone", ""},
		{"VONE.LocalHost.:" + port, 200, "in-vone", ""},
		{"vone.localhost.", 200, "in-vone", ""},
		{"vone.localhost:", 200, "in-vone", ""},
		{"localhost:" + port, 200, "in-default", ""},
		{"localhost.:" + port, 200, "in-default", ""},
		{"127.0.0.1:" + port, 200, "in-default", ""},
		{"[::1]:" + port, 200, "in-default", ""},
		{u.Host, 200, "in-default", ""},

		{".localhost:" + port, 400, "", "BadParameter"},
		{".localhost", 400, "", "BadParameter"},
		{"vone..localhost:" + port, 400, "", "BadParameter"},
		{"vone.localhost..:" + port, 400, "", "BadParameter"},
		{"vone.localhost:abc", 400, "", "BadParameter"},
		{"vone.localhost:" + port + ":" + port, 400, "", "BadParameter"},
		{"vone.localhost%2e:" + port, 400, "", "BadParameter"},
		{"vone.localhost!:" + port, 400, "", "BadParameter"},
		{"[::1", 400, "", "BadParameter"},
		{"", 400, "", "BadParameter"},            // an empty Host names no vault
		{"-", 400, "", ""},                       // no Host line: net/http refuses HTTP/1.1 without one
		{"vone.localhost :" + port, 400, "", ""}, // net/http refuses a space in a Host

		{"a.vone.localhost:" + port, 404, "", "VaultNotFound"},
		{"v.localhost:" + port, 404, "", "VaultNotFound"},
		{"x_y.localhost:" + port, 404, "", "VaultNotFound"},
		{"nosuchvault.localhost:" + port, 404, "", "VaultNotFound"},
	}
	for _, tc := range cases {
		status, h, b := rawRequest(t, addr, st.Server.CAPath(), tc.host, "GET", target, tok.Token)
		if strings.Contains(b, "in-default") && tc.value != "in-default" {
			t.Errorf("Host %q was answered by the default vault: %d %s", tc.host, status, b)
			continue
		}
		if status != tc.status {
			t.Errorf("Host %q: %d %s, want %d", tc.host, status, b, tc.status)
			continue
		}
		if tc.value != "" {
			var sec struct {
				Value string `json:"value"`
				ID    string `json:"id"`
			}
			if json.Unmarshal([]byte(b), &sec); sec.Value != tc.value {
				t.Errorf("Host %q answered %q, want %q", tc.host, sec.Value, tc.value)
			}
			if tc.value == "in-vone" && !strings.HasPrefix(sec.ID, "https://vone.localhost:"+port+"/") && !strings.HasPrefix(sec.ID, "https://vone.localhost/") {
				t.Errorf("Host %q: the id %q is not in the vault's one form", tc.host, sec.ID)
			}
		}
		if tc.code != "" {
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(b), &e); err != nil || e.Error.Code != tc.code || h.Get("x-ms-error-code") != tc.code || e.Error.Message == "" {
				t.Errorf("Host %q: %s (x-ms-error-code %q), want error.code %s with a message", tc.host, b, h.Get("x-ms-error-code"), tc.code)
			}
		}
	}

	// Over HTTP/2 too, the fully qualified form is the same vault.
	req, _ := http.NewRequest("GET", st.Server.URL()+target, nil)
	req.Host = "vone.localhost.:" + port
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err := st.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 || !strings.Contains(string(b), "in-vone") {
		t.Errorf("HTTP/2 with Host vone.localhost.: %s %d %s", resp.Proto, resp.StatusCode, b)
	}

	// Over HTTP/2, net/http hands the :authority to the handler unchecked (HTTP/1.1's
	// Host is checked and trimmed): a space, a tab, a slash arrive as sent. The same
	// requests, given to the server's handler as HTTP/2 would give them.
	for _, h := range []string{"vone.localhost :" + port, "vone.localhost\t", "localhost. ", "vone.localhost/x", "vone.localhost. "} {
		req := httptest.NewRequest("GET", "https://localhost"+target, nil)
		req.Host, req.Proto, req.ProtoMajor, req.ProtoMinor = h, "HTTP/2.0", 2, 0
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		w := httptest.NewRecorder()
		st.Server.ServeHTTP(w, req)
		if w.Code != 400 || strings.Contains(w.Body.String(), "in-default") || w.Header().Get("x-ms-error-code") != "BadParameter" {
			t.Errorf("HTTP/2 :authority %q: %d %s, want 400 BadParameter", h, w.Code, w.Body)
		}
	}

	// The paths that name no vault still answer without a Host.
	if status, _, b := rawRequest(t, addr, st.Server.CAPath(), "", "GET", "/healthz", ""); status != 200 {
		t.Errorf("/healthz with an empty Host: %d %s", status, b)
	}
}
