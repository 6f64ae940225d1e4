package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/testenv"
)

// TestMultiServerConsole: the console's sessions and sign-in links live in the database,
// so two servers on one PostgreSQL serve one console — a session started through one is
// valid through the other, sign-out through one ends it on both, and a link made by one
// works once on whichever server the browser reaches.
func TestMultiServerConsole(t *testing.T) {
	c := newCluster(t, freshPostgres(t))
	a := c.start(t, t.TempDir())
	b := c.start(t, t.TempDir())
	noFollow := func(st *testenv.Stack) *http.Client {
		hc := *st.HTTP
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return &hc
	}
	ha, hb := noFollow(a), noFollow(b)
	send := func(hc *http.Client, method, path string, form url.Values, ck *http.Cookie) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(t.Context(), method, c.public+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if ck != nil {
			req.AddCookie(ck)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	cookie := func(resp *http.Response) *http.Cookie {
		t.Helper()
		for _, ck := range resp.Cookies() {
			if ck.Name == "__Host-coffer-console" && ck.Value != "" {
				return ck
			}
		}
		t.Fatalf("no session cookie: %d %v", resp.StatusCode, resp.Header)
		return nil
	}

	resp, _ := send(ha, "POST", "/console/sign-in", url.Values{"client_id": {a.Creds.ClientID}, "client_secret": {a.Creds.ClientSecret}}, nil)
	ck := cookie(resp)
	resp, page := send(hb, "GET", "/console/vaults", nil, ck)
	if resp.StatusCode != 200 {
		t.Fatalf("A's session on B: %d", resp.StatusCode)
	}
	tok := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if tok == nil {
		t.Fatal("no CSRF token on B's page")
	}
	if resp, _ := send(hb, "POST", "/console/sign-out", url.Values{"csrf": {tok[1]}}, ck); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out through B: %d", resp.StatusCode)
	}
	if resp, _ := send(ha, "GET", "/console/vaults", nil, ck); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/sign-in" {
		t.Fatalf("A after sign-out through B: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	status, _, body := a.ARM(t, "POST", "/admin/console-link", nil)
	var link struct{ URL string }
	if status != 200 || json.Unmarshal(body, &link) != nil || !strings.HasPrefix(link.URL, c.public+"/console/link?t=") {
		t.Fatalf("link from A: %d %s", status, body)
	}
	path := strings.TrimPrefix(link.URL, c.public)
	resp, _ = send(hb, "GET", path, nil, nil)
	cookie(resp)
	if resp, _ := send(ha, "GET", path, nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the link again, on A: %d", resp.StatusCode)
	}
}
