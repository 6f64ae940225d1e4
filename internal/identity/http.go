package identity

import (
	"encoding/json"
	"errors"
	"github.com/coffer/coffer/internal/storage"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxTokenRequest bounds a token request body; real ones are well under 1 KiB.
const maxTokenRequest = 64 << 10

// Identity paths. {tenant} is the first path segment of the v2 form.
const (
	pathADFSDiscovery = "/adfs/.well-known/openid-configuration"
	pathADFSToken     = "/adfs/oauth2/token"
	pathADFSKeys      = "/adfs/discovery/keys"
	suffixV2Discovery = "/v2.0/.well-known/openid-configuration"
	suffixV2Token     = "/oauth2/v2.0/token"
	suffixV2Keys      = "/discovery/v2.0/keys"
)

// IsIdentityPath reports whether path belongs to the identity endpoints, which the server
// routes here before authentication: anything under /adfs/, and /{tenant}/v2.0/...,
// /{tenant}/oauth2/... or /{tenant}/discovery/... where {tenant} is GUID-shaped or one of Microsoft's tenant aliases
// (common, organizations, consumers), so that a wrong tenant gets invalid_tenant rather
// than a data-plane 401.
func IsIdentityPath(path string) bool {
	if strings.HasPrefix(path, "/adfs/") {
		return true
	}
	seg, rest, ok := splitTenant(path)
	if !ok || !isTenantSegment(seg) {
		return false
	}
	return strings.HasPrefix(rest, "/v2.0/") || strings.HasPrefix(rest, "/oauth2/") || strings.HasPrefix(rest, "/discovery/")
}

func splitTenant(path string) (seg, rest string, ok bool) {
	if len(path) < 2 || path[0] != '/' {
		return "", "", false
	}
	i := strings.IndexByte(path[1:], '/')
	if i < 0 {
		return "", "", false
	}
	return path[1 : 1+i], path[1+i:], true
}

func isTenantSegment(seg string) bool {
	switch strings.ToLower(seg) {
	case "common", "organizations", "consumers":
		return true
	}
	if len(seg) != 36 {
		return false
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// ServeHTTP serves the discovery and token endpoints of both forms. Other paths get a 404
// JSON error. Paths are matched exactly as sent, never cleaned or redirected.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch path {
	case pathADFSDiscovery:
		if allowMethod(w, r, http.MethodGet) {
			s.serveDiscovery(w, r, "/adfs", pathADFSToken, "/adfs/oauth2/authorize", pathADFSKeys)
		}
		return
	case pathADFSKeys:
		if allowMethod(w, r, http.MethodGet) {
			s.serveKeys(w)
		}
		return
	case pathADFSToken:
		if allowMethod(w, r, http.MethodPost) {
			s.serveToken(w, r)
		}
		return
	}
	seg, rest, ok := splitTenant(path)
	if ok && (rest == suffixV2Discovery || rest == suffixV2Token || rest == suffixV2Keys) {
		method := http.MethodGet
		if rest == suffixV2Token {
			method = http.MethodPost
		}
		if !allowMethod(w, r, method) {
			return
		}
		if !strings.EqualFold(seg, s.tenant) {
			writeOAuthError(w, s.clock.Now(), http.StatusBadRequest, "invalid_tenant", 90002,
				"Tenant '"+truncate(seg, 64)+"' not found. This server's only tenant is "+s.tenant+".")
			return
		}
		base := "/" + s.tenant
		switch rest {
		case suffixV2Discovery:
			s.serveDiscovery(w, r, base+"/v2.0", base+suffixV2Token, base+"/oauth2/v2.0/authorize", base+suffixV2Keys)
		case suffixV2Keys:
			s.serveKeys(w)
		default:
			s.serveToken(w, r)
		}
		return
	}
	writeJSON(w, http.StatusNotFound, map[string]string{
		"error":             "not_found",
		"error_description": "No identity endpoint at this path.",
	})
}

// allowMethod answers 405 unless r uses method (GET also admits HEAD).
func allowMethod(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method || (method == http.MethodGet && r.Method == http.MethodHead) {
		return true
	}
	w.Header().Set("Allow", method)
	writeJSON(w, http.StatusMethodNotAllowed, map[string]string{
		"error":             "invalid_request",
		"error_description": "Method " + truncate(r.Method, 16) + " not allowed; use " + method + ".",
	})
	return false
}

// discovery is the OpenID configuration document. MSAL Go needs issuer (scheme and host
// equal to the authority's), token_endpoint and authorization_endpoint; MSAL Python needs
// the two endpoints; MSAL for JavaScript refuses a document without jwks_uri (as OpenID
// Connect Discovery requires it). The rest is informative.
type discovery struct {
	Issuer                string   `json:"issuer"`
	TokenEndpoint         string   `json:"token_endpoint"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	TokenAuthMethods      []string `json:"token_endpoint_auth_methods_supported"`
	GrantTypes            []string `json:"grant_types_supported"`
	ResponseTypes         []string `json:"response_types_supported"`
	SigningAlgs           []string `json:"id_token_signing_alg_values_supported"`
	TenantRegionScope     *string  `json:"tenant_region_scope"`
}

// serveDiscovery builds every URL from the request's Host, so a client gets back the
// host:port it used: MSAL Go requires the issuer's host to equal the authority's.
func (s *Service) serveDiscovery(w http.ResponseWriter, r *http.Request, issuer, token, authorize, keys string) {
	host := r.Host
	if host == "" {
		host = s.publicHost
	}
	base := "https://" + host
	writeJSON(w, http.StatusOK, discovery{
		Issuer:                base + issuer,
		TokenEndpoint:         base + token,
		AuthorizationEndpoint: base + authorize,
		JWKSURI:               base + keys,
		TokenAuthMethods:      []string{"client_secret_post"},
		GrantTypes:            []string{"client_credentials"},
		ResponseTypes:         []string{"token"},
		SigningAlgs:           []string{"ES256"},
	})
}

// serveKeys answers the token-signing public keys as a JSON Web Key Set (RFC 7517), so any
// OpenID client can verify Coffer's tokens. Public keys only; they may be cached for a day
// because a key, once made, is never replaced while tokens it signed can be alive.
func (s *Service) serveKeys(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "public, max-age=86400")
	writeJSON(w, http.StatusOK, s.jwks)
}

// tokenResponse is the success answer of the token endpoint.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
}

// serveToken implements the OAuth 2.0 client-credentials grant, the only grant Coffer
// offers (RFC 6749, section 4.4). Order of checks: request shape, grant type, the
// slow-down of repeated failures (429), client authentication, then scope and resource,
// so a caller with a wrong secret learns nothing about which resources exist.
func (s *Service) serveToken(w http.ResponseWriter, r *http.Request) {
	now := s.clock.Now()
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		writeOAuthError(w, now, http.StatusBadRequest, "invalid_request", 900144,
			"The request body must be application/x-www-form-urlencoded.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenRequest)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, now, http.StatusBadRequest, "invalid_request", 900144,
			"The request body could not be parsed.")
		return
	}
	form := r.PostForm
	for _, k := range []string{"grant_type", "client_id", "client_secret", "scope", "resource"} {
		if len(form[k]) > 1 {
			writeOAuthError(w, now, http.StatusBadRequest, "invalid_request", 90015,
				"The parameter '"+k+"' is duplicated.")
			return
		}
	}

	if gt := form.Get("grant_type"); gt != "client_credentials" {
		writeOAuthError(w, now, http.StatusBadRequest, "unsupported_grant_type", 70003,
			"The app requested an unsupported grant type '"+truncate(gt, 64)+"'. Only client_credentials is supported.")
		return
	}

	// Repeated failures are slowed down before the secret is looked at, so that a
	// refused guess learns nothing (throttle.go).
	source, clientID := sourceKey(r.RemoteAddr), form.Get("client_id")
	if wait, _ := s.throttle.check(now, source, clientID); wait > 0 {
		secs := retryAfterSeconds(wait)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeOAuthError(w, now, http.StatusTooManyRequests, "temporarily_unavailable", 50053,
			"Too many failed client authentications for this client id or from this address: "+
				"the token endpoint slows them down. Retry after "+strconv.Itoa(secs)+" seconds (Retry-After).")
		return
	}
	rec, err := s.lookup(r.Context(), clientID)
	switch {
	case errors.Is(err, ErrPrincipalNotFound):
		// Spend the same comparison as a known client, so timing does not tell which ids exist.
		principalRecord{SecretHash: make([]byte, 32)}.secretMatches(form.Get("client_secret"))
		s.throttle.failed(now, source, clientID)
		writeInvalidClient(w, now)
		return
	case storage.Temporary(err):
		// A busy or full store passes by itself: MSAL retries a 5xx after Retry-After.
		w.Header().Set("Retry-After", "5")
		writeOAuthError(w, now, http.StatusServiceUnavailable, "temporarily_unavailable", 50000,
			"The token service's storage is busy or full for the moment; retry after the seconds in Retry-After.")
		return
	case err != nil:
		writeOAuthError(w, now, http.StatusInternalServerError, "temporarily_unavailable", 50000,
			"The token service could not read its storage.")
		return
	case !rec.secretMatches(form.Get("client_secret")):
		s.throttle.failed(now, source, clientID)
		writeInvalidClient(w, now)
		return
	}
	s.throttle.succeeded(now, source, clientID)

	resource, ok := resourceFromScope(form.Get("scope"), form.Get("resource"))
	if !ok {
		writeOAuthError(w, now, http.StatusBadRequest, "invalid_scope", 70011,
			"The provided scope is not valid. It must name exactly one resource as '<resource>/.default', "+
				"optionally with openid, offline_access and profile.")
		return
	}
	aud, ok := normResource(resource)
	var p planes
	if ok {
		p = s.classify(aud, r.Host)
	}
	if p == 0 {
		writeOAuthError(w, now, http.StatusBadRequest, "invalid_resource", 500011,
			"The resource '"+truncate(resource, 256)+"' is not served by this Coffer server. Use https://"+
				s.vaultDomain+"[:port], https://vault.azure.net, https://management.azure.com, "+
				"https://management.core.windows.net/ or "+strings.TrimSuffix(s.authority, "/")+"/.")
		return
	}

	tok, err := s.issue(rec, aud, p)
	if err != nil {
		writeOAuthError(w, now, http.StatusInternalServerError, "temporarily_unavailable", 50000,
			"The token could not be signed.")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	secs := int(tokenLifetime / time.Second)
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: secs, ExtExpiresIn: secs})
}

// resourceFromScope returns the resource named by scope: the OIDC scopes openid,
// offline_access and profile are dropped and exactly one "<resource>/.default" must remain.
// An empty scope falls back to the v1 `resource` parameter.
func resourceFromScope(scope, resource string) (string, bool) {
	var found []string
	for _, sc := range strings.Fields(scope) {
		switch strings.ToLower(sc) {
		case "openid", "offline_access", "profile":
			continue
		}
		found = append(found, sc)
	}
	if len(found) == 0 && strings.TrimSpace(scope) == "" && resource != "" {
		return resource, true
	}
	if len(found) != 1 {
		return "", false
	}
	res, ok := strings.CutSuffix(found[0], "/.default")
	return res, ok && res != ""
}

func writeInvalidClient(w http.ResponseWriter, now time.Time) {
	writeOAuthError(w, now, http.StatusUnauthorized, "invalid_client", 7000215,
		"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "+
			"not the client secret ID, for a secret added to this Coffer server's principal.")
}

// oauthError is the error body of the token and discovery endpoints, in AAD's shape.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
	Timestamp   string `json:"timestamp"`
}

func writeOAuthError(w http.ResponseWriter, now time.Time, status int, code string, aadsts int, msg string) {
	ts := now.UTC().Format("2006-01-02 15:04:05Z")
	writeJSON(w, status, oauthError{
		Error:       code,
		Description: "AADSTS" + strconv.Itoa(aadsts) + ": " + msg + "\r\nTimestamp: " + ts,
		Codes:       []int{aadsts},
		Timestamp:   ts,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"server_error","error_description":"encoding failed"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// truncate bounds client-supplied text echoed in an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
