package vault

import (
	"context"
	"fmt"

	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/storage"
)

// The deletion ledger as the planes and the server read it: through these methods, never
// through a raw transaction. Each links the pending entries first (ledger.Link), so
// that what it reads includes every change committed before it was called.

// linkLedger moves every pending entry into the chain, a thousand per transaction. It
// writes nothing when none is pending (always so on bbolt, where changes append).
func (s *Service) linkLedger(ctx context.Context) error {
	var n int64
	if err := s.st.View(ctx, func(tx storage.Tx) error {
		var err error
		n, err = ledger.PendingCount(tx)
		return err
	}); err != nil || n == 0 {
		return err
	}
	for {
		var n int
		if err := s.st.Update(ctx, func(tx storage.Tx) error {
			var err error
			n, err = ledger.Link(tx, 1000)
			return err
		}); err != nil {
			return fmt.Errorf("link the deletion ledger: %w", err)
		}
		if n < 1000 {
			return nil
		}
	}
}

// LedgerHead returns the ledger's head: its last sequence number, hash and entry count.
func (s *Service) LedgerHead(ctx context.Context) (ledger.Head, error) {
	var h ledger.Head
	if err := s.linkLedger(ctx); err != nil {
		return h, err
	}
	err := s.st.View(ctx, func(tx storage.Tx) error {
		var err error
		h, err = ledger.ReadHead(tx)
		return err
	})
	return h, err
}

// LedgerEntries returns the entries f selects, in order, and the sequence number to
// continue after (0 when there are no more).
func (s *Service) LedgerEntries(ctx context.Context, f ledger.Filter) (entries []ledger.Entry, next int64, err error) {
	if err := s.linkLedger(ctx); err != nil {
		return nil, 0, err
	}
	err = s.st.View(ctx, func(tx storage.Tx) error {
		entries, next, err = ledger.List(tx, f)
		return err
	})
	return entries, next, err
}

// VerifyLedger walks the hash chain and checks it against anchors. A broken chain is a
// *ledger.TamperError in verr; err is a failure to read it.
func (s *Service) VerifyLedger(ctx context.Context, anchors ...ledger.Anchor) (res ledger.Result, verr, err error) {
	if err := s.linkLedger(ctx); err != nil {
		return res, nil, err
	}
	err = s.st.View(ctx, func(tx storage.Tx) error {
		res, verr = ledger.Verify(tx, anchors...)
		return nil
	})
	return res, verr, err
}
