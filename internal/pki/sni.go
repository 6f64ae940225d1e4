package pki

import (
	"container/list"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// maxSNICerts bounds the cache of per-host certificates: a client chooses the SNI name, so
// without a bound any number of names under the vault domain would each cost a certificate
// kept in memory.
const maxSNICerts = 1000

// SNICerts chooses the certificate for a TLS handshake by its SNI name. OpenSSL-based
// clients and Node.js do not accept *.localhost for V.localhost (they want two labels
// after the "*"), so for a one-label vault domain SNICerts presents, for each host name
// strictly under the domain, a certificate naming exactly that host: issued by the CA with
// the server certificate's key on first use, cached (at most 1,000, least recently used
// evicted) and re-issued 30 days before it expires. Every other handshake gets the server
// certificate. SNICerts is safe for concurrent use.
type SNICerts struct {
	ca     *CA
	server *tls.Certificate
	key    crypto.Signer
	domain string // lower case, no trailing dot; "" when exact certificates are off
	now    func() time.Time

	mu     sync.Mutex
	byHost map[string]*list.Element // host → element of lru holding a *sniEntry
	lru    list.List                // most recently used at the front
}

type sniEntry struct {
	host string
	cert *tls.Certificate
}

// NewSNICerts returns an SNICerts serving serverCert by default and issuing exact host
// certificates from ca under vaultDomain, dated by now. serverCert's private key must be a
// [crypto.Signer]; the certificates issued for hosts reuse it.
func NewSNICerts(ca *CA, serverCert tls.Certificate, vaultDomain string, now func() time.Time) (*SNICerts, error) {
	if len(serverCert.Certificate) == 0 {
		return nil, errors.New("sni certificates: server certificate is empty")
	}
	key, ok := serverCert.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("sni certificates: unsupported server key type %T", serverCert.PrivateKey)
	}
	if serverCert.Leaf == nil {
		leaf, err := x509.ParseCertificate(serverCert.Certificate[0])
		if err != nil {
			return nil, fmt.Errorf("sni certificates: parse server certificate: %w", err)
		}
		serverCert.Leaf = leaf
	}
	domain := normalizeHost(vaultDomain)
	if !validHostname(domain) || strings.Contains(domain, ".") {
		domain = "" // two or more labels: the server certificate's *.D satisfies every client
	}
	return &SNICerts{
		ca:     ca,
		server: &serverCert,
		key:    key,
		domain: domain,
		now:    now,
		byHost: make(map[string]*list.Element),
	}, nil
}

// GetCertificate returns the certificate for hello's SNI name; it is meant for
// [tls.Config.GetCertificate].
func (s *SNICerts) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if hello == nil {
		return s.server, nil
	}
	host, ok := s.vaultHost(hello.ServerName)
	if !ok {
		return s.server, nil
	}
	now := s.now()
	if c := s.lookup(host, now); c != nil {
		return c, nil
	}
	der, err := s.ca.Issue(now, s.key.Public(), ServerNames{DNSNames: []string{host}}, MaxLeafValidity)
	if err != nil {
		return nil, fmt.Errorf("sni certificate for %s: %w", host, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("sni certificate for %s: %w", host, err)
	}
	return s.store(host, &tls.Certificate{
		Certificate: [][]byte{der, s.ca.Cert.Raw},
		PrivateKey:  s.key,
		Leaf:        leaf,
	}, now), nil
}

// vaultHost returns serverName, lower-cased and without a trailing dot, when it is a
// valid host name strictly under the vault domain and exact certificates are on.
// Validation comes before lower-casing, so no Unicode case folding can turn junk into an
// ASCII name.
func (s *SNICerts) vaultHost(serverName string) (string, bool) {
	if s.domain == "" {
		return "", false
	}
	name := strings.TrimSuffix(serverName, ".")
	if !validHostname(name) {
		return "", false
	}
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, "."+s.domain) {
		return "", false
	}
	return name, true
}

// fresh reports whether c may still be served at now.
func fresh(c *tls.Certificate, now time.Time) bool {
	return !now.Before(c.Leaf.NotBefore) && c.Leaf.NotAfter.Sub(now) > renewBefore
}

// lookup returns the cached certificate for host if it is still fresh, marking it used.
func (s *SNICerts) lookup(host string, now time.Time) *tls.Certificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byHost[host]
	if !ok {
		return nil
	}
	c := e.Value.(*sniEntry).cert
	if !fresh(c, now) {
		return nil
	}
	s.lru.MoveToFront(e)
	return c
}

// store caches c for host, evicting the least recently used entry beyond the bound, and
// returns the certificate to serve: a fresh one another handshake stored first wins, so
// concurrent first handshakes for one host end up sharing a certificate.
func (s *SNICerts) store(host string, c *tls.Certificate, now time.Time) *tls.Certificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.byHost[host]; ok {
		s.lru.MoveToFront(e)
		entry := e.Value.(*sniEntry)
		if fresh(entry.cert, now) {
			return entry.cert
		}
		entry.cert = c
		return c
	}
	s.byHost[host] = s.lru.PushFront(&sniEntry{host: host, cert: c})
	for s.lru.Len() > maxSNICerts {
		oldest := s.lru.Back()
		s.lru.Remove(oldest)
		delete(s.byHost, oldest.Value.(*sniEntry).host)
	}
	return c
}
