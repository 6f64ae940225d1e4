package identity_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

// jwtClaims decodes a token's payload without verifying it.
func jwtClaims(t testing.TB, tok string) map[string]any {
	t.Helper()
	return jwtPart(t, tok, 1)
}

// jwtHeader decodes a token's header.
func jwtHeader(t testing.TB, tok string) map[string]any {
	t.Helper()
	return jwtPart(t, tok, 0)
}

// jwtPart decodes part i (a JSON object) of a token of three parts.
func jwtPart(t testing.TB, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// flip changes one character of part i of a token.
func flip(tok string, i int) string {
	parts := strings.Split(tok, ".")
	p := []byte(parts[i])
	if p[len(p)/2] == 'A' {
		p[len(p)/2] = 'B'
	} else {
		p[len(p)/2] = 'A'
	}
	parts[i] = string(p)
	return strings.Join(parts, ".")
}

func TestVerify(t *testing.T) {
	st := storagetest.NewMemory()
	clk := clock.NewFake(t0)
	s := open(t, st, clk)
	admin := s.AdminCredentials()
	data := getToken(t, s, admin, "https://localhost:8443/.default")
	arm := getToken(t, s, admin, "https://management.azure.com/.default")

	otherSvc := open(t, storagetest.NewMemory(), clk)
	foreign := getToken(t, otherSvc, otherSvc.AdminCredentials(), "https://localhost:8443/.default")

	if h := jwtHeader(t, data); h["alg"] != "ES256" || h["kid"] == "" {
		t.Errorf("header = %v", h)
	}
	// A token signed with alg "none" carrying valid-looking claims.
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		strings.Split(data, ".")[1] + "."
	// The same claims with an HS256 header, "signed" with the public-looking kid.
	hs := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." +
		strings.Split(data, ".")[1] + "." + strings.Split(data, ".")[2]

	for _, tc := range []struct {
		name  string
		token string
		want  identity.Audience
		ok    bool
	}{
		{"ok/data", data, identity.DataPlane, true},
		{"ok/arm", arm, identity.ARM, true},
		{"fail/data-token-on-arm", data, identity.ARM, false},
		{"fail/data-token-on-graph", data, identity.Graph, false},
		{"fail/arm-token-on-data", arm, identity.DataPlane, false},
		{"fail/tampered-signature", flip(data, 2), identity.DataPlane, false},
		{"fail/tampered-payload", flip(data, 1), identity.DataPlane, false},
		{"fail/other-service-key", foreign, identity.DataPlane, false},
		{"fail/alg-none", none, identity.DataPlane, false},
		{"fail/alg-hs256", hs, identity.DataPlane, false},
		{"fail/empty", "", identity.DataPlane, false},
		{"fail/garbage", "not-a-token", identity.DataPlane, false},
		{"fail/huge", strings.Repeat("a", 10000), identity.DataPlane, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // second round: cache path
				p, err := s.Verify(t.Context(), tc.token, tc.want)
				if tc.ok {
					if err != nil {
						t.Fatalf("Verify: %v", err)
					}
					if !p.Admin || p.ClientID != admin.ClientID || p.ObjectID == "" || p.TenantID != s.TenantID() {
						t.Errorf("principal = %+v", p)
					}
					continue
				}
				if !errors.Is(err, identity.ErrInvalidToken) {
					t.Fatalf("Verify = %v, want ErrInvalidToken", err)
				}
				if tc.token != "" && len(tc.token) > 8 && strings.Contains(err.Error(), tc.token[len(tc.token)-8:]) {
					t.Errorf("error %q contains token text", err)
				}
			}
		})
	}
}

func TestVerifyExpiry(t *testing.T) {
	clk := clock.NewFake(t0)
	s := open(t, storagetest.NewMemory(), clk)
	tokCached := getToken(t, s, s.AdminCredentials(), "https://localhost:8443/.default")
	tokUncached := getToken(t, s, s.AdminCredentials(), "https://vault.azure.net/.default")
	if _, err := s.Verify(t.Context(), tokCached, identity.DataPlane); err != nil {
		t.Fatal(err)
	}
	clk.Advance(59 * time.Minute)
	if _, err := s.Verify(t.Context(), tokCached, identity.DataPlane); err != nil {
		t.Fatalf("Verify after 59 min: %v", err)
	}
	clk.Advance(time.Hour)
	for name, tok := range map[string]string{"cached": tokCached, "uncached": tokUncached} {
		_, err := s.Verify(t.Context(), tok, identity.DataPlane)
		if !errors.Is(err, identity.ErrInvalidToken) || !strings.Contains(err.Error(), "expired") {
			t.Errorf("%s: Verify after 2h = %v, want expired", name, err)
		}
	}
}

func TestVerifyNotYetValid(t *testing.T) {
	st := storagetest.NewMemory()
	s := open(t, st, clock.NewFake(t0))
	tok := getToken(t, s, s.AdminCredentials(), "https://localhost:8443/.default")
	// Another server on the same storage whose clock is behind the issuer's.
	behind := open(t, st, clock.NewFake(t0.Add(-10*time.Minute)))
	if _, err := behind.Verify(t.Context(), tok, identity.DataPlane); !errors.Is(err, identity.ErrInvalidToken) {
		t.Errorf("Verify 10 min before issuance = %v, want ErrInvalidToken", err)
	}
	// Within the skew allowance.
	skewed := open(t, st, clock.NewFake(t0.Add(-30*time.Second)))
	if _, err := skewed.Verify(t.Context(), tok, identity.DataPlane); err != nil {
		t.Errorf("Verify 30 s before issuance: %v", err)
	}
}

func TestTokensSurviveRestart(t *testing.T) {
	st := storagetest.NewMemory()
	clk := clock.NewFake(t0)
	s1 := open(t, st, clk)
	tok := getToken(t, s1, s1.AdminCredentials(), "https://management.core.windows.net//.default")
	s2 := open(t, st, clk) // a restart, or a second server on the same database
	p, err := s2.Verify(t.Context(), tok, identity.ARM)
	if err != nil {
		t.Fatalf("Verify after restart: %v", err)
	}
	if p.ClientID != s1.AdminCredentials().ClientID {
		t.Errorf("principal = %+v", p)
	}
}

func TestPrincipals(t *testing.T) {
	st := storagetest.NewMemory()
	clk := clock.NewFake(t0)
	s := open(t, st, clk)
	cred, p, err := s.CreatePrincipal(t.Context(), "ci-runner")
	if err != nil {
		t.Fatal(err)
	}
	if p.Admin || p.Name != "ci-runner" || cred.ClientID != p.ClientID || cred.ObjectID != p.ObjectID ||
		cred.TenantID != s.TenantID() || cred.AuthorityHost != publicURL+"/" || len(cred.ClientSecret) < 43 {
		t.Errorf("CreatePrincipal = %+v, %+v", cred, p)
	}
	if raw := string(st.Raw("sys/principals/" + cred.ClientID)); strings.Contains(raw, cred.ClientSecret) {
		t.Error("stored principal contains its secret")
	}
	list, err := s.ListPrincipals(t.Context())
	if err != nil || len(list) != 2 {
		t.Fatalf("ListPrincipals = %v, %v", list, err)
	}
	got, err := s.PrincipalByClientID(t.Context(), strings.ToUpper(cred.ClientID))
	if err != nil || got != p {
		t.Errorf("PrincipalByClientID = %+v, %v", got, err)
	}

	tok := getToken(t, s, cred, "https://localhost:8443/.default")
	vp, err := s.Verify(t.Context(), tok, identity.DataPlane)
	if err != nil || vp != p {
		t.Fatalf("Verify = %+v, %v", vp, err)
	}
	other := open(t, st, clk) // another server; verifies before the delete
	if _, err := other.Verify(t.Context(), tok, identity.DataPlane); err != nil {
		t.Fatal(err)
	}

	if err := s.DeletePrincipal(t.Context(), p.ObjectID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(t.Context(), tok, identity.DataPlane); !errors.Is(err, identity.ErrInvalidToken) {
		t.Errorf("Verify after delete = %v, want ErrInvalidToken", err)
	}
	third := open(t, st, clk)
	if _, err := third.Verify(t.Context(), tok, identity.DataPlane); !errors.Is(err, identity.ErrInvalidToken) {
		t.Errorf("Verify after delete on a fresh server = %v, want ErrInvalidToken", err)
	}
	w := tokenRequest(t, s, "127.0.0.1:8443", "/adfs/oauth2/token", credForm(cred, "https://localhost/.default"))
	if w.Code != 401 {
		t.Errorf("token for deleted principal: %d", w.Code)
	}

	if err := s.DeletePrincipal(t.Context(), p.ObjectID); !errors.Is(err, identity.ErrPrincipalNotFound) {
		t.Errorf("second delete = %v", err)
	}
	adminP, _ := s.PrincipalByClientID(t.Context(), s.AdminCredentials().ClientID)
	if err := s.DeletePrincipal(t.Context(), adminP.ObjectID); !errors.Is(err, identity.ErrAdminPrincipal) {
		t.Errorf("delete administrator = %v", err)
	}
	for _, name := range []string{"", strings.Repeat("x", 129), "a\nb"} {
		if _, _, err := s.CreatePrincipal(t.Context(), name); !errors.Is(err, identity.ErrInvalidName) {
			t.Errorf("CreatePrincipal(%q) = %v", name, err)
		}
	}
}

func TestVerifyCacheBounded(t *testing.T) {
	clk := clock.NewFake(t0)
	s, err := identity.Open(t.Context(), storagetest.NewMemory(), identity.Options{
		PublicURL: mustURL(t, publicURL), VaultDomain: "localhost", Clock: clk, CacheSize: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	var toks []string
	for i := range 20 {
		clk.Advance(time.Second) // distinct iat → distinct tokens
		tok := getToken(t, s, s.AdminCredentials(), fmt.Sprintf("https://localhost:%d/.default", 8000+i))
		toks = append(toks, tok)
		if _, err := s.Verify(t.Context(), tok, identity.DataPlane); err != nil {
			t.Fatal(err)
		}
	}
	for _, tok := range toks { // evicted tokens verify again (miss path)
		if _, err := s.Verify(t.Context(), tok, identity.DataPlane); err != nil {
			t.Fatal(err)
		}
	}
}
