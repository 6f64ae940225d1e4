package identity

import (
	"context"
	"errors"
	"time"
)

// ErrSignInRefused is a console sign-in with an unknown client id or a wrong secret.
var ErrSignInRefused = errors.New("identity: unknown client id or wrong client secret")

// SlowDownError refuses a sign-in because too many failed ones came for this client id
// or from this address: the same throttle as the token endpoint's (throttle.go).
type SlowDownError struct{ Wait time.Duration }

func (e *SlowDownError) Error() string {
	return "identity: too many failed sign-ins; retry after " + e.Wait.Round(time.Second).String()
}

// SignIn checks a client id and secret for the console, exactly as the token endpoint
// checks a client_credentials request: repeated failures from remoteAddr or for
// clientID are slowed down before the secret is looked at (*SlowDownError), an unknown
// client id costs the same comparison as a known one, and a failure counts against the
// same buckets, so the console is no cheaper way to guess a secret than the token
// endpoint.
func (s *Service) SignIn(ctx context.Context, remoteAddr, clientID, secret string) (Principal, error) {
	now := s.clock.Now()
	source := sourceKey(remoteAddr)
	if wait, _ := s.throttle.check(now, source, clientID); wait > 0 {
		return Principal{}, &SlowDownError{Wait: wait}
	}
	rec, err := s.lookup(ctx, clientID)
	switch {
	case errors.Is(err, ErrPrincipalNotFound):
		principalRecord{SecretHash: make([]byte, 32)}.secretMatches(secret)
		s.throttle.failed(now, source, clientID)
		return Principal{}, ErrSignInRefused
	case err != nil:
		return Principal{}, err
	case !rec.secretMatches(secret):
		s.throttle.failed(now, source, clientID)
		return Principal{}, ErrSignInRefused
	}
	s.throttle.succeeded(now, source, clientID)
	return rec.principal(s.tenant), nil
}
