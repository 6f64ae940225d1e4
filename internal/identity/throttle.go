package identity

import (
	"math"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// ThrottleOptions sets how the token endpoint slows down repeated failed client
// authentications (an unknown client id or a wrong secret). Failures are counted twice:
// against the source address the request came from (an IPv6 address by its /64, the
// block one host usually holds) and against the client id it named. Each keeps a token
// bucket: Burst failures pass at once, then one more every Every; while a bucket is
// empty, a token request it covers is answered 429 with Retry-After and its secret is not
// even checked, so guessing makes no progress and learns nothing. A success costs
// nothing, and a quiet period refills the bucket (Burst × Every refills it completely).
//
// The client-id bucket does not hold back a source that obtained a token for that
// client id within the last day: whoever floods a client id with wrong secrets from
// elsewhere cannot lock its owner out. The source bucket holds everyone on that address.
type ThrottleOptions struct {
	SourceBurst int           // 0 → 10
	SourceEvery time.Duration // 0 → 6 s (10 a minute)
	ClientBurst int           // 0 → 30
	ClientEvery time.Duration // 0 → 2 s (30 a minute)
	// Throttled, when set, is told of every request refused, with "source" or "client"
	// for the bucket that was empty (the server counts them in its metrics).
	Throttled func(by string)
}

const (
	defaultSourceBurst = 10
	defaultSourceEvery = 6 * time.Second
	defaultClientBurst = 30
	defaultClientEvery = 2 * time.Second
	// familiarFor is how long a source that obtained a token for a client id stays exempt
	// from that client id's bucket.
	familiarFor = 24 * time.Hour
	// maxFamiliar bounds the sources remembered per client id (the oldest is forgotten).
	maxFamiliar = 16
	// maxThrottleKeys bounds each table. Beyond it, buckets that are full again are
	// dropped, then arbitrary ones: the tables cannot grow without bound however many
	// addresses or made-up client ids an attacker uses.
	maxThrottleKeys = 100_000
	// maxClientKey bounds a made-up client id kept as a key.
	maxClientKey = 64
)

// throttle is the token endpoint's slow-down. Time comes from the service's clock.
type throttle struct {
	opts ThrottleOptions

	mu      sync.Mutex
	sources map[string]*bucket
	clients map[string]*clientBucket
}

// bucket is a token bucket kept as the time at which it is full again ("generic cell
// rate algorithm"): a failure moves that time on by Every; the bucket is empty while it
// lies more than (Burst−1) × Every ahead.
type bucket struct{ fullAt time.Time }

type clientBucket struct {
	bucket
	familiar map[string]time.Time // source → last token obtained
}

func newThrottle(o ThrottleOptions) *throttle {
	if o.SourceBurst <= 0 {
		o.SourceBurst = defaultSourceBurst
	}
	if o.SourceEvery <= 0 {
		o.SourceEvery = defaultSourceEvery
	}
	if o.ClientBurst <= 0 {
		o.ClientBurst = defaultClientBurst
	}
	if o.ClientEvery <= 0 {
		o.ClientEvery = defaultClientEvery
	}
	return &throttle{opts: o, sources: map[string]*bucket{}, clients: map[string]*clientBucket{}}
}

// wait is how long b stays empty after now (0: a failure may be tried now).
func (b *bucket) wait(now time.Time, burst int, every time.Duration) time.Duration {
	if !b.fullAt.After(now) {
		return 0
	}
	return b.fullAt.Sub(now) - time.Duration(burst-1)*every
}

func (b *bucket) fail(now time.Time, every time.Duration) {
	if b.fullAt.Before(now) {
		b.fullAt = now
	}
	b.fullAt = b.fullAt.Add(every)
}

// check says whether a token request from source for clientID must wait, how long, and
// which bucket holds it ("source" or "client").
func (t *throttle) check(now time.Time, source, clientID string) (time.Duration, string) {
	if t == nil {
		return 0, ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if b := t.sources[source]; b != nil {
		if w := b.wait(now, t.opts.SourceBurst, t.opts.SourceEvery); w > 0 {
			return t.refuse(w, "source")
		}
	}
	if c := t.clients[clientKey(clientID)]; c != nil {
		if last, ok := c.familiar[source]; ok && now.Sub(last) < familiarFor {
			return 0, ""
		}
		if w := c.wait(now, t.opts.ClientBurst, t.opts.ClientEvery); w > 0 {
			return t.refuse(w, "client")
		}
	}
	return 0, ""
}

func (t *throttle) refuse(w time.Duration, by string) (time.Duration, string) {
	if t.opts.Throttled != nil {
		t.opts.Throttled(by)
	}
	return w, by
}

// failed counts a failed client authentication from source naming clientID.
func (t *throttle) failed(now time.Time, source, clientID string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.sources[source]
	if b == nil {
		pruneTable(t.sources, now)
		b = &bucket{}
		t.sources[source] = b
	}
	b.fail(now, t.opts.SourceEvery)
	key := clientKey(clientID)
	c := t.clients[key]
	if c == nil {
		pruneTable(t.clients, now)
		c = &clientBucket{}
		t.clients[key] = c
	}
	c.fail(now, t.opts.ClientEvery)
}

// succeeded remembers that source obtained a token for clientID.
func (t *throttle) succeeded(now time.Time, source, clientID string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	key := clientKey(clientID)
	c := t.clients[key]
	if c == nil {
		pruneTable(t.clients, now)
		c = &clientBucket{}
		t.clients[key] = c
	}
	if c.familiar == nil {
		c.familiar = map[string]time.Time{}
	}
	if _, ok := c.familiar[source]; !ok && len(c.familiar) >= maxFamiliar {
		oldest, at := "", time.Time{}
		for s, last := range c.familiar {
			if oldest == "" || last.Before(at) {
				oldest, at = s, last
			}
		}
		delete(c.familiar, oldest)
	}
	c.familiar[source] = now
}

type fullAter interface{ full(now time.Time) bool }

func (b *bucket) full(now time.Time) bool { return !b.fullAt.After(now) }

func (c *clientBucket) full(now time.Time) bool {
	if !c.bucket.full(now) {
		return false
	}
	for _, last := range c.familiar {
		if now.Sub(last) < familiarFor {
			return false
		}
	}
	return true
}

// pruneTable makes room for one more key when m is at its bound: first the entries that
// hold nothing any more, then, if that was not enough, arbitrary ones.
func pruneTable[V fullAter](m map[string]V, now time.Time) {
	if len(m) < maxThrottleKeys {
		return
	}
	for k, v := range m {
		if v.full(now) {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) < maxThrottleKeys*9/10 {
			break
		}
		delete(m, k)
	}
}

// clientKey is the key of a client id: the canonical GUID, or a made-up id lower-cased
// and bounded (made-up ids are counted too, so that a slow-down never tells which client
// ids exist).
func clientKey(id string) string {
	if g := canonGUID(id); g != "" {
		return g
	}
	id = strings.ToLower(id)
	if len(id) > maxClientKey {
		id = id[:maxClientKey]
	}
	return "?" + id
}

// sourceKey is the source address of a request (its RemoteAddr): the IP address, an
// IPv6 one by its /64.
func sourceKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// retryAfterSeconds is a wait as Retry-After's whole seconds, rounded up.
func retryAfterSeconds(w time.Duration) int {
	return int(math.Ceil(w.Seconds()))
}
