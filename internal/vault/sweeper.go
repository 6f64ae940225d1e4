package vault

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/coffer/coffer/internal/storage"
)

// Sweep purges every deleted object whose scheduledPurgeDate has passed, reading the
// sweeper index in purge-date order (no full scan), and returns how many it purged.
// It is idempotent and safe to run from several processes at once: each purge re-checks
// the object inside its own transaction, and a recovered object (whose index entry is
// gone, or whose date moved) is never touched.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	const batch = 256
	purged := 0
	for {
		now := s.Now()
		var due []string
		err := s.st.View(ctx, func(tx storage.Tx) error {
			es, err := tx.Scan(purgePrefix, "", batch)
			if err != nil {
				return err
			}
			due = due[:0]
			for _, e := range es {
				at, _, _, _, ok := parsePurgeKey(e.Key)
				if ok && at > now.Unix() {
					break
				}
				due = append(due, e.Key)
			}
			return nil
		})
		if err != nil || len(due) == 0 {
			return purged, err
		}
		for _, key := range due {
			n, err := s.sweepOne(ctx, key, now)
			if err != nil {
				return purged, err
			}
			purged += n
		}
		if len(due) < batch {
			return purged, nil
		}
	}
}

func (s *Service) sweepOne(ctx context.Context, key string, now time.Time) (int, error) {
	n := 0
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		n = 0
		at, v, kind, name, ok := parsePurgeKey(key)
		if !ok {
			return tx.Delete(key)
		}
		var o Object
		err := getJSON(tx, deletedKey(v, kind, name), &o)
		if errors.Is(err, storage.ErrNotFound) {
			return tx.Delete(key) // recovered or purged by hand meanwhile
		}
		if err != nil {
			return err
		}
		if o.ScheduledPurgeDate.Unix() != at {
			return tx.Delete(key) // stale entry; the current deletion has its own
		}
		if o.State(now) != Purged {
			return nil
		}
		n = 1
		return purgeTx(tx, v, &o)
	})
	return n, err
}

// RunSweeper sweeps every interval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			log.Error("sweep failed", "err", err)
		} else if n > 0 {
			log.Info("sweeper purged deleted objects past their scheduledPurgeDate", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
