package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/kvjson"
)

// Storage keys owned by this package.
const (
	keyTenant          = "sys/tenant"
	keyTokenKeys       = "sys/token-keys"
	prefixPrincipals   = "sys/principals/"
	adminPrincipalName = "administrator"
)

// Options configures a [Service].
type Options struct {
	// PublicURL is the server's bare address, e.g. https://127.0.0.1:8443. It must be https
	// and have no path. It gives the tokens' issuer and the authority host.
	PublicURL *url.URL
	// VaultDomain is the DNS suffix of vault hosts, e.g. "localhost".
	VaultDomain string
	// Clock is the real clock; tokens are dated and checked against it, never against the
	// shifted vault clock. Nil means [clock.Real].
	Clock clock.Clock
	// CacheSize bounds the verdict cache of [Service.Verify]. Zero means 10,000 entries.
	CacheSize int
	// Throttle slows down repeated failed client authentications at the token endpoint.
	Throttle ThrottleOptions
}

// Service issues and verifies tokens and serves the identity endpoints. It is safe for
// concurrent use.
type Service struct {
	st          storage.Backend
	clock       clock.Clock
	vaultDomain string // lower-case
	publicHost  string // host[:port] of PublicURL, as given
	authority   string // "https://host:port/" (authorityHost)
	issuer      string // authority + tenant + "/v2.0"
	challenge   string // WWW-Authenticate prefix up to the resource host

	tenant  string
	admin   principalRecord
	keys    map[string]*ecdsa.PrivateKey // by kid
	signKid string                       // newest key
	jwks    jwkSet                       // the public halves of keys, served at jwks_uri

	parser   *jwt.Parser
	cache    *verdictCache
	throttle *throttle
}

// tenantRecord is stored at sys/tenant.
type tenantRecord struct {
	TenantID      string    `json:"tenantId"`
	AdminClientID string    `json:"adminClientId"`
	Created       time.Time `json:"created"`
}

// tokenKeysRecord is stored at sys/token-keys. The last key signs; all verify.
type tokenKeysRecord struct {
	Keys []tokenKey `json:"keys"`
}

type tokenKey struct {
	Kid     string    `json:"kid"`
	Alg     string    `json:"alg"`
	PEM     string    `json:"privateKeyPem"` // PKCS #8
	Created time.Time `json:"created"`
}

// Open loads the identity state from st, bootstrapping it on first use: a random tenant id,
// the administrator principal and an ES256 signing key, written in one transaction. Two
// servers opening the same fresh storage at once end up with the same state.
func Open(ctx context.Context, st storage.Backend, opts Options) (*Service, error) {
	if st == nil {
		return nil, errors.New("identity: nil storage")
	}
	u := opts.PublicURL
	if u == nil {
		return nil, errors.New("identity: public URL required")
	}
	if !strings.EqualFold(u.Scheme, "https") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("identity: public URL %q must be https://host[:port] with no path", u.Redacted())
	}
	domain := strings.ToLower(strings.TrimSuffix(opts.VaultDomain, "."))
	if domain == "" || strings.ContainsAny(domain, "/:@ ") {
		return nil, fmt.Errorf("identity: invalid vault domain %q", opts.VaultDomain)
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	size := opts.CacheSize
	if size <= 0 {
		size = 10000
	}

	s := &Service{
		st:          st,
		clock:       clk,
		vaultDomain: domain,
		publicHost:  u.Host,
		authority:   "https://" + u.Host + "/",
		cache:       newVerdictCache(size),
		throttle:    newThrottle(opts.Throttle),
	}
	s.challenge = `Bearer authorization="` + s.authority

	if err := s.load(ctx); err != nil {
		return nil, err
	}
	s.issuer = s.authority + s.tenant + "/v2.0"
	s.challenge += s.tenant + `", resource="https://` + s.vaultDomain
	s.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}),
		jwt.WithIssuer(s.issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.clock.Now),
		jwt.WithLeeway(leeway),
	)
	return s, nil
}

// load reads the state, or bootstraps it when sys/tenant is absent.
func (s *Service) load(ctx context.Context) error {
	var (
		tr   tenantRecord
		adm  principalRecord
		keys tokenKeysRecord
	)
	read := func(tx storage.Tx) error {
		if err := kvjson.Get(tx, keyTenant, &tr); err != nil {
			return err
		}
		if err := kvjson.Get(tx, prefixPrincipals+tr.AdminClientID, &adm); err != nil {
			return fmt.Errorf("administrator principal: %w", err)
		}
		if err := kvjson.Get(tx, keyTokenKeys, &keys); err != nil {
			return fmt.Errorf("token keys: %w", err)
		}
		return nil
	}
	err := s.st.View(ctx, read)
	if errors.Is(err, storage.ErrNotFound) {
		// Only a missing tenant means "fresh storage"; a tenant without its principal or
		// keys is damage that must not be papered over with new credentials.
		var hasTenant bool
		if verr := s.st.View(ctx, func(tx storage.Tx) error {
			_, gerr := tx.Get(keyTenant)
			hasTenant = gerr == nil
			if gerr != nil && !errors.Is(gerr, storage.ErrNotFound) {
				return gerr
			}
			return nil
		}); verr != nil {
			return fmt.Errorf("identity: read tenant: %w", verr)
		}
		if hasTenant {
			// Another server may have bootstrapped between the two reads: read again,
			// and only a state that is still partial is damage.
			if err = s.st.View(ctx, read); errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("identity: incomplete identity state in storage: %w", err)
			}
		} else {
			err = s.bootstrap(ctx, read, &tr, &adm, &keys)
		}
	}
	if err != nil {
		return fmt.Errorf("identity: load: %w", err)
	}

	s.tenant = tr.TenantID
	s.admin = adm
	s.keys = make(map[string]*ecdsa.PrivateKey, len(keys.Keys))
	for _, k := range keys.Keys {
		priv, err := parseKey(k.PEM)
		if err != nil {
			return fmt.Errorf("identity: token key %s: %w", k.Kid, err)
		}
		s.keys[k.Kid] = priv
		s.signKid = k.Kid
		pub, err := publicJWK(&priv.PublicKey)
		if err != nil {
			return fmt.Errorf("identity: token key %s: %w", k.Kid, err)
		}
		pub.Kid, pub.Use, pub.Alg = k.Kid, "sig", k.Alg
		s.jwks.Keys = append(s.jwks.Keys, pub)
	}
	if s.signKid == "" {
		return errors.New("identity: no token-signing key in storage")
	}
	return nil
}

// bootstrap creates the state in one Update. The random material is made before the
// transaction so that a re-run of fn (group commit) writes the same values; inside, presence
// is re-checked so a concurrent bootstrap by another server wins cleanly.
func (s *Service) bootstrap(ctx context.Context, read func(storage.Tx) error,
	tr *tenantRecord, adm *principalRecord, keys *tokenKeysRecord) error {
	now := s.clock.Now().UTC().Truncate(time.Second)
	tenant, err := newGUID()
	if err != nil {
		return err
	}
	cred, rec, err := newPrincipal(adminPrincipalName, now)
	if err != nil {
		return err
	}
	rec.Admin = true
	rec.Secret = cred.ClientSecret
	key, err := newTokenKey(now)
	if err != nil {
		return err
	}
	newTenant := tenantRecord{TenantID: tenant, AdminClientID: rec.ClientID, Created: now}
	newKeys := tokenKeysRecord{Keys: []tokenKey{key}}

	return s.st.Update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(keyTenant); err == nil {
			return read(tx) // someone else bootstrapped first
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if err := kvjson.Put(tx, keyTenant, newTenant); err != nil {
			return err
		}
		if err := kvjson.Put(tx, prefixPrincipals+rec.ClientID, rec); err != nil {
			return err
		}
		if err := kvjson.Put(tx, keyTokenKeys, newKeys); err != nil {
			return err
		}
		*tr, *adm, *keys = newTenant, rec, newKeys
		return nil
	})
}

// TenantID returns the tenant id: a lower-case GUID, fixed for the life of the storage.
func (s *Service) TenantID() string { return s.tenant }

// AuthorityHost returns the public URL with a trailing "/" and no path, e.g.
// "https://127.0.0.1:8443/".
func (s *Service) AuthorityHost() string { return s.authority }

// Credentials are a principal's client-credentials, in the shape of
// DIR/bootstrap-credentials.json and of the answer of POST /admin/principals (what
// `coffer principal create` prints), so either file works with `coffer login`.
type Credentials struct {
	TenantID      string `json:"tenantId"`
	ClientID      string `json:"clientId"`
	ClientSecret  string `json:"clientSecret"`
	ObjectID      string `json:"objectId,omitempty"` // set for created principals only
	AuthorityHost string `json:"authorityHost"`
}

// AdminCredentials returns the bootstrap administrator's credentials, for
// DIR/bootstrap-credentials.json.
func (s *Service) AdminCredentials() Credentials {
	return Credentials{
		TenantID:      s.tenant,
		ClientID:      s.admin.ClientID,
		ClientSecret:  s.admin.Secret,
		AuthorityHost: s.authority,
	}
}

// Challenge returns the exact WWW-Authenticate value for a data-plane request without a
// valid token:
//
//	Bearer authorization="<authorityHost><tenantId>", resource="https://<vault-domain>:PORT"
//
// PORT is the port of requestHost (the request's Host header); it and its ":" are left out
// when requestHost has no port or the port is 443.
//
// The form is exact because the SDKs parse it naively: the Go SDK splits on spaces and
// "=", strips quotes, reads the tenant from the first path segment of authorization
// (which must be there, or every request is first sent without a token) and asks for a
// token for resource + "/.default". It then checks that the vault host, port included,
// ends with "." + the resource host; naming the port the client used makes V.domain:PORT
// pass that check behind any port mapping. No claims or error parameters are sent: they
// would start a continuous-access re-authentication.
func (s *Service) Challenge(requestHost string) string {
	port := hostPort(requestHost)
	if port == "" || port == "443" {
		return s.challenge + `"`
	}
	return s.challenge + ":" + port + `"`
}

// hostPort returns the port of a Host header value, or "" when it has none.
func hostPort(host string) string {
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.IndexByte(host[i:], ']') >= 0 {
		return "" // no colon, or the colon is inside an IPv6 literal without a port
	}
	p := host[i+1:]
	if p == "" {
		return ""
	}
	for j := 0; j < len(p); j++ {
		if p[j] < '0' || p[j] > '9' {
			return ""
		}
	}
	return p
}

func newGUID() (string, error) {
	u, err := uuid.NewRandom()
	if err != nil {
		return "", fmt.Errorf("identity: random guid: %w", err)
	}
	return u.String(), nil // lower case
}

// newSecret returns 32 random bytes as unpadded base64url text (43 characters) that
// does not start with '-': command lines read such a value as an option (`az login -p
// -abc…` fails with "expected one argument"), so one secret in 64 would not work there.
// Drawing again costs under a bit of the secret's 256.
func newSecret() (string, error) {
	b := make([]byte, 32)
	for {
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("identity: random secret: %w", err)
		}
		if s := base64.RawURLEncoding.EncodeToString(b); s[0] != '-' {
			return s, nil
		}
	}
}

func newTokenKey(now time.Time) (tokenKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tokenKey{}, fmt.Errorf("identity: generate token key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return tokenKey{}, fmt.Errorf("identity: encode token key: %w", err)
	}
	kid, err := thumbprint(&priv.PublicKey)
	if err != nil {
		return tokenKey{}, err
	}
	return tokenKey{
		Kid:     kid,
		Alg:     jwt.SigningMethodES256.Alg(),
		PEM:     string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		Created: now,
	}, nil
}

func parseKey(p string) (*ecdsa.PrivateKey, error) {
	blk, _ := pem.Decode([]byte(p))
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PKCS #8 PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("not a P-256 key")
	}
	return ec, nil
}

// jwk is a public P-256 key as a JSON Web Key (RFC 7517). The required members come first
// in lexicographic order, so that marshalling one with only them set gives the RFC 7638
// thumbprint input.
type jwk struct {
	Crv string `json:"crv"`
	Kty string `json:"kty"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
}

// jwkSet is a JSON Web Key Set.
type jwkSet struct {
	Keys []jwk `json:"keys"`
}

func publicJWK(pub *ecdsa.PublicKey) (jwk, error) {
	ek, err := pub.ECDH()
	if err != nil {
		return jwk{}, fmt.Errorf("identity: token key: %w", err)
	}
	raw := ek.Bytes() // 0x04 || X || Y
	enc := base64.RawURLEncoding
	return jwk{Crv: "P-256", Kty: "EC", X: enc.EncodeToString(raw[1:33]), Y: enc.EncodeToString(raw[33:65])}, nil
}

// thumbprint is the RFC 7638 JWK thumbprint of a P-256 public key, used as kid.
func thumbprint(pub *ecdsa.PublicKey) (string, error) {
	k, err := publicJWK(pub)
	if err != nil {
		return "", err
	}
	j, err := json.Marshal(k)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(j)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// canonHostPort lower-cases a host[:port] and makes the https default port explicit, so
// "Localhost" and "localhost:443" compare equal.
func canonHostPort(hp string) string {
	u := url.URL{Host: hp}
	h, p := strings.ToLower(u.Hostname()), u.Port()
	if p == "" {
		p = "443"
	}
	return net.JoinHostPort(h, p)
}
