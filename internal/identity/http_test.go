package identity_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

// tokenRequest posts a client-credentials form to path on host and returns the recorder.
func tokenRequest(t testing.TB, s *identity.Service, host, path string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "https://"+host+path, strings.NewReader(form.Encode()))
	r.Host = host
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=utf-8")
	r.Header.Set("client-request-id", "4b1cc4a2-5a49-4c4a-8a39-0b2c2c5f7c2f")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func credForm(c identity.Credentials, scope string) url.Values {
	return url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {c.ClientID},
		"client_secret": {c.ClientSecret},
		"scope":         {scope},
		"claims":        {`{"access_token":{"xms_cc":{"values":["CP1"]}}}`},
	}
}

// getToken returns a token for scope via the v2 endpoint, failing the test otherwise.
func getToken(t testing.TB, s *identity.Service, c identity.Credentials, scope string) string {
	t.Helper()
	w := tokenRequest(t, s, "127.0.0.1:8443", "/"+s.TenantID()+"/oauth2/v2.0/token", credForm(c, scope))
	if w.Code != http.StatusOK {
		t.Fatalf("token for %q: %d %s", scope, w.Code, w.Body)
	}
	var resp struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	return resp.AccessToken
}

func decode(t testing.TB, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	return m
}

func TestDiscovery(t *testing.T) {
	s := open(t, storagetest.NewMemory(), clock.NewFake(t0))
	tn := s.TenantID()
	for _, tc := range []struct {
		name, host, path               string
		issuer, tokenURL, authorizeURL string
	}{
		{"ok/v2", "127.0.0.1:8443", "/" + tn + "/v2.0/.well-known/openid-configuration",
			"https://127.0.0.1:8443/" + tn + "/v2.0", "https://127.0.0.1:8443/" + tn + "/oauth2/v2.0/token",
			"https://127.0.0.1:8443/" + tn + "/oauth2/v2.0/authorize"},
		{"ok/v2-other-host-upper-tenant", "localhost:9443", "/" + strings.ToUpper(tn) + "/v2.0/.well-known/openid-configuration",
			"https://localhost:9443/" + tn + "/v2.0", "https://localhost:9443/" + tn + "/oauth2/v2.0/token",
			"https://localhost:9443/" + tn + "/oauth2/v2.0/authorize"},
		{"ok/adfs", "127.0.0.1:8443", "/adfs/.well-known/openid-configuration",
			"https://127.0.0.1:8443/adfs", "https://127.0.0.1:8443/adfs/oauth2/token",
			"https://127.0.0.1:8443/adfs/oauth2/authorize"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// MSAL Go sends an empty query: "...configuration?".
			r := httptest.NewRequest(http.MethodGet, "https://"+tc.host+tc.path+"?", nil)
			r.Host = tc.host
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			m := decode(t, w)
			if m["issuer"] != tc.issuer || m["token_endpoint"] != tc.tokenURL || m["authorization_endpoint"] != tc.authorizeURL {
				t.Errorf("discovery = %v", m)
			}
			keysURL, _ := m["jwks_uri"].(string)
			if !strings.HasPrefix(keysURL, "https://"+tc.host+"/") || !strings.HasSuffix(keysURL, "/keys") {
				t.Fatalf("jwks_uri = %v", m["jwks_uri"])
			}
			u, _ := url.Parse(keysURL)
			kr := httptest.NewRequest(http.MethodGet, keysURL, nil)
			kr.Host = tc.host
			kw := httptest.NewRecorder()
			s.ServeHTTP(kw, kr)
			if kw.Code != http.StatusOK || !identity.IsIdentityPath(u.Path) {
				t.Fatalf("GET %s: %d (identity path %v): %s", keysURL, kw.Code, identity.IsIdentityPath(u.Path), kw.Body)
			}
			keys, _ := decode(t, kw)["keys"].([]any)
			if len(keys) != 1 || keys[0].(map[string]any)["kid"] == "" || keys[0].(map[string]any)["d"] != nil {
				t.Errorf("JWKS = %s", kw.Body)
			}
			iss, _ := url.Parse(m["issuer"].(string))
			if iss.Host != tc.host {
				t.Errorf("issuer host %q, want request host %q", iss.Host, tc.host)
			}
		})
	}
}

func TestIdentityErrors(t *testing.T) {
	st := storagetest.NewMemory()
	s := open(t, st, clock.NewFake(t0))
	admin := s.AdminCredentials()
	tokenPath := "/" + s.TenantID() + "/oauth2/v2.0/token"
	other := "00000000-0000-0000-0000-000000000001"

	with := func(f func(url.Values)) url.Values {
		v := credForm(admin, "https://localhost:8443/.default")
		f(v)
		return v
	}
	for _, tc := range []struct {
		name   string
		method string
		path   string
		form   url.Values
		status int
		code   string
	}{
		{"fail/wrong-secret", "POST", tokenPath, with(func(v url.Values) { v.Set("client_secret", "nope") }), 401, "invalid_client"},
		{"fail/unknown-client", "POST", tokenPath, with(func(v url.Values) { v.Set("client_id", other) }), 401, "invalid_client"},
		{"fail/non-guid-client", "POST", tokenPath, with(func(v url.Values) { v.Set("client_id", "../tenant") }), 401, "invalid_client"},
		{"fail/no-secret", "POST", tokenPath, with(func(v url.Values) { v.Del("client_secret") }), 401, "invalid_client"},
		{"fail/bad-grant", "POST", tokenPath, with(func(v url.Values) { v.Set("grant_type", "password") }), 400, "unsupported_grant_type"},
		{"fail/no-grant", "POST", tokenPath, with(func(v url.Values) { v.Del("grant_type") }), 400, "unsupported_grant_type"},
		{"fail/bad-tenant-token", "POST", "/" + other + "/oauth2/v2.0/token", with(func(url.Values) {}), 400, "invalid_tenant"},
		{"fail/common-tenant", "POST", "/common/oauth2/v2.0/token", with(func(url.Values) {}), 400, "invalid_tenant"},
		{"fail/bad-tenant-discovery", "GET", "/" + other + "/v2.0/.well-known/openid-configuration", nil, 400, "invalid_tenant"},
		{"fail/bad-resource", "POST", tokenPath, with(func(v url.Values) { v.Set("scope", "https://graph.microsoft.com/.default") }), 400, "invalid_resource"},
		{"fail/resource-with-path", "POST", tokenPath, with(func(v url.Values) { v.Set("scope", "https://localhost:8443/x/.default") }), 400, "invalid_resource"},
		{"fail/http-resource", "POST", tokenPath, with(func(v url.Values) { v.Set("scope", "http://localhost:8443/.default") }), 400, "invalid_resource"},
		{"fail/vault-subdomain", "POST", tokenPath, with(func(v url.Values) { v.Set("scope", "https://v.localhost:8443/.default") }), 400, "invalid_resource"},
		{"fail/two-slashes-extra", "POST", tokenPath, with(func(v url.Values) { v.Set("scope", "https://management.azure.com///.default") }), 400, "invalid_resource"},
		{"fail/two-resources", "POST", tokenPath, with(func(v url.Values) {
			v.Set("scope", "https://localhost:8443/.default https://management.azure.com/.default")
		}), 400, "invalid_scope"},
		{"fail/no-default", "POST", tokenPath, with(func(v url.Values) { v.Set("scope", "https://localhost:8443/user.read openid") }), 400, "invalid_scope"},
		{"fail/only-openid", "POST", tokenPath, with(func(v url.Values) { v.Set("scope", "openid profile") }), 400, "invalid_scope"},
		{"fail/duplicate-secret", "POST", tokenPath, with(func(v url.Values) { v.Add("client_secret", admin.ClientSecret) }), 400, "invalid_request"},
		{"fail/get-token", "GET", tokenPath, nil, 405, "invalid_request"},
		{"fail/post-discovery", "POST", "/adfs/.well-known/openid-configuration", with(func(url.Values) {}), 405, "invalid_request"},
		{"fail/unknown-adfs-path", "GET", "/adfs/oauth2/authorize", nil, 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body *strings.Reader
			if tc.form != nil {
				body = strings.NewReader(tc.form.Encode())
			} else {
				body = strings.NewReader("")
			}
			r := httptest.NewRequest(tc.method, "https://127.0.0.1:8443"+tc.path, body)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status = %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			m := decode(t, w)
			if m["error"] != tc.code {
				t.Errorf("error = %v, want %s", m["error"], tc.code)
			}
			if tc.code == "invalid_client" {
				desc, _ := m["error_description"].(string)
				codes, _ := m["error_codes"].([]any)
				if !strings.HasPrefix(desc, "AADSTS7000215:") || len(codes) != 1 || codes[0] != float64(7000215) {
					t.Errorf("invalid_client body = %s", w.Body)
				}
			}
			if strings.Contains(w.Body.String(), admin.ClientSecret) {
				t.Error("response contains the client secret")
			}
		})
	}
}

func TestTokenEndpointResources(t *testing.T) {
	s := open(t, storagetest.NewMemory(), clock.NewFake(t0))
	admin := s.AdminCredentials()
	oidc := " openid offline_access profile"
	for _, tc := range []struct {
		name, host, path, scope string
		aud                     string
		want                    identity.Audience
	}{
		{"ok/data-port", "127.0.0.1:8443", "v2", "https://localhost:8443/.default" + oidc, "https://localhost:8443", identity.DataPlane},
		{"ok/data-no-port", "127.0.0.1:8443", "v2", "https://localhost/.default", "https://localhost", identity.DataPlane},
		{"ok/data-other-port-case", "127.0.0.1:8443", "adfs", "HTTPS://LocalHost:9000/.default", "https://localhost:9000", identity.DataPlane},
		{"ok/data-trailing-slash", "127.0.0.1:8443", "v2", "https://localhost:8443//.default", "https://localhost:8443", identity.DataPlane},
		{"ok/vault-azure-net", "127.0.0.1:8443", "v2", "https://vault.azure.net/.default" + oidc, "https://vault.azure.net", identity.DataPlane},
		{"ok/arm", "127.0.0.1:8443", "v2", "https://management.azure.com/.default" + oidc, "https://management.azure.com", identity.ARM},
		{"ok/arm-classic", "127.0.0.1:8443", "adfs", "https://management.core.windows.net//.default", "https://management.core.windows.net", identity.ARM},
		{"ok/graph-public", "127.0.0.1:8443", "adfs", "https://127.0.0.1:8443//.default", "https://127.0.0.1:8443", identity.Graph},
		{"ok/graph-request-host", "coffer.example:8443", "adfs", "https://coffer.example:8443//.default", "https://coffer.example:8443", identity.Graph},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/adfs/oauth2/token"
			if tc.path == "v2" {
				path = "/" + s.TenantID() + "/oauth2/v2.0/token"
			}
			w := tokenRequest(t, s, tc.host, path, credForm(admin, tc.scope))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			m := decode(t, w)
			if m["token_type"] != "Bearer" || m["expires_in"] != float64(3599) || m["ext_expires_in"] != float64(3599) {
				t.Errorf("response = %v", m)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q", cc)
			}
			tok := m["access_token"].(string)
			claims := jwtClaims(t, tok)
			if claims["aud"] != tc.aud {
				t.Errorf("aud = %v, want %s", claims["aud"], tc.aud)
			}
			if claims["iss"] != publicURL+"/"+s.TenantID()+"/v2.0" || claims["tid"] != s.TenantID() ||
				claims["appid"] != admin.ClientID || claims["azp"] != admin.ClientID || claims["oid"] == "" {
				t.Errorf("claims = %v", claims)
			}
			if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 3599 || iat != float64(t0.Unix()) {
				t.Errorf("iat %v exp %v", iat, exp)
			}
			p, err := s.Verify(t.Context(), tok, tc.want)
			if err != nil {
				t.Fatalf("Verify(%v): %v", tc.want, err)
			}
			if !p.Admin || p.ClientID != admin.ClientID || p.TenantID != s.TenantID() {
				t.Errorf("principal = %+v", p)
			}
		})
	}
}

func TestIsIdentityPath(t *testing.T) {
	g := "3f1c9a52-7d0e-4b8a-9c61-2e5f0a7b4d13"
	for path, want := range map[string]bool{
		"/adfs/.well-known/openid-configuration":           true,
		"/adfs/oauth2/token":                               true,
		"/" + g + "/v2.0/.well-known/openid-configuration": true,
		"/" + g + "/oauth2/v2.0/token":                     true,
		"/" + strings.ToUpper(g) + "/oauth2/v2.0/token":    true,
		"/common/oauth2/v2.0/token":                        true,
		"/adfs":                                            false,
		"/" + g:                                            false,
		"/" + g + "/other":                                 false,
		"/secrets/s1/":                                     false,
		"/subscriptions/x/resourceGroups":                  false,
		"/keys/oauth2/v2.0/token":                          false,
		"/healthz":                                         false,
		"/v1.0/me":                                         false,
		"/metadata/endpoints":                              false,
		"":                                                 false,
		"/":                                                false,
		"/xf1c9a52-7d0e-4b8a-9c61-2e5f0a7b4d13/v2.0/anything": false,
	} {
		if got := identity.IsIdentityPath(path); got != want {
			t.Errorf("IsIdentityPath(%q) = %v, want %v", path, got, want)
		}
	}
}
