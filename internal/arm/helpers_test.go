package arm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/arm"
	"github.com/coffer/coffer/internal/audit"
	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/vault"
)

// memStore is a hand-written in-memory storage.Backend: one lock, copy-on-commit. It
// keeps these tests independent of bbolt; the end-to-end tests in internal/server run
// on the real storage.
type memStore struct {
	mu sync.RWMutex
	m  map[string][]byte
}

type memTx struct {
	base     map[string][]byte
	writes   map[string][]byte // nil value: deleted
	readOnly bool
}

func (s *memStore) View(_ context.Context, fn func(storage.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fn(&memTx{base: s.m, readOnly: true})
}

func (s *memStore) Update(_ context.Context, fn func(storage.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &memTx{base: s.m, writes: map[string][]byte{}}
	if err := fn(tx); err != nil {
		return err
	}
	for k, v := range tx.writes {
		if v == nil {
			delete(s.m, k)
		} else {
			s.m[k] = v
		}
	}
	return nil
}

func (s *memStore) Close() error { return nil }

func (tx *memTx) Get(key string) ([]byte, error) {
	if v, ok := tx.writes[key]; ok {
		if v == nil {
			return nil, storage.ErrNotFound
		}
		return bytes.Clone(v), nil
	}
	if v, ok := tx.base[key]; ok {
		return bytes.Clone(v), nil
	}
	return nil, storage.ErrNotFound
}

func (tx *memTx) Put(key string, value []byte) error {
	if tx.readOnly {
		return errors.New("memstore: read-only transaction")
	}
	tx.writes[key] = append([]byte{}, value...)
	return nil
}

func (tx *memTx) Delete(key string) error {
	if tx.readOnly {
		return errors.New("memstore: read-only transaction")
	}
	tx.writes[key] = nil
	return nil
}

func (tx *memTx) Scan(prefix, after string, limit int) ([]storage.Entry, error) {
	keys := map[string]bool{}
	for k := range tx.base {
		keys[k] = true
	}
	for k, v := range tx.writes {
		keys[k] = v != nil
	}
	var out []storage.Entry
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if !keys[k] || !strings.HasPrefix(k, prefix) || k <= after {
			continue
		}
		v, _ := tx.Get(k)
		out = append(out, storage.Entry{Key: k, Value: v})
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

const (
	tenant = "3f1c9a52-7d0e-4b8a-9c61-2e5f0a7b4d13"
	sub    = "5e1f0000-1111-4222-8333-444455556666"
	kvAPI  = "api-version=2024-11-01"
)

var (
	admin = plane.Principal{TenantID: tenant, ClientID: "admin-client", ObjectID: "admin-object", Admin: true}
	other = plane.Principal{TenantID: tenant, ClientID: "other-client", ObjectID: "other-object"}
	epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

type fakeDirectory map[string]string

func (d fakeDirectory) ObjectID(_ context.Context, clientID string) (string, bool, error) {
	oid, ok := d[clientID]
	return oid, ok, nil
}

func (d fakeDirectory) Lookup(_ context.Context, objectID string) (arm.DirectoryEntry, bool, error) {
	for c, o := range d {
		if o == objectID {
			return arm.DirectoryEntry{ObjectID: o, ClientID: c}, true, nil
		}
	}
	return arm.DirectoryEntry{}, false, nil
}

type env struct {
	api    *arm.API
	plane  *plane.Plane // the adapter the server puts in front of the plane
	vaults *vault.Service
	clock  *clock.Fake
}

// newEnv is the management plane over a fresh in-memory vault service with a fake
// clock, as the server would build it, plus the default vault.
func newEnv(t testing.TB) *env { return newEnvAudited(t, nil) }

func newEnvAudited(t testing.TB, sink audit.Sink) *env {
	t.Helper()
	clk := clock.NewFake(epoch)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	vs, err := vault.Open(context.Background(), vault.Options{Storage: &memStore{m: map[string][]byte{}}, Clock: clk, Log: log, TenantID: tenant})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := vs.EnsureVault(context.Background(), vault.Vault{Name: "default", RetentionDays: 90, Subscription: arm.DefaultSubscription,
		ResourceGroup: "coffer", Location: "local", TenantID: tenant, SKU: "standard"}); err != nil {
		t.Fatal(err)
	}
	pub, _ := url.Parse("https://127.0.0.1:8443")
	api := arm.New(arm.Options{Vaults: vs, PublicURL: pub, VaultDomain: "localhost", TenantID: tenant, Clock: clk, Log: log,
		Directory: fakeDirectory{"known-client": "known-object"}})
	// The test's bearer token is the caller's client id.
	callers := map[string]plane.Principal{admin.ClientID: admin, other.ClientID: other}
	p := plane.New(plane.Config{Name: "arm", Audit: sink, Clock: clk, Log: log, Render: api.Render,
		Verify: func(_ context.Context, tok string) (plane.Principal, error) {
			if c, ok := callers[tok]; ok {
				return c, nil
			}
			return plane.Principal{}, errors.New("unknown test token")
		}})
	return &env{api: api, plane: p, vaults: vs, clock: clk}
}

// do sends one request to Serve (or ServeGraph for /v1.0 paths) as caller.
func (e *env) do(t testing.TB, c plane.Principal, method, target string, body any) *httptest.ResponseRecorder {
	t.Helper()
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
	r := httptest.NewRequest(method, "https://127.0.0.1:8443"+target, rd)
	r.Header.Set("Authorization", "Bearer "+c.ClientID)
	w := httptest.NewRecorder()
	if arm.IsGraphPath(r.URL.EscapedPath()) {
		e.plane.Serve(w, r, e.api.ServeGraph)
	} else {
		e.plane.Serve(w, r, e.api.Serve)
	}
	return w
}

func vaultPath(rg, name string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.KeyVault/vaults/" + name + "?" + kvAPI
}

func createBody(mod func(props map[string]any)) map[string]any {
	p := map[string]any{"tenantId": tenant, "sku": map[string]string{"family": "A", "name": "standard"}, "accessPolicies": []any{}}
	if mod != nil {
		mod(p)
	}
	return map[string]any{"location": "westus", "tags": map[string]string{"env": "test"}, "properties": p}
}

// errorCode decodes an ARM error answer and checks its header.
func errorCode(t testing.TB, w *httptest.ResponseRecorder) (code, msg string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q: %v", w.Body.String(), err)
	}
	if h := w.Header().Get("x-ms-error-code"); h != e.Error.Code {
		t.Fatalf("x-ms-error-code %q, body code %q", h, e.Error.Code)
	}
	return e.Error.Code, e.Error.Message
}
