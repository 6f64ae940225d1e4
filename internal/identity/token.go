package identity

import (
	"context"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// tokenLifetime is the `expires_in` Coffer sends. azcore refreshes a token 5 minutes
	// before it expires, so a lifetime near that would cost a token request per call; an
	// hour keeps clients on one token for 55 minutes.
	tokenLifetime = 3599 * time.Second
	// leeway absorbs clock skew between servers sharing a database and their clients: nbf
	// is back-dated by it, and exp and nbf are checked with it.
	leeway = time.Minute
	// maxTokenLen bounds what Verify parses; Coffer's tokens are well under 1 KiB.
	maxTokenLen = 8 << 10
)

// ErrInvalidToken is the kind of every [Service.Verify] failure. The wrapped text gives a
// short reason (malformed, expired, wrong audience, …), never the token.
var ErrInvalidToken = errors.New("identity: invalid token")

// Audience is the class of resource a token was issued for; each plane accepts one.
type Audience int

const (
	// DataPlane: https://<vault-domain> with any port or none, and https://vault.azure.net.
	DataPlane Audience = iota + 1
	// ARM: https://management.azure.com and https://management.core.windows.net/; also
	// Coffer's /admin routes.
	ARM
	// Graph: the bare address, for az's Graph stand-in.
	Graph
)

// String returns the audience class name as it appears in tokens.
func (a Audience) String() string {
	switch a {
	case DataPlane:
		return "data"
	case ARM:
		return "arm"
	case Graph:
		return "graph"
	}
	return fmt.Sprintf("Audience(%d)", int(a))
}

// planes is a set of Audience classes.
type planes uint8

func (p planes) has(a Audience) bool { return a >= DataPlane && a <= Graph && p&(1<<a) != 0 }

func (p planes) names() []string {
	var out []string
	for a := DataPlane; a <= Graph; a++ {
		if p.has(a) {
			out = append(out, a.String())
		}
	}
	return out
}

func planesOf(names []string) planes {
	var p planes
	for _, n := range names {
		for a := DataPlane; a <= Graph; a++ {
			if n == a.String() {
				p |= 1 << a
			}
		}
	}
	return p
}

// tokenClaims are the claims of Coffer's access tokens. `planes` records the audience
// classes decided at issuance (a resource can be both the data-plane and the Graph
// audience, e.g. https://localhost:8443 when the vault domain is localhost).
type tokenClaims struct {
	Issuer    string           `json:"iss"`
	Audience  string           `json:"aud"`
	Subject   string           `json:"sub"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	Expiry    *jwt.NumericDate `json:"exp"`
	TenantID  string           `json:"tid"`
	ObjectID  string           `json:"oid"`
	AppID     string           `json:"appid"`
	AZP       string           `json:"azp"`
	IDType    string           `json:"idtyp"`
	Version   string           `json:"ver"`
	Planes    []string         `json:"planes"`
}

func (c *tokenClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.Expiry, nil }
func (c *tokenClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt, nil }
func (c *tokenClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore, nil }
func (c *tokenClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *tokenClaims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *tokenClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings{c.Audience}, nil
}

// issue signs an access token for rec with audience aud.
func (s *Service) issue(rec principalRecord, aud string, p planes) (string, error) {
	now := s.clock.Now().UTC().Truncate(time.Second)
	c := &tokenClaims{
		Issuer:    s.issuer,
		Audience:  aud,
		Subject:   rec.ObjectID,
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-leeway)),
		Expiry:    jwt.NewNumericDate(now.Add(tokenLifetime)),
		TenantID:  s.tenant,
		ObjectID:  rec.ObjectID,
		AppID:     rec.ClientID,
		AZP:       rec.ClientID,
		IDType:    "app",
		Version:   "2.0",
		Planes:    p.names(),
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	t.Header["kid"] = s.signKid
	t.Header[lowSHeader] = true
	signed, err := t.SignedString(s.keys[s.signKid])
	if err != nil {
		return "", fmt.Errorf("identity: sign token: %w", err)
	}
	return lowS(signed), nil
}

// An ECDSA signature (r, s) has a twin, (r, n−s), that verifies as well: without a rule,
// every token would have two string forms. Coffer writes the low one (s ≤ n/2) and accepts
// no other from a token that carries lowSHeader in its signed header. Tokens of earlier
// versions lack it and had a high s about half the time; they are accepted either way
// until they expire (at most a token lifetime after the upgrade), since refusing a token
// its client still holds as valid breaks that client until the token's end (azidentity
// hands the same token back).
const lowSHeader = "lowS"

// p256HalfOrder is n/2 for P-256, the largest s of a canonical signature.
var p256HalfOrder = new(big.Int).Rsh(elliptic.P256().Params().N, 1)

// lowS rewrites a freshly signed ES256 token's signature to its low-s twin.
func lowS(token string) string {
	i := strings.LastIndexByte(token, '.')
	sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	if err != nil || len(sig) != 64 {
		return token // not of our signing: left for Verify to refuse
	}
	sv := new(big.Int).SetBytes(sig[32:])
	if sv.Cmp(p256HalfOrder) <= 0 {
		return token
	}
	sv.Sub(elliptic.P256().Params().N, sv).FillBytes(sig[32:])
	return token[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// canonicalForm refuses a token that is not in the one form Coffer writes: each segment in
// unpadded base64url without stray bits (the decoder golang-jwt uses ignores them, which
// makes more spellings of one token), an ES256 signature of 64 bytes, and, when the header
// carries lowSHeader, a low s.
func canonicalForm(token string) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("malformed")
	}
	var raw [3][]byte
	for i, p := range parts {
		b, err := base64.RawURLEncoding.Strict().DecodeString(p)
		if err != nil {
			return errors.New("malformed")
		}
		raw[i] = b
	}
	if len(raw[2]) != 64 {
		return errors.New("bad signature")
	}
	var h map[string]any
	if json.Unmarshal(raw[0], &h) != nil {
		return errors.New("malformed")
	}
	if marked, _ := h[lowSHeader].(bool); marked && new(big.Int).SetBytes(raw[2][32:]).Cmp(p256HalfOrder) > 0 {
		return errors.New("non-canonical signature")
	}
	return nil
}

// Verify checks a bearer token (without the "Bearer " prefix) for a request to a plane that
// accepts audience class want, and returns its principal. It checks that the token is in
// its one canonical form (canonicalForm), the ES256 signature against the stored keys by kid, the issuer, exp and nbf against the real clock, the
// audience class, the tenant, and that the principal still exists. Every failure wraps
// [ErrInvalidToken]; other errors (storage) mean the verdict is unknown.
//
// A positive verdict is cached for up to a second (verdictRecheck), so repeated calls with
// the same token cost a map lookup and a clock read; after that the token is checked again,
// principal lookup included, so a principal deleted through another server on the same
// storage loses access within a second.
func (s *Service) Verify(ctx context.Context, token string, want Audience) (Principal, error) {
	now := s.clock.Now()
	// A cached verdict is reused for a second at most: then the principal is looked up
	// again, so a principal deleted through another server on the same storage loses
	// access within a second here too (this server's own deletions drop it at once).
	if v, ok := s.cache.get(token); ok && now.Before(v.recheck) {
		if !now.Before(v.deadline) {
			return Principal{}, fmt.Errorf("%w: expired", ErrInvalidToken)
		}
		if !v.planes.has(want) {
			return Principal{}, fmt.Errorf("%w: wrong audience", ErrInvalidToken)
		}
		return v.principal, nil
	}

	if token == "" || len(token) > maxTokenLen {
		return Principal{}, fmt.Errorf("%w: malformed", ErrInvalidToken)
	}
	// A principal deleted while this check runs must not leave a fresh verdict behind:
	// put only caches when no principal was dropped since this generation.
	gen := s.cache.generation()
	if err := canonicalForm(token); err != nil {
		return Principal{}, fmt.Errorf("%w: %s", ErrInvalidToken, err)
	}
	var c tokenClaims
	if _, err := s.parser.ParseWithClaims(token, &c, s.keyFunc); err != nil {
		return Principal{}, fmt.Errorf("%w: %s", ErrInvalidToken, jwtReason(err))
	}
	if c.TenantID != s.tenant {
		return Principal{}, fmt.Errorf("%w: wrong tenant", ErrInvalidToken)
	}
	p := planesOf(c.Planes)
	// Data-plane and ARM classes must still follow from the audience under this server's
	// configuration (a changed vault domain does not keep old tokens on the data plane).
	cls := s.classify(c.Audience, "")
	p &^= (1 << DataPlane) | (1 << ARM)
	p |= cls & ((1 << DataPlane) | (1 << ARM))
	if p == 0 {
		return Principal{}, fmt.Errorf("%w: unknown audience", ErrInvalidToken)
	}
	rec, err := s.lookup(ctx, c.AppID)
	if errors.Is(err, ErrPrincipalNotFound) || (err == nil && rec.ObjectID != c.ObjectID) {
		return Principal{}, fmt.Errorf("%w: unknown principal", ErrInvalidToken)
	}
	if err != nil {
		return Principal{}, err
	}
	v := verdict{principal: rec.principal(s.tenant), planes: p, deadline: c.Expiry.Add(leeway), recheck: now.Add(verdictRecheck)}
	s.cache.put(token, v, now, gen)
	if !p.has(want) {
		return Principal{}, fmt.Errorf("%w: wrong audience", ErrInvalidToken)
	}
	return v.principal, nil
}

func (s *Service) keyFunc(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	k, ok := s.keys[kid]
	if !ok {
		return nil, errors.New("unknown kid")
	}
	return &k.PublicKey, nil
}

// jwtReasons are the fixed reasons of jwt errors, the first that matches winning.
var jwtReasons = []struct {
	err    error
	reason string
}{
	{jwt.ErrTokenMalformed, "malformed"},
	{jwt.ErrTokenSignatureInvalid, "bad signature"},
	{jwt.ErrTokenUnverifiable, "unverifiable"},
	{jwt.ErrTokenExpired, "expired"},
	{jwt.ErrTokenNotValidYet, "not valid yet"},
	{jwt.ErrTokenInvalidIssuer, "wrong issuer"},
	{jwt.ErrTokenRequiredClaimMissing, "missing claim"},
}

// jwtReason maps a jwt error to a fixed reason, so no part of the token leaks into errors.
func jwtReason(err error) string {
	for _, r := range jwtReasons {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return "invalid"
}

// Resources that are not derived from the configuration.
const (
	resourcePublicVault = "https://vault.azure.net"
	resourceARM         = "https://management.azure.com"
	resourceARMClassic  = "https://management.core.windows.net"
)

// normResource normalises a token resource: one trailing "/" dropped, scheme and host
// lower-cased; it must then be https://host[:port] with nothing else. ok is false otherwise.
func normResource(res string) (norm string, ok bool) {
	res = strings.TrimSuffix(res, "/")
	u, err := url.Parse(res)
	if err != nil || !strings.EqualFold(u.Scheme, "https") || u.Host == "" || u.User != nil ||
		u.Opaque != "" || u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" ||
		strings.Contains(res, "#") {
		return "", false
	}
	return "https://" + strings.ToLower(u.Host), true
}

// classify returns the audience classes of a normalised resource. requestHost, when not
// empty, is the Host the token request arrived on, also accepted as the Graph audience.
func (s *Service) classify(norm, requestHost string) planes {
	var p planes
	switch norm {
	case resourcePublicVault:
		return 1 << DataPlane
	case resourceARM, resourceARMClassic:
		return 1 << ARM
	}
	hp, ok := strings.CutPrefix(norm, "https://")
	if !ok {
		return 0
	}
	u := url.URL{Host: hp}
	if u.Hostname() == s.vaultDomain {
		p |= 1 << DataPlane
	}
	c := canonHostPort(hp)
	if c == canonHostPort(s.publicHost) || (requestHost != "" && c == canonHostPort(requestHost)) {
		p |= 1 << Graph
	}
	return p
}

// verdict is a cached positive verification.
type verdict struct {
	principal Principal
	planes    planes
	deadline  time.Time // exp + leeway
	recheck   time.Time // after this the principal is looked up again (verdictRecheck)
}

// verdictRecheck bounds how long a cached verdict is trusted without looking the
// principal up again; at one second a token costs one signature check a second.
const verdictRecheck = time.Second

// verdictCache maps token → verdict, bounded in size. Reads take a shared lock only.
type verdictCache struct {
	mu  sync.RWMutex
	m   map[string]verdict
	max int
	gen uint64 // bumped by dropClient
}

func (c *verdictCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

func newVerdictCache(max int) *verdictCache {
	return &verdictCache{m: make(map[string]verdict), max: max}
}

func (c *verdictCache) get(token string) (verdict, bool) {
	c.mu.RLock()
	v, ok := c.m[token]
	c.mu.RUnlock()
	return v, ok
}

// put stores v. When full it first drops expired entries, then, if still full, an
// arbitrary eighth of the entries (Go's map order is randomised).
func (c *verdictCache) put(token string, v verdict, now time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return // a principal was deleted meanwhile: do not cache what may be stale
	}
	if _, ok := c.m[token]; !ok && len(c.m) >= c.max {
		for k, e := range c.m {
			if !now.Before(e.deadline) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < c.max-c.max/8 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[token] = v
}

// dropClient forgets every verdict for a principal.
func (c *verdictCache) dropClient(clientID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.m {
		if e.principal.ClientID == clientID {
			delete(c.m, k)
		}
	}
}
