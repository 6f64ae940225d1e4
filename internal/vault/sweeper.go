package vault

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/kvjson"
	"github.com/coffer/coffer/internal/webhook"
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
		actionPurge:      nil, // in a purgeBatch: see sweepDue
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

// sweepBatch bounds the due entries one sweep reads at a time, and the purges one
// transaction carries out: a backlog of a million overdue objects is purged at tens of
// thousands per second (one commit and its fsync for many purges, not one each).
var sweepBatch = 1000

// sweepSlice bounds the work of one sweeper transaction (it stops taking entries past
// it, and commits): a transaction stays short, so the writes queued behind it wait
// little (reads never wait for it), and the sweeper can rest between two (pacer).
var sweepSlice = 10 * time.Millisecond

// yieldEvery is how many actions of a transaction run between two yields of the
// processor, and two looks at the time it has taken.
const yieldEvery = 16

// yieldSleep is how long the sweeper sleeps to yield its processor while requests are
// served (pacer.yield).
const yieldSleep = 20 * time.Microsecond

func (s *Service) sweepDue(ctx context.Context) (int, error) {
	acted := 0
	actions := s.actions()
	after := "" // entries read and left in place (not yet due to the second) are not read again
	for {
		now := s.Now()
		var due []dueEntry
		err := s.st.View(ctx, func(tx storage.Tx) error {
			keys, err := storage.ScanKeys(tx, duePrefix, after, sweepBatch) // the entries' values are empty
			if err != nil {
				return err
			}
			due = due[:0]
			for _, k := range keys {
				e, ok := parseDueKey(k)
				if !ok {
					e = dueEntry{key: k} // malformed: dropped below
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
		// Purges of objects and purge warnings go many to a transaction, up to
		// sweepSlice of work; every other action (a vault's purge, a rotation, a renewal:
		// heavier, and rarer) in one of its own. Each action re-checks its object in the
		// transaction, as it did alone, so the batch changes nothing to what is done
		// once: a batch that fails is rolled back whole, and is done again by the next
		// sweep (this process's or another's).
		for i := 0; i < len(due); {
			j := i + 1
			for j < len(due) && bulk(due[i].action) && bulk(due[j].action) {
				j++
			}
			group := due[i:j]
			var done []string
			var took int // entries of group carried out (or left, not due yet)
			var began time.Time
			// Background work: no request waits for it, so the storage may give it a
			// lower processor priority than the requests it serves (bbolt does).
			err := storage.UpdateBackground(ctx, s.st, func(tx storage.Tx) error {
				done, took, began = done[:0], len(group), wall.Now()
				b := newPurgeBatch(tx, len(group)) // fresh on every run of the function
				for k, e := range group {
					if k%yieldEvery == yieldEvery-1 {
						t := wall.Now()
						if t.Sub(began) >= sweepSlice {
							took = k // the rest in the next transaction
							break
						}
						s.pace.yield(t)
					}
					var ok bool
					var err error
					switch act := actions[e.action]; {
					case e.action == actionPurge:
						ok, err = s.duePurge(b, e, now)
					case act == nil: // malformed or from a newer binary: not ours to keep
						err = tx.Delete(e.key)
					default:
						ok, err = act(s, tx, e, now)
					}
					if err != nil {
						return err
					}
					if ok {
						done = append(done, e.action)
					}
				}
				return b.flush()
			})
			if err != nil {
				return acted, err
			}
			for _, a := range done {
				acted++
				s.counts.add(a)
			}
			i += took
			if err := s.pace.rest(ctx, took, wall.Now().Sub(began)); err != nil {
				return acted, err
			}
		}
		if len(due) < sweepBatch {
			return acted, nil
		}
		after = due[len(due)-1].key
	}
}

// wall is the clock the sweeper paces itself by: real time, whatever the vault clock.
var wall clock.Clock = clock.Real{}

// sweepShare is the share of one processor the sweeper takes at most while requests are
// being served: it rests between two transactions for as long as it needs to keep to it
// (the time a transaction takes, its commit included, counting as work).
// Its purges are CPU work (decoding, ledger hashing, the commit's page writes); on a
// small machine a sweeper that takes a whole processor for a backlog of a million makes
// the requests served meanwhile wait for one (the p99 of a get was 6 times its usual).
// At rest between requests it takes what it can.
var sweepShare = 0.5

// sweepFloor is the rate, in actions a second, below which the sweeper's rests never take
// it: on a machine busy with other work, where keeping to sweepShare would make a backlog
// of a million take minutes, it rests less (a million then takes at most 50 s, if the
// machine can do 20,000 a second at all).
var sweepFloor = 20000.0

// busyWithin is how recently a request must have been seen for the sweeper to keep to
// sweepShare.
const busyWithin = 100 * time.Millisecond

// pacer paces the sweeper (see sweepShare).
type pacer struct {
	busy     atomic.Pointer[func() bool] // nil: never busy
	lastBusy time.Time                   // the sweeper's own (one sweep at a time per Service)
}

// SetBusy tells the sweeper how to know that requests are being served (the server: a
// data-plane request is in flight), so that it keeps to its share of the processor then.
func (s *Service) SetBusy(busy func() bool) { s.pace.setBusy(busy) }

// setBusy sets how the pacer knows that requests are being served.
func (p *pacer) setBusy(busy func() bool) { p.busy.Store(&busy) }

// rest sleeps after a transaction of n actions that took took from its start to the end
// of its commit, for as long as keeps the sweeper to sweepShare while requests are served,
// but not below sweepFloor.
func (p *pacer) rest(ctx context.Context, n int, took time.Duration) error {
	d := p.restFor(wall.Now(), n, took)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// yield lets requests run between purges. While requests are being served it sleeps
// for yieldSleep rather than calling runtime.Gosched: Gosched puts the sweeper on the
// scheduler's global queue, which the scheduler takes from before it looks at the
// network, so a request that has arrived meanwhile waits for the runtime's next full
// poll (up to 10 ms) unless another processor is idle. Asleep, the sweeper leaves
// its processor nothing queued: the scheduler polls the network and runs the request
// first. At c=1 during a sweep this took a get's p99 from 4–5 times its p99 without a
// sweep to about 2.5 times. At rest it only calls Gosched.
func (p *pacer) yield(now time.Time) {
	if p.recentlyBusy(now) {
		time.Sleep(yieldSleep)
		return
	}
	runtime.Gosched()
}

// recentlyBusy reports whether requests were seen within busyWithin of now (as of the
// last transaction's end).
func (p *pacer) recentlyBusy(now time.Time) bool {
	return !p.lastBusy.IsZero() && now.Sub(p.lastBusy) <= busyWithin
}

// restFor is how long rest sleeps at now.
func (p *pacer) restFor(now time.Time, n int, took time.Duration) time.Duration {
	if b := p.busy.Load(); b != nil && (*b)() {
		p.lastBusy = now
	}
	if !p.recentlyBusy(now) || sweepShare >= 1 {
		return 0
	}
	// The commit counts as work: writing the pages a batch of purges dirtied is processor
	// time too (measured: as much as the purges' own), not only a wait for the disk.
	share := time.Duration(float64(took)/sweepShare) - took
	floor := time.Duration(float64(n)/sweepFloor*float64(time.Second)) - took
	return max(0, min(share, floor))
}

// bulk says whether action is light enough to share a transaction with many others.
func bulk(action string) bool { return action == actionPurge || action == actionWarn }

// duePurge purges a deleted object whose scheduledPurgeDate has come, in the batch b.
func (s *Service) duePurge(b *purgeBatch, e dueEntry, now time.Time) (bool, error) {
	tx := b.tx
	var o Object
	err := kvjson.Get(tx, deletedKey(e.vault, e.kind, e.name), &o)
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
	vlt, err := b.vault(e.vault)
	if err != nil {
		return false, err
	}
	return true, purgeIn(tx, b, ledger.ActionAutoPurge, autoPurge(""), vlt, &o, now)
}

// A purgeBatch is what the purges of one sweeper transaction share, so that a purge
// costs little more than deleting its object's records: the records every purge of a
// vault reads (the vault's, its webhook subscriptions) are read once per transaction;
// the records every purge changes (the ledger's head, the deleted counts) are changed
// once, when the batch ends (flush). Nothing else in the transaction reads those
// records between the purges (purge warnings, the only other action in a batch, read
// neither), and the transaction commits all or nothing, so each purge still has its one
// ledger entry, its notices and its count, exactly when its records are gone.
type purgeBatch struct {
	tx     storage.Tx
	vaults map[string]vaultRead
	subs   map[string][]webhook.Subscription
	counts map[kindCount]int64 // deleted counts' changes not yet written, by vault and kind
	ledger []ledger.Entry      // entries not yet appended, in the order of the purges
}

type vaultRead struct {
	v   Vault
	err error
}

// newPurgeBatch returns the batch of a transaction of up to n purges.
func newPurgeBatch(tx storage.Tx, n int) *purgeBatch {
	return &purgeBatch{tx: tx, ledger: make([]ledger.Entry, 0, n)}
}

// vault is getVaultRecord, read once per batch.
func (b *purgeBatch) vault(name string) (Vault, error) {
	if r, ok := b.vaults[name]; ok {
		return r.v, r.err
	}
	v, err := getVaultRecord(b.tx, name)
	if err != nil && !errors.Is(err, ErrVaultNotFound) {
		return v, err // not kept: the transaction fails
	}
	if b.vaults == nil {
		b.vaults = map[string]vaultRead{}
	}
	b.vaults[name] = vaultRead{v, err}
	return v, err
}

// subscriptions is webhook.ForVault, read once per batch.
func (b *purgeBatch) subscriptions(vault string) ([]webhook.Subscription, error) {
	if subs, ok := b.subs[vault]; ok {
		return subs, nil
	}
	subs, err := webhook.ForVault(b.tx, vault)
	if err != nil {
		return nil, err
	}
	if b.subs == nil {
		b.subs = map[string][]webhook.Subscription{}
	}
	b.subs[vault] = subs
	return subs, nil
}

// addCount is addCount on one of the count records of kind in vault v, written by
// flush: the batch's changes of one vault and kind add up to one write.
func (b *purgeBatch) addCount(v string, k Kind, delta int64) {
	if b.counts == nil {
		b.counts = map[kindCount]int64{}
	}
	b.counts[kindCount{v, k}] += delta
}

// kindCount names the counts of one kind in one vault.
type kindCount struct {
	vault string
	kind  Kind
}

// record is a ledger entry, appended by flush.
func (b *purgeBatch) record(e ledger.Entry) { b.ledger = append(b.ledger, e) }

// flush writes what the batch's purges left to the end: the counts and the ledger
// entries.
func (b *purgeBatch) flush() error {
	for c, delta := range b.counts {
		if err := addCount(b.tx, statsKey(c.vault, c.kind), delta); err != nil {
			return err
		}
	}
	if len(b.ledger) == 0 {
		return nil
	}
	if _, pending := b.tx.(*pendingWatch); pending {
		for _, e := range b.ledger { // linked before the sweep's commit counts as done: ledgerlink.go
			if err := ledger.AppendPending(b.tx, e); err != nil {
				return err
			}
		}
		return nil
	}
	return ledger.AppendAll(b.tx, b.ledger)
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
