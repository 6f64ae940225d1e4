package vault

import (
	"context"
	"fmt"
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

// PendingPurge counts the deleted objects (or vaults) of one kind in one vault that
// await their purge.
type PendingPurge struct {
	Vault string
	Kind  string // vault, secret, key or certificate
	Count int
}

// PendingPurges returns the deleted vaults and objects awaiting purge (the sweeper's
// work, read from its index) and how far past its scheduledPurgeDate the most overdue
// one is (0 when none is): the sweeper's lag.
func (s *Service) PendingPurges(ctx context.Context) (out []PendingPurge, lag time.Duration, err error) {
	err = s.st.View(ctx, func(tx storage.Tx) error {
		now := s.Now()
		out, lag = out[:0], 0
		idx := map[[2]string]int{}
		es, err := tx.Scan(duePrefix, "", 0)
		if err != nil {
			return err
		}
		for _, kv := range es {
			e, ok := parseDueKey(kv.Key)
			if !ok || e.action != actionPurge && e.action != actionPurgeVault {
				continue
			}
			kind, vaultName := string(e.kind), e.vault
			if e.action == actionPurgeVault {
				v, err := getVaultRecord(tx, e.vault)
				if err != nil || v.ScheduledPurgeDate.Unix() != e.at {
					continue // stale: recovered or purged meanwhile
				}
				kind, vaultName = string(kindVault), v.Name
			} else {
				var o Object
				if err := getJSON(tx, deletedKey(e.vault, e.kind, e.name), &o); err != nil || o.ScheduledPurgeDate.Unix() != e.at || o.backsCertificate() {
					continue // stale, or a certificate's key or secret (counted with it)
				}
				if v, err := getVaultRecord(tx, e.vault); err == nil {
					vaultName = v.Name
				}
			}
			if d := now.Sub(time.Unix(e.at, 0)); d > lag {
				lag = d
			}
			k := [2]string{vaultName, kind}
			if i, ok := idx[k]; ok {
				out[i].Count++
				continue
			}
			idx[k] = len(out)
			out = append(out, PendingPurge{Vault: vaultName, Kind: kind, Count: 1})
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("pending purges: %w", err)
	}
	return out, lag, nil
}
