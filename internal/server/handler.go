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
	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/plane"
)

// ServeHTTP routes by Host to a plane (docs/api.md): a vault host gets that vault's
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
		s.graphPlane.Serve(w, r, s.arm.ServeGraph)
	default:
		s.armPlane.Serve(w, r, s.arm.Serve)
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

// maxInFlight bounds the data-plane requests served at once.
const maxInFlight = 4096

// serveDataPlane serves vaultName's data plane through its plane adapter. A request
// above maxInFlight is told to come back (azcore retries 429 after Retry-After) rather
// than queued without bound.
func (s *Server) serveDataPlane(w http.ResponseWriter, r *http.Request, vaultName string) {
	if vaultName == "" {
		vaultName = "-" // a host under the vault domain that cannot be a vault
	}
	s.dataPlane.Serve(w, r, func(w http.ResponseWriter, r *http.Request, c *plane.Call) error {
		if s.inFlight.Add(1) > maxInFlight {
			s.inFlight.Add(-1)
			c.Event.Vault, c.Event.Operation, c.Event.Decision = vaultName, "Throttle", "denied: too many requests in flight"
			return &plane.Error{Status: http.StatusTooManyRequests, Code: "Throttled", RetryAfter: "1",
				Message: "Coffer is handling as many requests as it can; retry after the number of seconds in Retry-After."}
		}
		defer s.inFlight.Add(-1)
		return s.api.Serve(w, r, vaultName, c)
	})
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

// serveIdentity serves the discovery and token endpoints. A token request gets an
// outcome record naming the client id it asked for and whether it got a token: never the
// client secret, nor the token.
func (s *Server) serveIdentity(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/token") {
		s.id.ServeHTTP(w, r)
		return
	}
	start := s.cfg.Clock.Now()
	sw := &plane.StatusWriter{ResponseWriter: w}
	s.id.ServeHTTP(sw, r)
	end := s.cfg.Clock.Now()
	ev := audit.Event{Time: end.UTC(), Phase: "outcome", RequestID: uuid.NewString(), Source: r.RemoteAddr,
		Operation: "IssueToken", Status: sw.Code(), Duration: end.Sub(start)}
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
