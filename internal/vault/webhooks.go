package vault

import (
	"context"
	"errors"
	"time"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/kvjson"
	"github.com/coffer/coffer/internal/webhook"
)

// This file hooks the webhooks (package webhook) into the lifecycle. Each subscription
// of a vault asks for a warning when a deleted object — or the vault itself — comes
// within its window (Before) of its scheduledPurgeDate, and a notice when it is purged.
//
//   - A soft delete puts one `warn` entry in the scheduler's index per distinct warning
//     time of the vault's subscriptions (webhook.Subscription.WarnAt); creating a
//     subscription does the same for what is already deleted in its vault.
//   - The scheduler's warn action re-checks, inside its transaction, that the object is
//     still deleted with the same dates and which subscriptions this entry's time is
//     theirs, and writes their events into the outbox; a recovered, purged or re-deleted
//     object's entry is stale and dropped, as the other actions drop theirs.
//   - Every purge — by hand, by the sweeper, when a name is taken again, or with its
//     vault — writes a Purged event beside its ledger entry (change.after, transition.go).
//
// Everything is written in the transaction of the change, so nothing is lost on a crash;
// the server delivers the outbox. A certificate's key and secret move with it and raise
// no events of their own.

// actionWarn is the scheduler's action for a warning before a purge.
const actionWarn = "warn"

// CreateWebhook subscribes url to the events of vaultName (live or deleted, not purged):
// warnings before each purge by before, and notices after. The answer carries the
// signing secret, which is shown only here.
func (s *Service) CreateWebhook(ctx context.Context, vaultName, url string, before time.Duration, caPEM string) (webhook.Subscription, error) {
	var out webhook.Subscription
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		now := s.Now()
		v, err := getVaultRecord(tx, vaultName)
		if err == nil && v.State(now) == Purged {
			err = &Error{Kind: ErrVaultNotFound, ObjectKind: kindVault, Name: vaultName}
		}
		if err != nil {
			return err
		}
		sub, err := webhook.New(v.Name, url, before, caPEM, now)
		if err != nil {
			return err
		}
		if err := webhook.Put(tx, sub); err != nil {
			return err
		}
		out = sub
		return s.warnAboutDeleted(tx, v, sub, now)
	})
	return out, err
}

// warnAboutDeleted schedules a new subscription's warnings for what its vault already
// holds deleted (one scan of each kind's deleted list, in that vault only).
func (s *Service) warnAboutDeleted(tx storage.Tx, v Vault, sub webhook.Subscription, now time.Time) error {
	if v.State(now) == Deleted {
		if err := tx.Put(dueKey(sub.WarnAt(v.DeletedDate, v.ScheduledPurgeDate), actionWarn, v.Name, webhook.KindVault, v.Name), nil); err != nil {
			return err
		}
	}
	inside, err := deletedHeads(tx, v.Name, objectKinds)
	if err != nil {
		return err
	}
	for _, o := range inside {
		if o.State(now) != Deleted || o.backsCertificate() {
			continue
		}
		if err := tx.Put(dueKey(sub.WarnAt(o.DeletedDate, o.ScheduledPurgeDate), actionWarn, v.Name, o.Kind, o.Name), nil); err != nil {
			return err
		}
	}
	return nil
}

// ListWebhooks returns every subscription, without their secrets.
func (s *Service) ListWebhooks(ctx context.Context) ([]webhook.Subscription, error) {
	var out []webhook.Subscription
	err := s.st.View(ctx, func(tx storage.Tx) error {
		subs, err := webhook.List(tx)
		out = subs
		return err
	})
	for i := range out {
		out[i] = out[i].Public()
	}
	return out, err
}

// DeleteWebhook removes a subscription (webhook.ErrNotFound when there is none); its
// scheduled warnings find it gone and its undelivered events are dropped.
func (s *Service) DeleteWebhook(ctx context.Context, id string) (webhook.Subscription, error) {
	var out webhook.Subscription
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		sub, err := webhook.Delete(tx, id)
		out = sub.Public()
		return err
	})
	return out, err
}

// scheduleWarnings puts the warn entries for a deletion (of an object, or of the vault
// with kind "vault") in the scheduler's index: one per distinct warning time of the
// vault's subscriptions. A vault without subscriptions costs one empty index scan.
func scheduleWarnings(tx storage.Tx, vaultName string, kind Kind, name string, deleted, purge time.Time) error {
	subs, err := webhook.ForVault(tx, vaultName)
	if err != nil {
		return err
	}
	seen := map[int64]bool{}
	for _, sub := range subs {
		at := sub.WarnAt(deleted, purge)
		if seen[at.Unix()] {
			continue
		}
		seen[at.Unix()] = true
		if err := tx.Put(dueKey(at, actionWarn, vaultName, kind, name), nil); err != nil {
			return err
		}
	}
	return nil
}

// dueWarn raises the PurgeImminent event of a deleted object or vault for the
// subscriptions whose warning time is this entry's.
func (s *Service) dueWarn(tx storage.Tx, e dueEntry, now time.Time) (bool, error) {
	// Another server may have carried this entry out since the sweep read it: the entry
	// is gone then, and warning again would be a duplicate.
	if _, err := tx.Get(e.key); errors.Is(err, storage.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	drop := func() (bool, error) { return false, tx.Delete(e.key) }
	v, err := getVaultRecord(tx, e.vault)
	if errors.Is(err, ErrVaultNotFound) {
		return drop() // purged with its vault
	}
	if err != nil {
		return false, err
	}
	ev := webhook.Event{Kind: string(e.kind)}
	if e.kind == webhook.KindVault {
		if v.State(now) != Deleted {
			return drop() // recovered, or past its date: the purge's notice comes instead
		}
		ev.Name, ev.DeletedDate, ev.ScheduledPurgeDate = v.Name, v.DeletedDate, v.ScheduledPurgeDate
	} else {
		var o Object
		err := kvjson.Get(tx, deletedKey(e.vault, e.kind, e.name), &o)
		if errors.Is(err, storage.ErrNotFound) {
			return drop() // recovered or purged meanwhile
		}
		if err != nil {
			return false, err
		}
		if o.State(now) != Deleted || o.backsCertificate() {
			return drop()
		}
		ev.Name, ev.DeletedDate, ev.ScheduledPurgeDate = o.Name, o.DeletedDate, o.ScheduledPurgeDate
	}
	subs, err := webhook.ForVault(tx, e.vault)
	if err != nil {
		return false, err
	}
	var due []webhook.Subscription
	for _, sub := range subs {
		if sub.WarnAt(ev.DeletedDate, ev.ScheduledPurgeDate).Unix() == e.at {
			due = append(due, sub)
		}
	}
	if len(due) == 0 {
		return drop() // a subscription since deleted, or an older deletion's entry
	}
	if err := enqueue(tx, v, ev, webhook.PurgeImminent, due, now); err != nil {
		return false, err
	}
	return true, tx.Delete(e.key)
}

// enqueue writes ev (its object fields set) as a `what` event of vault v into the
// outbox for subs.
func enqueue(tx storage.Tx, v Vault, ev webhook.Event, what string, subs []webhook.Subscription, now time.Time) error {
	base := webhook.NewEvent(what, ev.Kind, now)
	ev.ID, ev.Type, ev.Time = base.ID, base.Type, base.Time
	ev.Subscription, ev.ResourceGroup, ev.Location, ev.Vault = v.Subscription, v.ResourceGroup, v.Location, v.Name
	return webhook.Enqueue(tx, ev, subs)
}
