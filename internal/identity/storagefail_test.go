package identity_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

// unavailableStore refuses every read with err while err is set.
type unavailableStore struct {
	storage.Backend
	err error
}

func (s *unavailableStore) View(ctx context.Context, fn func(storage.Tx) error) error {
	if s.err != nil {
		return s.err
	}
	return s.Backend.View(ctx, fn)
}

// TestTokenEndpointStorageRefusals: a store that is busy or full for the moment gives 503
// with Retry-After (MSAL retries it); any other storage failure stays a 500.
func TestTokenEndpointStorageRefusals(t *testing.T) {
	st := &unavailableStore{Backend: storagetest.NewMemory()}
	s := open(t, st, clock.NewFake(t0))
	admin := s.AdminCredentials()
	path := "/" + s.TenantID() + "/oauth2/v2.0/token"
	for _, tc := range []struct {
		err    error
		status int
		retry  string
	}{
		{storage.ErrUnavailable, http.StatusServiceUnavailable, "5"},
		{storage.ErrBusy, http.StatusServiceUnavailable, "5"},
		{context.DeadlineExceeded, http.StatusInternalServerError, ""},
	} {
		st.err = tc.err
		w := tokenRequest(t, s, "127.0.0.1:8443", path, credForm(admin, "https://vault.azure.net/.default"))
		if w.Code != tc.status || w.Header().Get("Retry-After") != tc.retry {
			t.Errorf("%v: %d (Retry-After %q): %s", tc.err, w.Code, w.Header().Get("Retry-After"), w.Body)
		}
	}
	st.err = nil
	if w := tokenRequest(t, s, "127.0.0.1:8443", path, credForm(admin, "https://vault.azure.net/.default")); w.Code != http.StatusOK {
		t.Fatalf("after the store is back: %d %s", w.Code, w.Body)
	}
}
