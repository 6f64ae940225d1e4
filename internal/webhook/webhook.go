// Package webhook keeps Coffer's webhook subscriptions and the outbox of events waiting
// to be delivered to them: warnings before an automatic purge and notices after a purge,
// as CloudEvents 1.0 JSON.
//
// It is a leaf over [storage.Tx], as the deletion ledger is: the vault service writes an
// event into the outbox in the same transaction as the change it reports (the scheduler's
// warning, a purge), so a crash can lose neither without the other; the server's delivery
// worker reads the outbox, sends, and removes what was delivered. It must not import
// any other Coffer package but storage (and storage/kvjson, its JSON records), nor
// net/http: delivery is the server's.
//
// Start with [Subscription] and [New], then the outbox: [Enqueue], [Claim], [Delivered]
// and [Retry]. The event a receiver gets, and its signature, are in event.go.
//
// # Layout
//
//	sys/webhooks/<id>                 Subscription, with its signing secret
//	sys/webhook-vaults/<vault>/<id>   index: the subscriptions of a vault (empty value)
//	sys/outbox/<seq, 16 digits>       Delivery: one event for one subscription, in order
//	sys/outbox-seq                    the last seq handed out
//
// # Delivery contract
//
// At least once: a delivery is claimed with a lease ([Claim]) before it is sent and
// removed only after the receiver answered 2xx ([Delivered]); a server that dies while
// sending leaves the lease to expire and another (or the restarted) server sends again.
// Receivers tell repeats apart by the CloudEvent id.
package webhook

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/kvjson"
	"github.com/coffer/coffer/internal/wiretext"
)

// Storage keys.
const (
	subPrefix    = "sys/webhooks/"
	vaultIndex   = "sys/webhook-vaults/"
	outboxPrefix = "sys/outbox/"
	outboxSeqKey = "sys/outbox-seq"
)

// MaxBefore bounds a subscription's warning window: the longest soft-delete retention.
const MaxBefore = 90 * 24 * time.Hour

// ErrNotFound is returned for an unknown subscription id.
var ErrNotFound = errors.New("webhook: no such subscription")

// InvalidError is a subscription refused by [New], with a message for the person who
// asked for it.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return "webhook: " + e.Msg }

// Duration is a time.Duration that reads and writes as Go's duration text ("72h0m0s").
type Duration time.Duration

// MarshalJSON writes d as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads Go's duration text (e.g. "72h").
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Subscription asks for the events of one vault to be POSTed to URL: a warning when a
// deleted object (or the vault) comes within Before of its scheduledPurgeDate, and a
// notice when it is purged.
type Subscription struct {
	ID     string   `json:"id"`
	Vault  string   `json:"vault"` // as created
	URL    string   `json:"url"`   // https only
	Before Duration `json:"before"`
	// Secret keys the HMAC-SHA256 signature of every delivery. It is shown once, when
	// the subscription is created; Public drops it.
	Secret string `json:"secret,omitempty"`
	// CAPEM is the PEM of the CA certificates to trust for the receiver; "" → the
	// system roots.
	CAPEM string `json:"ca,omitempty"`
	// Created is on the vault clock (a subscription warns about objects already deleted
	// from then on).
	Created time.Time `json:"created"`
}

// Public is the subscription without its secret, as lists show it.
func (s Subscription) Public() Subscription {
	s.Secret = ""
	return s
}

// New checks a subscription's parameters and returns it with a new id and secret.
func New(vaultName, rawURL string, before time.Duration, caPEM string, now time.Time) (Subscription, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Fragment != "" || u.User != nil {
		return Subscription{}, &InvalidError{fmt.Sprintf("url %q must be an https:// URL with a host and no user or fragment", wiretext.Echo(rawURL))}
	}
	if before <= 0 || before > MaxBefore {
		return Subscription{}, &InvalidError{fmt.Sprintf("before must be a duration above 0 and at most %s (the longest retention), not %s", MaxBefore, before)}
	}
	if caPEM != "" {
		if _, err := CertPool(caPEM); err != nil {
			return Subscription{}, &InvalidError{err.Error()}
		}
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	return Subscription{
		ID: uuid.NewString(), Vault: vaultName, URL: u.String(), Before: Duration(before),
		Secret: base64.RawURLEncoding.EncodeToString(secret), CAPEM: caPEM, Created: now.UTC(),
	}, nil
}

// CertPool parses the PEM certificates a subscription trusts.
func CertPool(caPEM string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	rest, n := []byte(caPEM), 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("ca: a certificate does not parse: %v", err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errors.New("ca must hold at least one PEM certificate (-----BEGIN CERTIFICATE-----)")
	}
	return pool, nil
}

// WarnAt is when s warns about an object deleted at deleted and purged at purge: before
// the purge by s.Before, but not before the deletion nor before s existed. Times are
// whole seconds, as the scheduler keeps them.
func (s Subscription) WarnAt(deleted, purge time.Time) time.Time {
	at := purge.Add(-time.Duration(s.Before))
	for _, t := range []time.Time{deleted, s.Created} {
		if at.Before(t) {
			at = t
		}
	}
	return at.Truncate(time.Second)
}

func subKey(id string) string { return subPrefix + strings.ToLower(id) }

func indexPrefix(vault string) string { return vaultIndex + strings.ToLower(vault) + "/" }

// Put stores a new subscription.
func Put(tx storage.Tx, s Subscription) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := tx.Put(subKey(s.ID), b); err != nil {
		return err
	}
	return tx.Put(indexPrefix(s.Vault)+strings.ToLower(s.ID), nil)
}

// Get returns a subscription, or ErrNotFound.
func Get(tx storage.Tx, id string) (Subscription, error) {
	var s Subscription
	b, err := tx.Get(subKey(id))
	if errors.Is(err, storage.ErrNotFound) {
		return s, ErrNotFound
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("decode webhook %s: %w", id, err)
	}
	return s, nil
}

// List returns every subscription, in id order.
func List(tx storage.Tx) ([]Subscription, error) {
	es, err := tx.Scan(subPrefix, "", 0)
	if err != nil {
		return nil, err
	}
	return kvjson.DecodeAll[Subscription](es)
}

// ForVault returns the subscriptions of a vault (read from its index: a vault without
// any costs one empty scan).
func ForVault(tx storage.Tx, vault string) ([]Subscription, error) {
	es, err := tx.Scan(indexPrefix(vault), "", 0)
	if err != nil || len(es) == 0 {
		return nil, err
	}
	out := make([]Subscription, 0, len(es))
	for _, e := range es {
		s, err := Get(tx, strings.TrimPrefix(e.Key, indexPrefix(vault)))
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Delete removes a subscription; its undelivered events are dropped by the delivery
// worker when it finds the subscription gone.
func Delete(tx storage.Tx, id string) (Subscription, error) {
	s, err := Get(tx, id)
	if err != nil {
		return s, err
	}
	if err := tx.Delete(subKey(s.ID)); err != nil {
		return s, err
	}
	return s, tx.Delete(indexPrefix(s.Vault) + strings.ToLower(s.ID))
}

// Delivery is one event on its way to one subscription.
type Delivery struct {
	Seq     int64  `json:"seq"`
	Webhook string `json:"webhook"` // the subscription's id
	Event   Event  `json:"event"`
	// Attempts counts the sends begun; NextAttempt is when the next may begin (zero:
	// at once).
	Attempts    int       `json:"attempts,omitempty"`
	NextAttempt time.Time `json:"nextAttempt,omitzero"`
	// LeaseOwner holds the delivery until LeaseUntil while it sends.
	LeaseOwner string    `json:"leaseOwner,omitempty"`
	LeaseUntil time.Time `json:"leaseUntil,omitzero"`
	LastError  string    `json:"lastError,omitempty"`
}

// ReadyAt is when the delivery may next be claimed.
func (d Delivery) ReadyAt() time.Time {
	if d.LeaseOwner != "" && d.LeaseUntil.After(d.NextAttempt) {
		return d.LeaseUntil
	}
	return d.NextAttempt
}

func outboxKey(seq int64) string { return fmt.Sprintf("%s%016d", outboxPrefix, seq) }

// LastSeq is the seq of the last delivery enqueued (0 when none ever was): when it has
// not moved, nothing new is waiting.
func LastSeq(tx storage.Tx) (int64, error) {
	b, err := tx.Get(outboxSeqKey)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(b), 10, 64)
}

// Enqueue puts ev in the outbox once for each subscription, in tx.
func Enqueue(tx storage.Tx, ev Event, subs []Subscription) error {
	if len(subs) == 0 {
		return nil
	}
	seq, err := LastSeq(tx)
	if err != nil {
		return fmt.Errorf("outbox seq: %w", err)
	}
	for _, s := range subs {
		seq++
		if err := putDelivery(tx, Delivery{Seq: seq, Webhook: s.ID, Event: ev}); err != nil {
			return err
		}
	}
	return tx.Put(outboxSeqKey, []byte(strconv.FormatInt(seq, 10)))
}

func putDelivery(tx storage.Tx, d Delivery) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return tx.Put(outboxKey(d.Seq), b)
}

func getDelivery(tx storage.Tx, seq int64) (Delivery, bool, error) {
	var d Delivery
	b, err := tx.Get(outboxKey(seq))
	if errors.Is(err, storage.ErrNotFound) {
		return d, false, nil
	}
	if err != nil {
		return d, false, err
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, false, fmt.Errorf("decode %s: %w", outboxKey(seq), err)
	}
	return d, true, nil
}

// Pending returns up to limit deliveries after seq `after`, in order.
func Pending(tx storage.Tx, after int64, limit int) ([]Delivery, error) {
	start := ""
	if after > 0 {
		start = outboxKey(after)
	}
	es, err := tx.Scan(outboxPrefix, start, limit)
	if err != nil {
		return nil, err
	}
	return kvjson.DecodeAll[Delivery](es)
}

// Claim takes the delivery seq for owner until now+lease, counting an attempt, when it
// is ready: not already delivered, its backoff over, and no other owner's lease running.
// It returns the delivery and its subscription; ok is false when there is nothing to
// send. A delivery whose subscription is gone is removed (dropped is true).
func Claim(tx storage.Tx, seq int64, owner string, now time.Time, lease time.Duration) (d Delivery, s Subscription, ok, dropped bool, err error) {
	d, found, err := getDelivery(tx, seq)
	if err != nil || !found {
		return d, s, false, false, err
	}
	if now.Before(d.NextAttempt) || d.LeaseOwner != "" && d.LeaseOwner != owner && now.Before(d.LeaseUntil) {
		return d, s, false, false, nil
	}
	s, err = Get(tx, d.Webhook)
	if errors.Is(err, ErrNotFound) {
		return d, s, false, true, tx.Delete(outboxKey(seq))
	}
	if err != nil {
		return d, s, false, false, err
	}
	d.Attempts++
	d.LeaseOwner, d.LeaseUntil = owner, now.Add(lease)
	return d, s, true, false, putDelivery(tx, d)
}

// Delivered removes a delivery the receiver accepted.
func Delivered(tx storage.Tx, seq int64) error { return tx.Delete(outboxKey(seq)) }

// Retry releases owner's lease on a delivery that failed and sets when to try again. A
// delivery another owner has taken meanwhile (the lease ran out) is left alone.
func Retry(tx storage.Tx, seq int64, owner string, next time.Time, lastErr string) error {
	d, found, err := getDelivery(tx, seq)
	if err != nil || !found || d.LeaseOwner != owner {
		return err
	}
	d.LeaseOwner, d.LeaseUntil = "", time.Time{}
	d.NextAttempt, d.LastError = next, lastErr
	return putDelivery(tx, d)
}
