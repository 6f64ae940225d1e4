package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"strings"

	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/arm"
	"github.com/coffer/coffer/internal/audit"
	"github.com/coffer/coffer/internal/console"
	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/vault"
)

// ServeHTTP routes by Host to a plane (docs/api.md): a vault host gets that vault's
// data plane; the bare address serves the unauthenticated paths, identity, Coffer's
// admin routes and the default vault's data plane. A Host that is no host name or address
// is a 400, never the bare address. Authentication comes before any vault lookup,
// routing, api-version or body check.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer s.limitBody(w, r)()
	kind, name := s.classifyHost(r.Host)
	switch kind {
	case hostVault:
		// The fully qualified form is the same vault, and the ids in the answers are
		// made from the Host: make them the one form.
		r.Host = vaultHostForm(r.Host)
		s.serveDataPlane(w, r, name)
		return
	case hostInvalid:
		plane.WriteError(w, &plane.Error{Status: http.StatusBadRequest, Code: "BadParameter",
			Message: "The Host header '" + truncateHost(r.Host) + "' is not a host name or address this Coffer server answers to. " +
				"A vault is reached at https://NAME." + s.cfg.VaultDomain + ", the default vault and the other services at " + s.publicURL.Host + "."})
		return
	}
	p := r.URL.EscapedPath()
	switch {
	case p == "/healthz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if s.storageChk.damaged() {
			// The background check found the database file damaged (storagecheck.go).
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "the database file is damaged: see the log, and run coffer check with the server stopped\n")
			return
		}
		io.WriteString(w, "ok\n")
	case p == "/metrics":
		s.metrics.handler.ServeHTTP(w, r)
	case p == "/metadata/endpoints" || p == "//metadata/endpoints":
		s.serveMetadata(w, r)
	case identity.IsIdentityPath(p):
		s.serveIdentity(w, r)
	case isDataPlanePath(p):
		if r.Host == "" {
			// No Host names no vault: a client whose Host was dropped (Go's client
			// sends an empty one in place of one it finds invalid) must not land in
			// the default vault.
			plane.WriteError(w, &plane.Error{Status: http.StatusBadRequest, Code: "BadParameter",
				Message: "The request has no Host, so it names no vault. Send the vault's host (NAME." + s.cfg.VaultDomain +
					"), or " + s.publicURL.Host + " for the default vault."})
			return
		}
		s.serveDataPlane(w, r, s.cfg.DefaultVault)
	case strings.HasPrefix(p, console.Prefix) || p == "/console":
		if p == "/console" {
			http.Redirect(w, r, console.Prefix, http.StatusMovedPermanently)
			return
		}
		s.console.ServeHTTP(w, r)
	case strings.HasPrefix(p, "/admin/"):
		s.adminPlane.Serve(w, r, s.adminRoutes.Serve)
	case arm.IsGraphPath(p):
		s.graphPlane.Serve(w, r, s.arm.ServeGraph)
	default:
		s.armPlane.Serve(w, r, s.arm.Serve)
	}
}

// hostKind is what a request's Host names.
type hostKind int

const (
	hostBare    hostKind = iota // the bare address: any host name or address not under the vault domain, or none
	hostVault                   // a name under the vault domain: a vault's data plane
	hostInvalid                 // not a host name or address at all
)

// classifyHost says what hostport (a request's Host: host, host:port, [v6] or [v6]:port)
// names. V.<vault-domain> is vault V; a trailing dot changes nothing, as in DNS, where
// "v.localhost." is the fully qualified form of the same name (and TLS clients send
// the name without it). Any other name under the vault domain — deeper, or a label that
// cannot be a vault's name — is hostVault with the name "", a vault that does not
// exist. Every other valid host name or IP address (the public URL's host, localhost,
// 127.0.0.1, a name a proxy uses) and an empty Host are the bare address. Anything else
// — an empty label (".localhost", "v..localhost"), a character no host name has, a port
// that is not a number, more than one trailing dot — is hostInvalid: it must never reach
// a vault it does not name.
func (s *Server) classifyHost(hostport string) (hostKind, string) {
	host, ok := parseHost(hostport)
	if !ok {
		return hostInvalid, ""
	}
	if host == s.cfg.VaultDomain {
		return hostBare, ""
	}
	label, ok := strings.CutSuffix(host, "."+s.cfg.VaultDomain)
	if !ok {
		return hostBare, ""
	}
	if strings.Contains(label, ".") || !vault.ValidVaultName(label) {
		return hostVault, ""
	}
	return hostVault, label
}

// vaultOfHost returns the vault a Host names: V.<vault-domain> is vault V, and ok says
// whether the host is under the vault domain at all (name "" for one that cannot be a
// vault). An invalid Host is no vault host.
func (s *Server) vaultOfHost(hostport string) (string, bool) {
	kind, name := s.classifyHost(hostport)
	return name, kind == hostVault
}

// parseHost checks a Host value and returns its host part lower-cased, without its
// port or a trailing dot ("" for an empty Host).
func parseHost(hostport string) (string, bool) {
	if hostport == "" {
		return "", true
	}
	host, port := hostport, ""
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return "", false
		}
		host, port = hostport[:end+1], hostport[end+1:]
		if port != "" {
			if port[0] != ':' {
				return "", false
			}
			port = port[1:]
		}
		// An IPv6 literal, optionally with a zone ("%25" then unreserved characters).
		addr, zone, hasZone := strings.Cut(host[1:end], "%25")
		if hasZone {
			if zone == "" || strings.IndexFunc(zone, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r))
			}) >= 0 {
				return "", false
			}
			addr += "%" + zone
		}
		a, err := netip.ParseAddr(addr)
		if err != nil || !a.Is6() || strings.Contains(addr, "%") && !hasZone {
			return "", false
		}
		host = strings.ToLower(host)
	} else {
		if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
			host, port = hostport[:i], hostport[i+1:]
		}
		host = strings.ToLower(strings.TrimSuffix(host, "."))
		if !validHostName(host) {
			return "", false
		}
	}
	if len(port) > 5 || strings.Trim(port, "0123456789") != "" {
		return "", false
	}
	return host, true
}

// validHostName reports whether h is a DNS name (labels of 1–63 letters, digits, '-' and
// '_', at most 253 characters, no trailing dot) or an IPv4 address.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// vaultHostForm returns a vault host (a valid one: a DNS name, optionally with a port)
// without a trailing dot or an empty port.
func vaultHostForm(hostport string) string {
	host, port := hostport, ""
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		host, port = hostport[:i], hostport[i+1:]
	}
	host = strings.TrimSuffix(host, ".")
	if port == "" {
		return host
	}
	return host + ":" + port
}

// truncateHost bounds a Host echoed in an error.
func truncateHost(h string) string {
	if len(h) > 64 {
		return h[:64] + "…"
	}
	return h
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
		s.dataRequests.Add(1)
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
	case ev.Status == http.StatusTooManyRequests:
		ev.Decision = "denied: too many failed client authentications, slowed down"
	default:
		ev.Decision = "denied: invalid token request"
	}
	if err := s.auditIdentity.Record(r.Context(), ev); err != nil {
		s.log.Error("audit outcome record failed", "requestId", ev.RequestID, "err", err)
	}
}
