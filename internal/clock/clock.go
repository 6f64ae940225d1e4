// Package clock is the only place in the server that reads the wall clock. Everything
// that dates anything holds a [Clock]; tests use [Fake] and move it instead of sleeping.
//
// A server runs two clocks: [Real], which dates and checks tokens, TLS certificates and
// audit records, and the vault clock, a [Shifted] over Real, which dates everything the
// vault domain records (created, deletedDate, scheduledPurgeDate) and drives the
// scheduled purges. Keeping them apart is what lets a time shift test a retention
// without expiring a single token. clock is a leaf: it imports no Coffer package.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Real is the system clock, in UTC.
type Real struct{}

// Now returns the current UTC time.
func (Real) Now() time.Time { return time.Now().UTC() }

// Fake is a clock that only moves when told to. The zero value starts at the Unix epoch;
// use NewFake for a realistic date.
type Fake struct {
	mu  sync.Mutex
	now time.Time
}

// NewFake returns a Fake clock set to t.
func NewFake(t time.Time) *Fake { return &Fake{now: t.UTC()} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the fake time forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// Shifted is a clock running at the pace of Base plus an offset that only grows: the
// vault clock, which `POST /admin/time-shift` moves forward on a server started with
// `--allow-time-shift` (docs/api.md). The offset only grows so that no date the vault
// has written is ever followed by an earlier one. The offset is persisted by its owner
// (the server keeps it in storage and every server on one database follows it); Shifted
// only holds it.
type Shifted struct {
	Base Clock

	mu     sync.RWMutex
	offset time.Duration
}

// Now returns Base.Now() plus the offset.
func (s *Shifted) Now() time.Time {
	s.mu.RLock()
	off := s.offset
	s.mu.RUnlock()
	return s.Base.Now().Add(off)
}

// Offset returns the current offset.
func (s *Shifted) Offset() time.Duration {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.offset
}

// SetOffset sets the offset; it never moves the clock backwards.
func (s *Shifted) SetOffset(d time.Duration) {
	s.mu.Lock()
	if d > s.offset {
		s.offset = d
	}
	s.mu.Unlock()
}
