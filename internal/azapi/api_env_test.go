package azapi

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/audit"
	"github.com/coffer/coffer/internal/authz"
	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/bbolt"
	"github.com/coffer/coffer/internal/vault"
)

// The tests in the api_*_test.go files drive the data plane end to end: a vault.Service
// over a real bbolt file, a fake clock, an audit sink that keeps what it is given, and
// every request through env.do, the one place that calls the API's entry point.

// start is the fake clock's time when an env is made: 1780315200 in Unix seconds.
var start = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

const testAPIVersion = "7.6"

// A client is who calls and which vault the request addresses.
type client struct {
	vault string
	plane.Principal
}

// in returns c addressing another vault.
func (c client) in(vaultName string) client { c.vault = vaultName; return c }

// The vaults of every env: "az" (no purge protection, 90 days, an access policy for
// reader) and "pp" (purge protection, 7 days).
var (
	admin    = client{"az", plane.Principal{ObjectID: "admin-oid", Admin: true}}
	reader   = client{"az", plane.Principal{ClientID: "reader-app", ObjectID: "reader-oid"}}
	stranger = client{"az", plane.Principal{ClientID: "stranger-app", ObjectID: "stranger-oid"}}
)

// env is one data plane with its own storage, clock, audit sink and log.
type env struct {
	api   *API
	svc   *vault.Service
	clk   *clock.Fake
	sink  *recordingSink
	store *failingStore
	log   *bytes.Buffer
	// plane is the adapter the server puts in front of the data plane, authenticating
	// every request as who.
	plane func(who plane.Principal) *plane.Plane
}

// recordingSink keeps every record, except that records of the phase refuse fail.
type recordingSink struct {
	audit.Recorder
	refuse string
}

func (s *recordingSink) Record(ctx context.Context, e audit.Event) error {
	if e.Phase == s.refuse {
		return errors.New("audit: disk full")
	}
	return s.Recorder.Record(ctx, e)
}

// failingStore is bbolt, except that every Update fails with updateErr while it is set,
// writing nothing.
type failingStore struct {
	storage.Backend
	updateErr error
}

func (s *failingStore) Update(ctx context.Context, fn func(storage.Tx) error) error {
	if s.updateErr != nil {
		return s.updateErr
	}
	return s.Backend.Update(ctx, fn)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "coffer.db"), bbolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{clk: clock.NewFake(start), sink: &recordingSink{}, store: &failingStore{Backend: db}, log: &bytes.Buffer{}}
	logger := slog.New(slog.NewTextHandler(e.log, nil))
	svc, err := vault.Open(t.Context(), vault.Options{Storage: e.store, Clock: e.clk, Log: logger})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []vault.Vault{
		{Name: "az", RetentionDays: 90, Location: "westeurope", AccessPolicies: []authz.Policy{
			{ObjectID: "reader-oid", Permissions: authz.Permissions{Secrets: []string{"Get", "list"}, Keys: []string{"all"}}}}},
		{Name: "pp", RetentionDays: 7, PurgeProtection: true, Location: "northeurope"},
	} {
		if _, _, err := svc.EnsureVault(t.Context(), v); err != nil {
			t.Fatal(err)
		}
	}
	e.api, e.svc = New(Options{Vaults: svc}), svc
	e.plane = func(who plane.Principal) *plane.Plane {
		return plane.New(plane.Config{Name: "data", Header: ErrorHeader, Audit: e.sink, Clock: e.clk, Log: logger,
			Verify: func(context.Context, string) (plane.Principal, error) { return who, nil }})
	}
	return e
}

// do is the only call of the API's entry point. A path without a query gets
// api-version=7.6; a path with one is sent as written. body is nil, a string sent as
// is, or a value sent as JSON.
func (e *env) do(t *testing.T, c client, method, path string, body any) *httptest.ResponseRecorder {
	t.Helper()
	if !strings.Contains(path, "?") {
		path += "?api-version=" + testAPIVersion
	}
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, vaultURL(c.vault)+path, rd)
	req.Header.Set("Authorization", "Bearer test")
	rec := httptest.NewRecorder()
	e.plane(c.Principal).Serve(rec, req, func(w http.ResponseWriter, r *http.Request, call *plane.Call) error {
		return e.api.Serve(w, r, c.vault, call)
	})
	return rec
}

// must is do for a step that prepares a test: it fails the test unless the answer has
// status.
func (e *env) must(t *testing.T, status int, c client, method, path string, body any) map[string]any {
	t.Helper()
	rec := e.do(t, c, method, path, body)
	if rec.Code != status {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, rec.Code, status, rec.Body)
	}
	return jsonOf(t, rec)
}

func vaultURL(name string) string { return "https://" + name + ".vault.coffer.test" }

// jsonOf decodes an answer's body; an empty body is nil.
func jsonOf(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if rec.Body.Len() == 0 {
		return nil
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %s", err, rec.Body)
	}
	return m
}

// field walks a dotted path ("attributes.enabled", "value.0.id") through decoded JSON.
func field(v any, path string) (any, bool) {
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[p]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// str is the string at path, or "".
func str(m map[string]any, path string) string {
	v, _ := field(m, path)
	s, _ := v.(string)
	return s
}

// Markers for fieldsAre: the field is missing, or there with any value.
type marker int

const (
	absent marker = iota + 1
	present
)

// fieldsAre checks each path of want: a marker, or a value that must equal the field once
// both have been through JSON (so 5 matches 5.0 and a []string matches a JSON array).
func fieldsAre(t *testing.T, m map[string]any, want map[string]any) {
	t.Helper()
	for path, w := range want {
		got, ok := field(m, path)
		switch w {
		case absent:
			if ok {
				t.Errorf("%s = %v, want no such field", path, got)
			}
			continue
		case present:
			if !ok {
				t.Errorf("%s is missing", path)
			}
			continue
		}
		if !ok {
			t.Errorf("%s is missing, want %v", path, w)
		} else if n := viaJSON(t, w); !reflect.DeepEqual(got, n) {
			t.Errorf("%s = %#v, want %#v", path, got, n)
		}
	}
}

func viaJSON(t *testing.T, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// apiErr is the error an answer must carry: status, error.code, innererror.code ("" for
// none) and words its message must contain.
type apiErr struct {
	status      int
	code, inner string
	says        []string
}

func wantErr(t *testing.T, rec *httptest.ResponseRecorder, w apiErr) {
	t.Helper()
	if rec.Code != w.status {
		t.Errorf("status %d, want %d: %s", rec.Code, w.status, rec.Body)
	}
	if got := rec.Header().Get("x-ms-error-code"); got != w.code {
		t.Errorf("x-ms-error-code %q, want %q", got, w.code)
	}
	m := jsonOf(t, rec)
	inner := any(absent)
	if w.inner != "" {
		inner = w.inner
	}
	fieldsAre(t, m, map[string]any{"error.code": w.code, "error.innererror.code": inner})
	msg := str(m, "error.message")
	for _, s := range w.says {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q does not say %q", msg, s)
		}
	}
}

// lastEvent is the last audit record kept.
func (e *env) lastEvent(t *testing.T) audit.Event {
	t.Helper()
	evs := e.sink.Events()
	if len(evs) == 0 {
		t.Fatal("no audit record")
	}
	return evs[len(evs)-1]
}

// enc encodes bytes as the wire's base64url.
func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// dec decodes a base64url field of an answer.
func dec(t *testing.T, m map[string]any, path string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(str(m, path))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

// issue signs a certificate for pub with subject cn: self-signed when parent is nil.
func issue(t *testing.T, cn string, pub crypto.PublicKey, parent *x509.Certificate, signer crypto.Signer, ca bool) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: start.Add(-time.Hour), NotAfter: start.AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: ca,
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// selfSignedPEM is a PEM certificate with its PKCS #8 private key, as a certificate
// import takes it.
func selfSignedPEM(t *testing.T, cn string) string {
	t.Helper()
	k := newECKey(t)
	c := issue(t, cn, &k.PublicKey, nil, k, false)
	p8, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}
