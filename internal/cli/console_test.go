package cli_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/testenv"
)

// TestConsoleCommand: coffer console prints a single-use sign-in link for the logged-in
// principal; the link signs a browser in once.
func TestConsoleCommand(t *testing.T) {
	cleanEnv(t)
	st := testenv.NewStack(t)
	login(t, st)
	r := coffer(t, "console", "--no-browser").ok(t)
	link := strings.TrimSpace(r.out)
	if !strings.HasPrefix(link, st.Server.URL()+"/console/link?t=") || !strings.Contains(r.err, "signs in once") {
		t.Fatalf("coffer console: %q %q", r.out, r.err)
	}
	hc := *st.HTTP
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for i, want := range []int{http.StatusSeeOther, http.StatusUnauthorized} {
		resp, err := hc.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("use %d of the link: %d, want %d", i+1, resp.StatusCode, want)
		}
		if i == 0 && len(resp.Cookies()) != 1 {
			t.Fatalf("the link set no session cookie: %v", resp.Header)
		}
	}
}
