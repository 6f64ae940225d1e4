package identity_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

var (
	guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	t0     = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

const publicURL = "https://127.0.0.1:8443"

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func open(t testing.TB, st storage.Backend, clk clock.Clock) *identity.Service {
	t.Helper()
	s, err := identity.Open(t.Context(), st, identity.Options{
		PublicURL:   mustURL(t, publicURL),
		VaultDomain: "localhost",
		Clock:       clk,
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestOpenBootstrapsOnce(t *testing.T) {
	st := storagetest.NewMemory()
	st.Rerun = true // fn of Update must be side-effect free
	clk := clock.NewFake(t0)
	s1 := open(t, st, clk)

	if !guidRE.MatchString(s1.TenantID()) {
		t.Errorf("TenantID = %q, want a lower-case GUID", s1.TenantID())
	}
	c := s1.AdminCredentials()
	if c.TenantID != s1.TenantID() || !guidRE.MatchString(c.ClientID) || len(c.ClientSecret) < 43 {
		t.Errorf("AdminCredentials = %+v", c)
	}
	if c.AuthorityHost != publicURL+"/" {
		t.Errorf("AuthorityHost = %q, want %q", c.AuthorityHost, publicURL+"/")
	}
	b, _ := json.Marshal(c)
	for _, f := range []string{`"tenantId"`, `"clientId"`, `"clientSecret"`, `"authorityHost"`} {
		if !strings.Contains(string(b), f) {
			t.Errorf("credentials JSON %s lacks %s", b, f)
		}
	}
	if strings.Contains(string(b), "objectId") {
		t.Errorf("administrator credentials JSON has objectId: %s", b)
	}
	wantKeys := []string{"sys/principals/" + c.ClientID, "sys/tenant", "sys/token-keys"}
	if got := st.Keys(); strings.Join(got, ",") != strings.Join(wantKeys, ",") {
		t.Errorf("storage keys = %v, want %v", got, wantKeys)
	}

	s2 := open(t, st, clk)
	if s2.TenantID() != s1.TenantID() || s2.AdminCredentials() != c {
		t.Errorf("second Open: tenant %s admin %+v, want %s %+v", s2.TenantID(), s2.AdminCredentials(), s1.TenantID(), c)
	}
	if len(st.Keys()) != 3 {
		t.Errorf("second Open wrote keys: %v", st.Keys())
	}
}

func TestOpenConcurrentBootstrapAgrees(t *testing.T) {
	st := storagetest.NewMemory()
	clk := clock.NewFake(t0)
	const n = 8
	svcs := make([]*identity.Service, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { svcs[i] = open(t, st, clk) })
	}
	wg.Wait()
	for _, s := range svcs[1:] {
		if s.TenantID() != svcs[0].TenantID() || s.AdminCredentials() != svcs[0].AdminCredentials() {
			t.Fatalf("concurrent Opens disagree: %s vs %s", s.TenantID(), svcs[0].TenantID())
		}
	}
	// A token of one verifies on another: one key set.
	tok := getToken(t, svcs[0], svcs[0].AdminCredentials(), "https://localhost:8443/.default")
	if _, err := svcs[n-1].Verify(t.Context(), tok, identity.DataPlane); err != nil {
		t.Errorf("Verify on another Service: %v", err)
	}
}

func TestOpenRefusesIncompleteState(t *testing.T) {
	st := storagetest.NewMemory()
	s := open(t, st, clock.NewFake(t0))
	st.DeleteRaw("sys/principals/" + s.AdminCredentials().ClientID)
	_, err := identity.Open(t.Context(), st, identity.Options{PublicURL: mustURL(t, publicURL), VaultDomain: "localhost"})
	if err == nil || !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Open with missing administrator = %v, want a not-found error", err)
	}
	if got := len(st.Keys()); got != 2 {
		t.Errorf("Open rewrote state: %v", st.Keys())
	}
}

func TestOpenOptions(t *testing.T) {
	for _, tc := range []struct {
		name, url, domain string
		ok                bool
	}{
		{"ok/port", "https://127.0.0.1:8443", "localhost", true},
		{"ok/trailing-slash", "https://example.test/", "vault.test", true},
		{"fail/http", "http://127.0.0.1:8443", "localhost", false},
		{"fail/path", "https://127.0.0.1:8443/x", "localhost", false},
		{"fail/no-domain", "https://127.0.0.1:8443", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := identity.Open(t.Context(), storagetest.NewMemory(), identity.Options{PublicURL: mustURL(t, tc.url), VaultDomain: tc.domain})
			if (err == nil) != tc.ok {
				t.Fatalf("Open = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && strings.HasSuffix(s.AuthorityHost(), "//") {
				t.Errorf("AuthorityHost = %q", s.AuthorityHost())
			}
		})
	}
	if _, err := identity.Open(t.Context(), storagetest.NewMemory(), identity.Options{VaultDomain: "localhost"}); err == nil {
		t.Error("Open without PublicURL succeeded")
	}
}

func TestChallenge(t *testing.T) {
	s := open(t, storagetest.NewMemory(), clock.NewFake(t0))
	auth := `Bearer authorization="https://127.0.0.1:8443/` + s.TenantID() + `", resource=`
	for _, tc := range []struct{ host, resource string }{
		{"myvault.localhost:8443", `"https://localhost:8443"`},
		{"myvault.localhost:9000", `"https://localhost:9000"`},
		{"myvault.localhost:443", `"https://localhost"`},
		{"myvault.localhost", `"https://localhost"`},
		{"[::1]:8443", `"https://localhost:8443"`},
		{"[::1]", `"https://localhost"`},
		{"", `"https://localhost"`},
	} {
		if got, want := s.Challenge(tc.host), auth+tc.resource; got != want {
			t.Errorf("Challenge(%q) = %s, want %s", tc.host, got, want)
		}
	}
}
