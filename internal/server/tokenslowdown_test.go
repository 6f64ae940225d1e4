package server_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/audit"
	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/testenv"
	"github.com/coffer/coffer/internal/testenv/cofferproc"
)

// clientFrom is an HTTP client whose connections go to the server at addr from the
// loopback address local (127.0.0.2, …: Linux answers all of 127/8 on lo), trusting the
// server's CA.
func clientFrom(t *testing.T, caPath, addr, local string) *http.Client {
	t.Helper()
	pool, err := cofferproc.CAPool(caPath)
	if err != nil {
		t.Fatal(err)
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// postToken posts a client-credentials request and returns status, Retry-After and body.
func postToken(t *testing.T, hc *http.Client, base, tenant, clientID, secret string) (int, string, string) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret},
		"scope": {"https://vault.azure.net/.default"}}
	resp, err := hc.Post(base+"/"+tenant+"/oauth2/v2.0/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
}

// TestTokenEndpointSlowsDownGuessing: through a real server, ten wrong secrets from one
// address slow that address down (429, Retry-After, AADSTS50053) while the administrator
// still gets a token from another; every refusal is audited and counted in /metrics;
// the server's clock moving on lets the address try again.
func TestTokenEndpointSlowsDownGuessing(t *testing.T) {
	clk := clock.NewFake(time.Now())
	rec := &audit.Recorder{}
	st := testenv.NewStack(t, testenv.Options{Config: func(c *server.Config) { c.Clock, c.Audit = clk, rec }})
	u, _ := url.Parse(st.Server.URL())
	base, tenant, adm := st.Server.URL(), st.Creds.TenantID, st.Creds

	guesser := clientFrom(t, st.Server.CAPath(), u.Host, "127.0.0.2")
	for i := range 10 {
		if status, _, b := postToken(t, guesser, base, tenant, adm.ClientID, "guess"); status != 401 {
			t.Fatalf("guess %d: %d %s, want 401", i+1, status, b)
		}
	}
	status, retry, b := postToken(t, guesser, base, tenant, adm.ClientID, "guess")
	if status != 429 || retry != "6" || !strings.Contains(b, "AADSTS50053") {
		t.Fatalf("the 11th guess: %d Retry-After %q %s, want 429 after 6 s", status, retry, b)
	}
	if status, _, b := postToken(t, guesser, base, tenant, adm.ClientID, adm.ClientSecret); status != 429 {
		t.Fatalf("the right secret from the slowed address: %d %s, want 429 (not even checked)", status, b)
	}
	if status, _, b := postToken(t, st.HTTP, base, tenant, adm.ClientID, adm.ClientSecret); status != 200 {
		t.Fatalf("the right secret from 127.0.0.1: %d %s", status, b)
	}

	resp, err := st.HTTP.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`coffer_token_requests_throttled_total{by="source"} 2`, `coffer_token_requests_throttled_total{by="client"} 0`,
		`coffer_requests_total{operation="IssueToken",plane="identity",status="429"} 2`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	var audited int
	for _, e := range rec.Events() {
		if e.Operation == "IssueToken" && e.Status == 429 {
			audited++
			if e.Decision != "denied: too many failed client authentications, slowed down" || !strings.HasPrefix(e.Source, "127.0.0.2:") ||
				e.Principal.ClientID != strings.ToLower(adm.ClientID) {
				t.Errorf("audit record of a refusal: %+v", e)
			}
		}
	}
	if audited != 2 {
		t.Errorf("%d refusals audited, want 2", audited)
	}

	clk.Advance(6 * time.Second)
	if status, _, b := postToken(t, guesser, base, tenant, adm.ClientID, adm.ClientSecret); status != 200 {
		t.Fatalf("the right secret 6 s later: %d %s", status, b)
	}
}
