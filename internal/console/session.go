package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/storage"
)

// Sessions and sign-in links live in the storage, not in this server's memory, so that
// several servers on one PostgreSQL database serve the same console: a person signed in
// through one is signed in through all, sign-out ends the session everywhere, and a link
// printed by `coffer console` against one server works once on whichever server the
// browser reaches. The storage holds only the SHA-256 of each random token (as identity
// holds only the hash of a client secret): someone who reads the database cannot sign
// in with what it finds there.
const (
	sessionPrefix = "sys/console/sessions/"
	linkPrefix    = "sys/console/links/"
)

// OwnsKey says whether a storage key is one of the console's records (for the store
// check, which must not call them unknown).
func OwnsKey(key string) bool { return strings.HasPrefix(key, "sys/console/") }

// Default lifetimes. A session ends after IdleTimeout without a request or
// MaxLifetime after sign-in, whichever comes first; a link lives LinkLifetime.
const (
	DefaultIdleTimeout = 30 * time.Minute
	DefaultMaxLifetime = 12 * time.Hour
	LinkLifetime       = time.Minute
	// touchEvery bounds the writes that keep a session alive: its last-seen time is
	// written again only once it is this old, not on every page.
	touchEvery = time.Minute
)

// session is what the storage keeps of one signed-in browser.
type session struct {
	ClientID string    `json:"clientId"` // the principal, read again on every request
	CSRF     string    `json:"csrf"`     // the token every form that changes something carries
	Created  time.Time `json:"created"`
	LastSeen time.Time `json:"lastSeen"`
	Via      string    `json:"via"` // "secret" or "link": how it signed in
}

// link is an unused single-use sign-in link.
type link struct {
	ClientID string    `json:"clientId"`
	Expires  time.Time `json:"expires"`
}

// newToken returns 32 random bytes as base64url (what the browser holds) and the key
// the storage holds it under (hex SHA-256).
func newToken() (token string) {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokenKey(prefix, token string) string {
	sum := sha256.Sum256([]byte(token))
	return prefix + hex.EncodeToString(sum[:])
}

// validToken says whether s looks like a token newToken made, so that no other string
// is hashed into a storage key.
func validToken(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// errNoSession is a cookie that names no live session.
var errNoSession = errors.New("console: no live session")

// createSession stores a new session for clientID and returns its token (the cookie).
// Sessions past their lifetime are removed on the way, so that they do not pile up.
func (c *Console) createSession(ctx context.Context, clientID, via string) (string, session, error) {
	tok := newToken()
	now := c.now()
	s := session{ClientID: clientID, CSRF: newToken(), Created: now, LastSeen: now, Via: via}
	b, _ := json.Marshal(s)
	err := c.opts.Store.Update(ctx, func(tx storage.Tx) error {
		if err := c.pruneSessions(tx, now); err != nil {
			return err
		}
		return tx.Put(tokenKey(sessionPrefix, tok), b)
	})
	return tok, s, err
}

// pruneLimit bounds the expired records one sign-in removes.
const pruneLimit = 100

func (c *Console) pruneSessions(tx storage.Tx, now time.Time) error {
	for _, prefix := range []string{sessionPrefix, linkPrefix} {
		es, err := tx.Scan(prefix, "", 0)
		if err != nil {
			return err
		}
		removed := 0
		for _, e := range es {
			if removed >= pruneLimit {
				break
			}
			var dead bool
			if prefix == sessionPrefix {
				var s session
				dead = json.Unmarshal(e.Value, &s) != nil || c.expired(s, now)
			} else {
				var l link
				dead = json.Unmarshal(e.Value, &l) != nil || !now.Before(l.Expires)
			}
			if dead {
				if err := tx.Delete(e.Key); err != nil {
					return err
				}
				removed++
			}
		}
	}
	return nil
}

func (c *Console) expired(s session, now time.Time) bool {
	return !now.Before(s.LastSeen.Add(c.opts.IdleTimeout)) || !now.Before(s.Created.Add(c.opts.MaxLifetime))
}

// loadSession returns the live session of a cookie token, keeping it alive (its
// last-seen time is written at most once a touchEvery). An expired one is removed.
func (c *Console) loadSession(ctx context.Context, tok string) (session, error) {
	if !validToken(tok) {
		return session{}, errNoSession
	}
	key := tokenKey(sessionPrefix, tok)
	now := c.now()
	var s session
	err := c.opts.Store.View(ctx, func(tx storage.Tx) error {
		b, err := tx.Get(key)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &s)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return session{}, errNoSession
	}
	if err != nil {
		return session{}, err
	}
	if c.expired(s, now) {
		c.opts.Store.Update(ctx, func(tx storage.Tx) error { return tx.Delete(key) })
		return session{}, errNoSession
	}
	if now.Sub(s.LastSeen) >= touchEvery {
		s.LastSeen = now
		b, _ := json.Marshal(s)
		// A session another server ended meanwhile must stay ended: only rewrite one
		// that is still there.
		err := c.opts.Store.Update(ctx, func(tx storage.Tx) error {
			if _, err := tx.Get(key); err != nil {
				return err
			}
			return tx.Put(key, b)
		})
		if errors.Is(err, storage.ErrNotFound) {
			return session{}, errNoSession
		}
		if err != nil {
			return session{}, err
		}
	}
	return s, nil
}

// endSession removes a session (sign-out).
func (c *Console) endSession(ctx context.Context, tok string) error {
	if !validToken(tok) {
		return nil
	}
	return c.opts.Store.Update(ctx, func(tx storage.Tx) error { return tx.Delete(tokenKey(sessionPrefix, tok)) })
}

// CreateLink stores a single-use sign-in link for clientID and returns its token and
// when it expires.
func (c *Console) CreateLink(ctx context.Context, clientID string) (string, time.Time, error) {
	tok := newToken()
	l := link{ClientID: clientID, Expires: c.now().Add(LinkLifetime)}
	b, _ := json.Marshal(l)
	err := c.opts.Store.Update(ctx, func(tx storage.Tx) error { return tx.Put(tokenKey(linkPrefix, tok), b) })
	return tok, l.Expires, err
}

// errLinkUsed is a link that is unknown, used or expired: the page does not say which.
var errLinkUsed = errors.New("console: the sign-in link is unknown, used or expired")

// useLink consumes a link: it is removed in the same transaction that reads it, so of
// two browsers (or servers) opening it at once only one signs in.
func (c *Console) useLink(ctx context.Context, tok string) (string, error) {
	if !validToken(tok) {
		return "", errLinkUsed
	}
	key := tokenKey(linkPrefix, tok)
	now := c.now()
	var l link
	var found bool
	err := c.opts.Store.Update(ctx, func(tx storage.Tx) error {
		found = false
		b, err := tx.Get(key)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		found = true
		return tx.Delete(key)
	})
	if err != nil {
		return "", err
	}
	if !found || !now.Before(l.Expires) {
		return "", errLinkUsed
	}
	return l.ClientID, nil
}

// csrfOK compares a form's token with the session's in constant time.
func csrfOK(s session, sent string) bool {
	return sent != "" && subtle.ConstantTimeCompare([]byte(s.CSRF), []byte(sent)) == 1
}
