package vault

import (
	"context"

	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/storage"
)

// The deletion ledger as the planes and the server read it: through these methods, never
// through a raw transaction.

// LedgerHead returns the ledger's head: its last sequence number, hash and entry count.
func (s *Service) LedgerHead(ctx context.Context) (ledger.Head, error) {
	var h ledger.Head
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
	err = s.st.View(ctx, func(tx storage.Tx) error {
		entries, next, err = ledger.List(tx, f)
		return err
	})
	return entries, next, err
}

// VerifyLedger walks the hash chain and checks it against anchors. A broken chain is a
// *ledger.TamperError in verr; err is a failure to read it.
func (s *Service) VerifyLedger(ctx context.Context, anchors ...ledger.Anchor) (res ledger.Result, verr, err error) {
	err = s.st.View(ctx, func(tx storage.Tx) error {
		res, verr = ledger.Verify(tx, anchors...)
		return nil
	})
	return res, verr, err
}
