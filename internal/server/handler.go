package server

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/arm"
	"github.com/coffer/coffer/internal/audit"
	"github.com/coffer/coffer/internal/azapi"
	"github.com/coffer/coffer/internal/identity"
)

// ServeHTTP routes by Host to a plane (interface.md §3): a vault host gets that vault's
// data plane; the bare address serves the unauthenticated paths, identity, Coffer's
// admin routes and the default vault's data plane. Authentication comes before any
// vault lookup, routing, api-version or body check.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if name, ok := s.vaultOfHost(r.Host); ok {
		s.serveDataPlane(w, r, name)
		return
	}
	p := r.URL.EscapedPath()
	switch {
	case p == "/healthz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	case p == "/metrics":
		s.metrics.handler.ServeHTTP(w, r)
	case p == "/metadata/endpoints" || p == "//metadata/endpoints":
		s.serveMetadata(w, r)
	case identity.IsIdentityPath(p):
		s.serveIdentity(w, r)
	case isDataPlanePath(p):
		s.serveDataPlane(w, r, s.cfg.DefaultVault)
	case strings.HasPrefix(p, "/admin/"):
		s.adminPlane.Serve(w, r, s.adminRoutes.Serve)
	case arm.IsGraphPath(p):
		s.serveGraph(w, r)
	default:
		c, ok := s.authARM(w, r)
		if !ok {
			s.recordDenied(s.auditARM, r, "", http.StatusUnauthorized, "denied: no valid management-plane token")
			return
		}
		s.arm.Serve(w, r, arm.Caller{TenantID: c.TenantID, ClientID: c.ClientID, ObjectID: c.ObjectID, Admin: c.Admin})
	}
}

// vaultOfHost returns the vault a Host names: V.<vault-domain> is vault V. Deeper names
// under the domain are unknown vaults (an empty name that no vault has).
func (s *Server) vaultOfHost(hostport string) (string, bool) {
	host := strings.ToLower(hostport)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	label, ok := strings.CutSuffix(host, "."+s.cfg.VaultDomain)
	if !ok || label == "" {
		return "", false
	}
	if strings.Contains(label, ".") {
		return "", true
	}
	return label, true
}

func isDataPlanePath(p string) bool {
	first := strings.TrimPrefix(p, "/")
	if i := strings.IndexByte(first, '/'); i >= 0 {
		first = first[:i]
	}
	switch strings.ToLower(first) {
	case "secrets", "keys", "certificates", "deletedsecrets", "deletedkeys", "deletedcertificates", "rng":
		return true
	}
	return false
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:]), true
	}
	return "", false
}

// maxInFlight bounds the data-plane requests served at once.
const maxInFlight = 4096

var challengeBody = []byte(`{"error":{"code":"Unauthorized","message":"AKV10000: Request is missing a Bearer or PoP token, or the token is not valid for this vault."}}`)

func (s *Server) serveDataPlane(w http.ResponseWriter, r *http.Request, vaultName string) {
	tok, ok := bearer(r)
	var p identity.Principal
	var err error
	if ok {
		p, err = s.id.Verify(r.Context(), tok, identity.DataPlane)
	}
	if !ok || err != nil {
		s.recordDenied(s.auditData, r, vaultName, http.StatusUnauthorized, "denied: no valid bearer token")
		h := w.Header()
		h.Set("WWW-Authenticate", s.id.Challenge(r.Host))
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("x-ms-error-code", "Unauthorized")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write(challengeBody)
		return
	}
	if vaultName == "" {
		vaultName = "-" // a host under the vault domain that cannot be a vault
	}
	// More requests in flight than Coffer can take: tell the client to come back (azcore
	// retries 429 after Retry-After) rather than queueing without bound.
	if s.inFlight.Add(1) > maxInFlight {
		s.inFlight.Add(-1)
		s.recordDenied(s.auditData, r, vaultName, http.StatusTooManyRequests, "denied: too many requests in flight")
		w.Header().Set("Retry-After", "1")
		writeARMError(w, http.StatusTooManyRequests, "Throttled", "Coffer is handling as many requests as it can; retry after the number of seconds in Retry-After.")
		return
	}
	defer s.inFlight.Add(-1)
	s.api.Serve(w, r, vaultName, azapi.Caller{Principal: audit.Principal{TenantID: p.TenantID, ClientID: p.ClientID, ObjectID: p.ObjectID}, Admin: p.Admin})
}

// authARM authenticates a management-plane or admin request (ARM audience); on failure
// it has answered 401.
func (s *Server) authARM(w http.ResponseWriter, r *http.Request) (identity.Principal, bool) {
	tok, ok := bearer(r)
	if !ok {
		writeARMError(w, http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
		return identity.Principal{}, false
	}
	p, err := s.id.Verify(r.Context(), tok, identity.ARM)
	if err != nil {
		writeARMError(w, http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The access token is not valid for the management plane: it is expired, malformed, or for another audience.")
		return identity.Principal{}, false
	}
	return p, true
}

func writeARMError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": msg}})
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("x-ms-error-code", code)
	w.WriteHeader(status)
	w.Write(b)
}

func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	p := s.publicURL.String()
	suffix := "." + s.cfg.VaultDomain
	if port := s.publicURL.Port(); port != "" && port != "443" {
		suffix += ":" + port
	}
	doc := map[string]any{
		"resourceManager": p + "/",
		"graphEndpoint":   p + "/",
		"authentication": map[string]any{
			"loginEndpoint": p + "/adfs",
			"audiences":     []string{"https://management.core.windows.net/", "https://management.azure.com/"},
		},
		"suffixes": map[string]string{"keyVaultDns": suffix},
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(doc)
}

// serveGraph answers the Graph stand-in az needs (az-cli.md §4), with Graph-audience
// tokens only.
func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	tok, ok := bearer(r)
	var p identity.Principal
	var err error
	if ok {
		p, err = s.id.Verify(r.Context(), tok, identity.Graph)
	}
	if !ok || err != nil {
		s.recordDenied(s.auditARM, r, "", http.StatusUnauthorized, "denied: no valid Graph token")
		writeARMError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is missing or not valid for the Graph stand-in (audience: this server's bare address).")
		return
	}
	s.arm.ServeGraph(w, r, arm.Caller{TenantID: p.TenantID, ClientID: p.ClientID, ObjectID: p.ObjectID, Admin: p.Admin})
}

// serveIdentity serves the discovery and token endpoints. A token request gets an
// outcome record naming the client id it asked for and whether it got a token: never the
// client secret, nor the token.
func (s *Server) serveIdentity(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/token") {
		s.id.ServeHTTP(w, r)
		return
	}
	start := s.cfg.Clock.Now()
	sw := &statusWriter{ResponseWriter: w}
	s.id.ServeHTTP(sw, r)
	end := s.cfg.Clock.Now()
	ev := audit.Event{Time: end.UTC(), Phase: "outcome", RequestID: requestID(r), Source: r.RemoteAddr,
		Operation: "IssueToken", Status: sw.code(), Duration: end.Sub(start)}
	ev.Principal.TenantID = s.id.TenantID()
	// The token endpoint has parsed the form (when it was one); a client id that is not
	// GUID-shaped is not echoed, as it could be anything (a pasted secret).
	if id := r.PostForm.Get("client_id"); id != "" {
		if _, err := uuid.Parse(id); err == nil {
			ev.Principal.ClientID = strings.ToLower(id)
		} else {
			ev.Principal.ClientID = "(not a client id)"
		}
	}
	switch {
	case ev.Status == http.StatusOK:
		ev.Decision = "allowed: client credentials"
	case ev.Status == http.StatusUnauthorized:
		ev.Decision = "denied: unknown client or wrong secret"
	default:
		ev.Decision = "denied: invalid token request"
	}
	if err := s.auditIdentity.Record(r.Context(), ev); err != nil {
		s.log.Error("audit outcome record failed", "requestId", ev.RequestID, "err", err)
	}
}

// recordDenied writes the outcome record of a request refused before it reached a
// plane (no valid token, too many in flight).
func (s *Server) recordDenied(sink audit.Sink, r *http.Request, vaultName string, status int, decision string) {
	ev := audit.Event{Time: s.cfg.Clock.Now().UTC(), Phase: "outcome", RequestID: requestID(r), Source: r.RemoteAddr,
		Vault: vaultName, Operation: "Authenticate", Decision: decision, Status: status}
	if status == http.StatusTooManyRequests {
		ev.Operation = "Throttle"
	}
	if err := sink.Record(r.Context(), ev); err != nil {
		s.log.Error("audit outcome record failed", "requestId", ev.RequestID, "err", err)
	}
}

// requestID is the client's x-ms-client-request-id when it is a GUID, else a new one.
func requestID(r *http.Request) string {
	id := r.Header.Get("x-ms-client-request-id")
	if _, err := uuid.Parse(id); err != nil {
		return uuid.NewString()
	}
	return strings.ToLower(id)
}

func auditPrincipal(p identity.Principal) audit.Principal {
	return audit.Principal{TenantID: p.TenantID, ClientID: p.ClientID, ObjectID: p.ObjectID}
}

// statusWriter remembers the status of the answer, for the outcome record.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
