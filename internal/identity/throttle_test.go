package identity_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

// throttled opens a service on a fake clock that counts the requests its slow-down refuses.
func throttled(t *testing.T) (*identity.Service, *clock.Fake, map[string]int) {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	counts := map[string]int{}
	s, err := identity.Open(t.Context(), storagetest.NewMemory(), identity.Options{
		PublicURL: mustURL(t, publicURL), VaultDomain: "localhost", Clock: clk,
		Throttle: identity.ThrottleOptions{Throttled: func(by string) { mu.Lock(); counts[by]++; mu.Unlock() }},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, clk, counts
}

// tokenFrom posts a token request for the administrator from source (ip:port), with the
// right secret or a wrong one.
func tokenFrom(t *testing.T, s *identity.Service, source, clientID, secret string) *httptest.ResponseRecorder {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret},
		"scope": {"https://vault.azure.net/.default"}}
	r := httptest.NewRequest(http.MethodPost, "https://127.0.0.1:8443/adfs/oauth2/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = source
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func wantStatus(t *testing.T, w *httptest.ResponseRecorder, status int, what string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("%s: %d %s, want %d", what, w.Code, w.Body, status)
	}
}

// want429 checks the slow-down's answer: 429, Retry-After in whole seconds, AAD's shape.
func want429(t *testing.T, w *httptest.ResponseRecorder, retryAfter, what string) {
	t.Helper()
	wantStatus(t, w, http.StatusTooManyRequests, what)
	if got := w.Header().Get("Retry-After"); got != retryAfter {
		t.Errorf("%s: Retry-After %q, want %q", what, got, retryAfter)
	}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error != "temporarily_unavailable" ||
		!strings.HasPrefix(e.Description, "AADSTS50053: ") || len(e.Codes) != 1 || e.Codes[0] != 50053 {
		t.Errorf("%s: body %s", what, w.Body)
	}
}

// TestTokenSlowdownPerSource: after 10 failed client authentications from one address,
// that address gets one attempt every 6 seconds, right secret or not, while a right secret
// from another address still gets its token; a quiet minute forgives everything.
func TestTokenSlowdownPerSource(t *testing.T) {
	s, clk, counts := throttled(t)
	adm := s.AdminCredentials()
	const attacker, owner = "203.0.113.7:40000", "198.51.100.2:50000"

	for i := range 10 {
		wantStatus(t, tokenFrom(t, s, attacker, adm.ClientID, "wrong"), 401, fmt.Sprintf("wrong secret #%d", i+1))
	}
	want429(t, tokenFrom(t, s, attacker, adm.ClientID, "wrong"), "6", "the 11th wrong secret")
	want429(t, tokenFrom(t, s, "203.0.113.7:40001", adm.ClientID, adm.ClientSecret), "6", "the right secret from the slowed address")
	want429(t, tokenFrom(t, s, attacker, "00000000-0000-4000-8000-000000000000", "x"), "6", "another client id from the slowed address")
	wantStatus(t, tokenFrom(t, s, owner, adm.ClientID, adm.ClientSecret), 200, "the right secret from another address")
	wantStatus(t, tokenFrom(t, s, owner, adm.ClientID, "wrong"), 401, "a wrong secret from another address")
	if counts["source"] != 3 || counts["client"] != 0 {
		t.Errorf("refusals counted %v, want 3 by source", counts)
	}

	// One attempt every 6 seconds; the clock moves, the test never sleeps.
	clk.Advance(5 * time.Second)
	want429(t, tokenFrom(t, s, attacker, adm.ClientID, "wrong"), "1", "a second before the next attempt")
	clk.Advance(time.Second)
	wantStatus(t, tokenFrom(t, s, attacker, adm.ClientID, "wrong"), 401, "the next attempt, 6 s later")
	want429(t, tokenFrom(t, s, attacker, adm.ClientID, "wrong"), "6", "right after it")

	// The window expires: after a quiet minute the address has its 10 attempts again,
	// and the right secret works from it.
	clk.Advance(time.Minute)
	wantStatus(t, tokenFrom(t, s, attacker, adm.ClientID, adm.ClientSecret), 200, "the right secret after a quiet minute")
	for i := range 10 {
		wantStatus(t, tokenFrom(t, s, attacker, adm.ClientID, "wrong"), 401, fmt.Sprintf("wrong secret #%d after the window", i+1))
	}
	want429(t, tokenFrom(t, s, attacker, adm.ClientID, "wrong"), "6", "the 11th again")
}

// TestTokenSlowdownPerClient: 30 failures for one client id, from any number of addresses,
// slow that client id down to one attempt every 2 seconds for addresses it has not
// obtained a token from; its owner's usual address is not held back. A made-up client id
// is slowed down the same way, so the slow-down does not tell which ids exist.
func TestTokenSlowdownPerClient(t *testing.T) {
	s, clk, counts := throttled(t)
	adm := s.AdminCredentials()
	const owner = "198.51.100.2:50000"
	wantStatus(t, tokenFrom(t, s, owner, adm.ClientID, adm.ClientSecret), 200, "the owner's token")

	madeUp := "6f1c2b1e-0000-4000-8000-00000000abcd"
	for _, id := range []string{adm.ClientID, madeUp} {
		for i := range 30 { // three failures from each of ten addresses: no address is slowed
			src := fmt.Sprintf("203.0.113.%d:1", i/3)
			wantStatus(t, tokenFrom(t, s, src, id, "wrong"), 401, "distributed wrong secret")
		}
		want429(t, tokenFrom(t, s, "192.0.2.99:1", id, "wrong"), "2", "the 31st failure for "+id)
	}
	want429(t, tokenFrom(t, s, "192.0.2.99:1", adm.ClientID, adm.ClientSecret), "2", "the right secret from an unfamiliar address")
	wantStatus(t, tokenFrom(t, s, owner, adm.ClientID, adm.ClientSecret), 200, "the right secret from the owner's address")
	if counts["client"] != 3 {
		t.Errorf("refusals counted %v, want 3 by client", counts)
	}
	clk.Advance(2 * time.Second)
	wantStatus(t, tokenFrom(t, s, "192.0.2.99:1", adm.ClientID, adm.ClientSecret), 200, "the right secret 2 s later")
}

// TestTokenSlowdownIPv6: an IPv6 source is counted by its /64, the block one host holds.
func TestTokenSlowdownIPv6(t *testing.T) {
	s, _, _ := throttled(t)
	adm := s.AdminCredentials()
	for i := range 10 {
		src := fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1)
		wantStatus(t, tokenFrom(t, s, src, adm.ClientID, "wrong"), 401, "wrong secret from the /64")
	}
	want429(t, tokenFrom(t, s, "[2001:db8:1:2:ffff::1]:1", adm.ClientID, "wrong"), "6", "another address of the same /64")
	wantStatus(t, tokenFrom(t, s, "[2001:db8:1:3::1]:1", adm.ClientID, adm.ClientSecret), 200, "another /64")
}
