package vault

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"time"

	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/storage"
)

// The scheduler acts when the vault clock passes a time stored in its index (due/…),
// read in time order, so it never scans objects. One loop serves every kind of action:
// purging deleted objects at their scheduledPurgeDate today; key rotation, certificate
// renewal and purge warnings hang on the same index.
//
// Every action re-checks its object inside its own transaction, so running the
// scheduler late, twice, or from several processes at once does each thing once, and
// never to an object whose state moved on (a recovered secret is never purged).

// dueAction carries out one due entry inside tx; it reports whether it acted. It must
// delete the entry (or replace it by a later one).
type dueAction func(s *Service, tx storage.Tx, e dueEntry, now time.Time) (bool, error)

func (s *Service) actions() map[string]dueAction {
	return map[string]dueAction{
		actionPurge:      (*Service).duePurge,
		actionPurgeVault: (*Service).duePurgeVault,
		actionRotateKey:  (*Service).dueKeyAction,
		actionNotifyKey:  (*Service).dueKeyAction,
		actionRenewCert:  (*Service).dueCertAction,
		actionNotifyCert: (*Service).dueCertAction,
		actionWarn:       (*Service).dueWarn, // webhooks.go
	}
}

// Sweep carries out every scheduled action that is due and returns how many acted; then
// it prunes the deletion ledger of entries past its retention.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	n, err := s.sweepDue(ctx)
	if err != nil {
		return n, err
	}
	return n, s.pruneLedger(ctx)
}

// sweepBatch bounds the purges one transaction carries out: a backlog of a million
// overdue objects is purged at tens of thousands per second (one commit and its fsync for
// many purges, not one each), while a transaction stays short (milliseconds) so that the
// writes queued behind it wait little; reads never wait for it.
var sweepBatch = 1000

func (s *Service) sweepDue(ctx context.Context) (int, error) {
	acted := 0
	actions := s.actions()
	after := "" // entries read and left in place (not yet due to the second) are not read again
	for {
		now := s.Now()
		var due []dueEntry
		err := s.st.View(ctx, func(tx storage.Tx) error {
			es, err := tx.Scan(duePrefix, after, sweepBatch)
			if err != nil {
				return err
			}
			due = due[:0]
			for _, kv := range es {
				e, ok := parseDueKey(kv.Key)
				if !ok {
					e = dueEntry{key: kv.Key} // malformed: dropped below
				} else if e.at > now.Unix() {
					break
				}
				due = append(due, e)
			}
			return nil
		})
		if err != nil || len(due) == 0 {
			return acted, err
		}
		// Purges of objects and purge warnings go many to a transaction; every other
		// action (a vault's purge, a rotation, a renewal: heavier, and rarer) in one of
		// its own. Each
		// action re-checks its object in the transaction, as it did alone, so the
		// batch changes nothing to what is done once: a batch that fails is rolled back
		// whole, and is done again by the next sweep (this process's or another's).
		for i := 0; i < len(due); {
			j := i + 1
			for j < len(due) && bulk(due[i].action) && bulk(due[j].action) {
				j++
			}
			group := due[i:j]
			var done []string
			err := s.st.Update(ctx, func(tx storage.Tx) error {
				done = done[:0]
				for k, e := range group {
					if k%32 == 31 {
						// A batch is CPU work of tens of milliseconds on one core: let
						// requests waiting for a processor run between purges, rather than
						// at the scheduler's next preemption (up to 10 ms later): it keeps
						// the latency of reads during a sweep near what it is without.
						runtime.Gosched()
					}
					act := actions[e.action]
					if act == nil {
						if err := tx.Delete(e.key); err != nil { // malformed or from a newer binary: not ours to keep
							return err
						}
						continue
					}
					ok, err := act(s, tx, e, now)
					if err != nil {
						return err
					}
					if ok {
						done = append(done, e.action)
					}
				}
				return nil
			})
			if err != nil {
				return acted, err
			}
			for _, a := range done {
				acted++
				s.counts.add(a)
			}
			i = j
		}
		if len(due) < sweepBatch {
			return acted, nil
		}
		after = due[len(due)-1].key
	}
}

// bulk says whether action is light enough to share a transaction with many others.
func bulk(action string) bool { return action == actionPurge || action == actionWarn }

// duePurge purges a deleted object whose scheduledPurgeDate has come.
func (s *Service) duePurge(tx storage.Tx, e dueEntry, now time.Time) (bool, error) {
	var o Object
	err := getJSON(tx, deletedKey(e.vault, e.kind, e.name), &o)
	if errors.Is(err, storage.ErrNotFound) {
		return false, tx.Delete(e.key) // recovered or purged by hand meanwhile
	}
	if err != nil {
		return false, err
	}
	if o.ScheduledPurgeDate.Unix() != e.at {
		return false, tx.Delete(e.key) // stale entry; the current deletion has its own
	}
	if o.State(now) != Purged {
		return false, nil
	}
	vlt, err := getVaultRecord(tx, e.vault)
	if err != nil {
		return false, err
	}
	return true, purgeTx(tx, ledger.ActionAutoPurge, autoPurge(""), vlt, &o, now)
}

// schedule puts one object's entries in the scheduler's index: when each action falls
// due. Entries made for an older state become stale; their handlers recompute the time
// and drop them when it differs.
func schedule(tx storage.Tx, v string, kind Kind, name string, due map[string]time.Time) error {
	for action, at := range due {
		if err := tx.Put(dueKey(at, action, v, kind, name), nil); err != nil {
			return err
		}
	}
	return nil
}

// dueObject is what a scheduled action on a live object (a rotation, a renewal) acts on:
// its vault, its head, its latest version and its policy.
type dueObject[V, P any] struct {
	vlt    Vault
	o      *Object
	latest V
	policy P
}

// dueLatest reads the live object a scheduled action names, with policy decoding its
// policy, after removing the entry (the action replaces it by the next one). ok is false
// when the entry is stale: its vault or object is deleted or gone (a recover schedules
// again).
func dueLatest[V, P any](s *Service, tx storage.Tx, e dueEntry, policy func(*Object) (P, error)) (d dueObject[V, P], ok bool, err error) {
	if err := tx.Delete(e.key); err != nil {
		return d, false, err
	}
	d.vlt, err = s.Internal().vault(tx, e.vault)
	if err == nil {
		d.o, err = shownObject(tx, d.vlt.Name, e.kind, e.name)
	}
	if errors.Is(err, ErrVaultNotFound) || errors.Is(err, ErrNotFound) {
		return d, false, nil
	}
	if err != nil {
		return d, false, err
	}
	if d.policy, err = policy(d.o); err != nil {
		return d, false, err
	}
	d.latest, err = getVersion[V](tx, d.vlt.Name, d.o, "")
	return d, err == nil, err
}

// RunSweeper runs the scheduler every interval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			log.Error("scheduler failed", "err", err)
		} else if n > 0 {
			log.Info("scheduler carried out due actions (purges past scheduledPurgeDate)", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
