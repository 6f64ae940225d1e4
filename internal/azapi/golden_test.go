package azapi

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/storage/bbolt"
	"github.com/coffer/coffer/internal/vault"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// goldenAPI is the data plane over real bbolt with a fixed clock, called as the
// administrator.
func goldenAPI(t *testing.T) func(method, path, body string) (int, []byte) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "coffer.db"), bbolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := clock.NewFake(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	svc, err := vault.Open(t.Context(), vault.Options{Storage: db, Clock: clk, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.EnsureVault(t.Context(), vault.Vault{Name: "golden", RetentionDays: 90}); err != nil {
		t.Fatal(err)
	}
	api := New(Options{Vaults: svc})
	p := plane.New(plane.Config{Name: "data", Header: ErrorHeader, Clock: clk, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Verify: func(context.Context, string) (plane.Principal, error) {
			return plane.Principal{ObjectID: "admin", Admin: true}, nil
		}})
	return func(method, path, body string) (int, []byte) {
		req := httptest.NewRequest(method, "https://golden.localhost:8443"+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer test")
		rec := httptest.NewRecorder()
		p.Serve(rec, req, func(w http.ResponseWriter, r *http.Request, c *plane.Call) error {
			return api.Serve(w, r, "golden", c)
		})
		return rec.Code, rec.Body.Bytes()
	}
}

var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`[0-9a-f]{32}`), "VERSION"},
	{regexp.MustCompile(`"(cer|csr|x5t|value|n|x|y)":"[^"]{20,}"`), `"$1":"BLOB"`},
	{regexp.MustCompile(`"(nbf|exp)":\d+`), `"$1":"DATE"`},
}

func checkGolden(t *testing.T, name string, body []byte) {
	t.Helper()
	for _, v := range volatile {
		body = v.re.ReplaceAll(body, []byte(v.with))
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		t.Fatalf("%s: not JSON: %s", name, body)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(want, buf.Bytes()) {
		t.Errorf("%s differs from %s:\n%s", name, path, buf.String())
	}
}

// TestGoldenBodies pins the wire shape of every kind of answer: bundles, list items,
// deleted bundles, certificate operation and policy, rotation policy, and errors.
func TestGoldenBodies(t *testing.T) {
	call := goldenAPI(t)
	const v = "?api-version=7.6"
	steps := []struct {
		name, method, path, body string
		status                   int
	}{
		{"secret-set", "PUT", "/secrets/s1" + v, `{"value":"v","contentType":"text/plain","tags":{"env":"dev"}}`, 200},
		{"secret-list", "GET", "/secrets" + v, "", 200},
		{"secret-deleted", "DELETE", "/secrets/s1" + v, "", 200},
		{"secret-conflict", "PUT", "/secrets/s1" + v, `{"value":"v"}`, 409},
		{"secret-not-found", "GET", "/secrets/nope" + v, "", 404},
		{"bad-api-version", "GET", "/secrets?api-version=6.0", "", 400},
		{"key-create", "POST", "/keys/k1/create" + v, `{"kty":"EC","crv":"P-256"}`, 200},
		{"key-list", "GET", "/keys" + v, "", 200},
		{"key-rotation-policy", "PUT", "/keys/k1/rotationpolicy" + v, `{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P30D"},"action":{"type":"Rotate"}}],"attributes":{"expiryTime":"P90D"}}`, 200},
		{"certificate-operation", "POST", "/certificates/c1/create" + v, `{"policy":{"x509_props":{"subject":"CN=golden"},"issuer":{"name":"Self"}}}`, 202},
		{"certificate", "GET", "/certificates/c1/" + v, "", 200},
		{"certificate-policy", "GET", "/certificates/c1/policy" + v, "", 200},
		{"certificate-list", "GET", "/certificates" + v, "", 200},
		{"certificate-pending-unknown", "POST", "/certificates/c2/create" + v, `{"policy":{"x509_props":{"subject":"CN=ext"},"issuer":{"name":"Unknown"}}}`, 202},
		{"certificate-deleted", "DELETE", "/certificates/c1" + v, "", 200},
		{"certificate-contacts", "PUT", "/certificates/contacts" + v, `{"contacts":[{"email":"ops@example.com","name":"Ops"}]}`, 200},
		{"certificate-issuer", "PUT", "/certificates/issuers/ca1" + v, `{"provider":"Test","credentials":{"account_id":"a","pwd":"secret"}}`, 200},
		{"certificate-issuers", "GET", "/certificates/issuers" + v, "", 200},
		{"certificate-operation-cancelled", "PATCH", "/certificates/c2/pending" + v, `{"cancellation_requested":true}`, 200},
		{"certificate-operation-deleted", "DELETE", "/certificates/c2/pending" + v, "", 200},
		{"certificate-no-operation", "GET", "/certificates/c2/pending" + v, "", 404},
	}
	for _, s := range steps {
		status, body := call(s.method, s.path, s.body)
		if status != s.status {
			t.Fatalf("%s: %d %s", s.name, status, body)
		}
		if s.name == "certificate-issuer" && bytes.Contains(body, []byte("secret")) {
			t.Fatal("the issuer's password is returned")
		}
		checkGolden(t, s.name, body)
	}
}
