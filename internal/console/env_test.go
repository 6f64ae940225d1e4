package console_test

import (
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/authz"
	"github.com/coffer/coffer/internal/azapi"
	"github.com/coffer/coffer/internal/barrier"
	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/console"
	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/storage/bbolt"
	"github.com/coffer/coffer/internal/vault"
)

// env is a console over a real store (bbolt in a temp dir, under the barrier), without a server: for the
// handler tests and the benchmark. The browser tests run against a whole server
// (internal/server/console_e2e_test.go).
type env struct {
	c       *console.Console
	clk     *clock.Fake
	vaults  *vault.Service
	ids     *identity.Service
	admin   identity.Credentials
	limited identity.Credentials // may list and get secrets in vault "shop" only
	roles   *rbac.Service
	oid     string // the limited principal's object id
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	ctx := tb.Context()
	raw, err := bbolt.Open(filepath.Join(tb.TempDir(), "coffer.db"), bbolt.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { raw.Close() })
	// Sealed as the server seals it, so that the benchmark pays what a server pays.
	kek := make([]byte, 32)
	rand.Read(kek)
	db, err := barrier.Open(ctx, raw, kek, barrier.Options{Create: true})
	if err != nil {
		tb.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	u, _ := url.Parse("https://127.0.0.1:8443")
	ids, err := identity.Open(ctx, db, identity.Options{PublicURL: u, VaultDomain: "localhost", Clock: clk})
	if err != nil {
		tb.Fatal(err)
	}
	vs, err := vault.Open(ctx, vault.Options{Storage: db, Clock: clk, TenantID: ids.TenantID()})
	if err != nil {
		tb.Fatal(err)
	}
	creds, p, err := ids.CreatePrincipal(ctx, "limited-app")
	if err != nil {
		tb.Fatal(err)
	}
	for _, v := range []vault.Vault{
		{Name: "shop", RetentionDays: 90, Location: "local", TenantID: ids.TenantID(), AccessPolicies: []authz.Policy{{
			TenantID: ids.TenantID(), ObjectID: p.ObjectID, Permissions: authz.Permissions{Secrets: []string{"get", "list"}}}}},
		{Name: "vault-locked", RetentionDays: 7, PurgeProtection: true, Location: "local", TenantID: ids.TenantID()},
	} {
		if _, _, err := vs.EnsureVault(ctx, v); err != nil {
			tb.Fatal(err)
		}
	}
	roles := rbac.New(db, clk.Now)
	c, err := console.New(console.Options{Vaults: vs, RBAC: roles, Principals: ids, Store: db, Clock: clk, Access: azapi.Access,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	return &env{c: c, clk: clk, vaults: vs, ids: ids, admin: ids.AdminCredentials(), limited: creds, roles: roles, oid: p.ObjectID}
}

// do sends one request to the console as a browser on 127.0.0.1 would.
func (e *env) do(method, target string, form url.Values, cookie *http.Cookie) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, "https://127.0.0.1:8443"+target, body)
	r.RemoteAddr = "127.0.0.1:5555"
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	e.c.ServeHTTP(w, r)
	return w
}

// signIn signs in with creds and returns the session cookie.
func (e *env) signIn(tb testing.TB, creds identity.Credentials) *http.Cookie {
	tb.Helper()
	w := e.do("POST", "/console/sign-in", url.Values{"client_id": {creds.ClientID}, "client_secret": {creds.ClientSecret}}, nil)
	if w.Code != http.StatusSeeOther {
		tb.Fatalf("sign in: %d %s", w.Code, w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == "__Host-coffer-console" {
			return c
		}
	}
	tb.Fatal("sign in set no session cookie")
	return nil
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from a page.
func csrf(tb testing.TB, page string) string {
	tb.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		tb.Fatalf("no CSRF token on the page: %.500s", page)
	}
	return m[1]
}
