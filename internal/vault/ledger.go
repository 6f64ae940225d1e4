package vault

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/storage"
)

// This file reads the deletion ledger (package ledger; its entries are written by every
// transition's last step, change.after in transition.go), prunes it past its retention,
// and keeps the counts the server's metrics read.

// DefaultLedgerRetention is how long ledger entries are kept (--ledger-retention).
const DefaultLedgerRetention = 365 * 24 * time.Hour

// pruneLedger removes ledger entries older than the retention (ledger.Prune writes
// the checkpoint that keeps the chain verifiable).
func (s *Service) pruneLedger(ctx context.Context) error {
	now := s.Now()
	before := now.Add(-s.ledgerRetention)
	if err := s.linkLedger(ctx); err != nil { // the oldest entries may still be pending
		return err
	}
	for {
		var old bool
		if err := s.st.View(ctx, func(tx storage.Tx) error {
			t, ok, err := ledger.Oldest(tx)
			old = ok && t.Before(before)
			return err
		}); err != nil || !old {
			return err
		}
		var n int
		if err := s.st.Update(ctx, func(tx storage.Tx) error {
			var err error
			n, err = ledger.Prune(tx, before, now, 1000)
			return err
		}); err != nil {
			return err
		}
		if n > 0 {
			s.log.Info("pruned the deletion ledger", "entries", n, "olderThan", before)
		}
		if n < 1000 {
			return nil
		}
	}
}

// schedulerCounts counts the scheduler's actions by kind, for metrics.
type schedulerCounts struct {
	purge, purgeVault, other atomic.Uint64
}

func (c *schedulerCounts) add(action string) {
	switch action {
	case actionPurge:
		c.purge.Add(1)
	case actionPurgeVault:
		c.purgeVault.Add(1)
	default:
		c.other.Add(1)
	}
}

// SchedulerCounts returns how many scheduled actions this process has carried out, by
// action: "purge" (deleted objects), "purge-vault", and "other" (rotation, renewal,
// notices).
func (s *Service) SchedulerCounts() map[string]uint64 {
	return map[string]uint64{
		actionPurge:      s.counts.purge.Load(),
		actionPurgeVault: s.counts.purgeVault.Load(),
		"other":          s.counts.other.Load(),
	}
}
