package server_test

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/coffer/coffer/internal/testenv"
)

// TestDiscoveryAndJWKS fetches both OpenID discovery documents over TLS, checks every
// member an OpenID client or an MSAL needs, and verifies a token Coffer issued against the
// JWKS published at jwks_uri with go-jose, a JOSE library that knows nothing of Coffer.
func TestDiscoveryAndJWKS(t *testing.T) {
	st := testenv.NewStack(t)
	base := st.Server.URL()
	tenant := st.Creds.TenantID

	// get reads a document of the bare address, given by its URL, without a token.
	get := func(t *testing.T, u string) []byte {
		t.Helper()
		if !strings.HasPrefix(u, base+"/") {
			t.Fatalf("GET %s: not on the server's address %s", u, base)
		}
		status, h, b := st.Request(t, "GET", strings.TrimPrefix(u, base), "", nil)
		if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			t.Fatalf("GET %s: %d %s: %s", u, status, h.Get("Content-Type"), b)
		}
		return b
	}

	// A token for the data plane, as azidentity gets one.
	tok, err := st.Cred.GetToken(t.Context(), tokenScope("https://vault.azure.net"))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, path                     string
		issuer, token, authorize, keys string
	}{
		{"v2", "/" + tenant + "/v2.0/.well-known/openid-configuration",
			base + "/" + tenant + "/v2.0", base + "/" + tenant + "/oauth2/v2.0/token",
			base + "/" + tenant + "/oauth2/v2.0/authorize", base + "/" + tenant + "/discovery/v2.0/keys"},
		{"adfs", "/adfs/.well-known/openid-configuration",
			base + "/adfs", base + "/adfs/oauth2/token", base + "/adfs/oauth2/authorize", base + "/adfs/discovery/keys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var doc map[string]any
			if err := json.Unmarshal(get(t, base+tc.path), &doc); err != nil {
				t.Fatal(err)
			}
			// OpenID Connect Discovery 1.0, section 3, lists these as REQUIRED; MSAL for JavaScript
			// refuses a document without jwks_uri.
			for member, want := range map[string]string{
				"issuer": tc.issuer, "token_endpoint": tc.token, "authorization_endpoint": tc.authorize, "jwks_uri": tc.keys,
			} {
				if doc[member] != want {
					t.Errorf("%s = %v, want %s", member, doc[member], want)
				}
			}
			for _, member := range []string{"response_types_supported", "id_token_signing_alg_values_supported"} {
				if l, _ := doc[member].([]any); len(l) == 0 {
					t.Errorf("%s missing or empty: %v", member, doc[member])
				}
			}
			if algs, _ := doc["id_token_signing_alg_values_supported"].([]any); len(algs) == 0 || algs[0] != "ES256" {
				t.Errorf("id_token_signing_alg_values_supported = %v", algs)
			}

			var set jose.JSONWebKeySet
			if err := json.Unmarshal(get(t, doc["jwks_uri"].(string)), &set); err != nil {
				t.Fatalf("jwks_uri is not a JWKS: %v", err)
			}
			if len(set.Keys) == 0 {
				t.Fatal("the JWKS holds no key")
			}
			for _, k := range set.Keys {
				if !k.IsPublic() || !k.Valid() || k.Use != "sig" || k.Algorithm != "ES256" || k.KeyID == "" {
					t.Errorf("JWKS key %q: public %v valid %v use %q alg %q", k.KeyID, k.IsPublic(), k.Valid(), k.Use, k.Algorithm)
				}
				// The kid is the key's RFC 7638 thumbprint.
				tp, err := k.Thumbprint(crypto.SHA256)
				if err != nil || base64.RawURLEncoding.EncodeToString(tp) != k.KeyID {
					t.Errorf("kid %q is not the key's thumbprint (%v)", k.KeyID, err)
				}
			}

			parsed, err := jwt.ParseSigned(tok.Token, []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				t.Fatal(err)
			}
			keys := set.Key(parsed.Headers[0].KeyID)
			if len(keys) != 1 {
				t.Fatalf("the JWKS has %d keys with the token's kid %q", len(keys), parsed.Headers[0].KeyID)
			}
			var claims jwt.Claims
			if err := parsed.Claims(keys[0].Key, &claims); err != nil {
				t.Fatalf("the token does not verify against the JWKS: %v", err)
			}
			// Tokens are issued under the v2 issuer whichever form the client discovered.
			if err := claims.Validate(jwt.Expected{Issuer: base + "/" + tenant + "/v2.0", Time: claims.IssuedAt.Time()}); err != nil {
				t.Errorf("claims: %v (%+v)", err, claims)
			}

			// A token signed by another key does not verify against the JWKS.
			forged := []byte(tok.Token)
			forged[len(forged)-5] ^= 0x01
			if p, err := jwt.ParseSigned(string(forged), []jose.SignatureAlgorithm{jose.ES256}); err == nil {
				if err := p.Claims(keys[0].Key, &claims); err == nil {
					t.Error("a token with a changed signature verified")
				}
			}
		})
	}

	// The keys endpoint is public and read-only, as OpenID clients expect.
	u, _ := url.Parse(base + "/adfs/discovery/keys")
	resp, err := st.HTTP.Post(u.String(), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST %s: %d, want 405", u, resp.StatusCode)
	}
}
