package vault

import (
	"time"

	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/webhook"
)

// This file is the step every lifecycle transition ends with. A transition — the delete,
// recover or purge of an object or of a vault, asked for by a request, done by the sweeper
// when the retention ends, or done when a new object or vault takes the name — changes its
// records, then hands a change to after in the same transaction. after writes everything
// that follows from it, so nothing is lost on a crash and no transition forgets a part:
//
//   - the deletion ledger's entry (package ledger);
//   - the scheduler's purge entries: a delete adds its own, a recover and a purge remove
//     it, and a vault's purge also those of the deleted objects inside;
//   - the webhook events (package webhook): a delete schedules the warnings before its
//     purge, a purge writes the Purged notices (a vault's, also for the objects inside);
//   - a vault's role assignments (package rbac): a delete sets them aside, a recover
//     brings them back, a purge removes them;
//   - the counts of deleted objects the metrics show (stats.go).
//
// The key and secret behind a certificate have purge entries of their own (the sweeper
// purges each), but no ledger entries or events: the certificate's speak for them.

// A change is one lifecycle transition, as its side effects need it.
type change struct {
	action string       // ledger.ActionDelete, ActionRecover, ActionPurge or ActionAutoPurge
	who    ledger.Entry // who asked; ledger.Sweeper (with a note) for an automatic purge
	vault  Vault        // the vault the subject is in, or the vault itself
	subject
	backing bool        // the subject is a key or secret behind a certificate
	dates   Lifecycle   // the deletion's: new for a delete, undone for a recover, purged for a purge
	inside  []Object    // for a vault's purge: the deleted objects purged with it
	batch   *purgeBatch // the sweeper's batch the change is part of (sweeper.go), or nil
}

// objectChange is the change of object o in vlt; o carries the deletion's dates.
func objectChange(action string, who ledger.Entry, vlt Vault, o *Object) change {
	return change{action: action, who: who, vault: vlt, subject: o.subject(), backing: o.backsCertificate(), dates: o.Lifecycle}
}

// vaultChange is the change of vault v; v carries its deletion's dates.
func vaultChange(action string, who ledger.Entry, v Vault) change {
	return change{action: action, who: who, vault: v, subject: v.subject(), dates: v.Lifecycle}
}

// after writes the change's ledger entry, scheduler entries and webhook events in tx.
func (c change) after(tx storage.Tx, now time.Time) error {
	if err := c.schedule(tx); err != nil {
		return err
	}
	if err := c.roles(tx); err != nil {
		return err
	}
	if !c.backing {
		if err := c.record(tx, now); err != nil {
			return err
		}
		if err := c.notify(tx, now); err != nil {
			return err
		}
	}
	// The count last: its record is shared by the changes of many objects in the vault
	// (stats.go), and on storage that locks what it reads the lock lasts from here to the
	// commit, so the fewer round trips that follow, the less the others wait.
	return c.count(tx) // stats.go
}

// roles moves a vault's role assignments with it: set aside while it is deleted (they
// do not apply to a vault that is not there, and are not listed), back when it is
// recovered, gone when it is purged, so a new vault of that name starts with none.
func (c change) roles(tx storage.Tx) error {
	if c.kind != kindVault {
		return nil
	}
	switch c.action {
	case ledger.ActionDelete:
		return rbac.HoldVault(tx, c.name)
	case ledger.ActionRecover:
		return rbac.ReleaseVault(tx, c.name)
	case ledger.ActionPurge, ledger.ActionAutoPurge:
		return rbac.PurgeVault(tx, c.name)
	}
	return nil
}

// purgeEntry is the scheduler's entry that purges who, deleted in vaultName, at.
func purgeEntry(vaultName string, who subject, at time.Time) string {
	if who.kind == kindVault {
		return dueKey(at, actionPurgeVault, who.name, kindVault, who.name)
	}
	return purgeKey(at, vaultName, who.kind, who.name)
}

// schedule adds or removes the sweeper's purge entries.
func (c change) schedule(tx storage.Tx) error {
	key := purgeEntry(c.vault.Name, c.subject, c.dates.ScheduledPurgeDate)
	if c.action == ledger.ActionDelete {
		return tx.Put(key, nil)
	}
	if err := tx.Delete(key); err != nil {
		return err
	}
	for _, o := range c.inside {
		if err := tx.Delete(purgeEntry(c.vault.Name, o.subject(), o.ScheduledPurgeDate)); err != nil {
			return err
		}
	}
	return nil
}

// record appends the deletion ledger's entry: to the chain, or, on storage with
// concurrent writers, pending (ledgerlink.go), so that a change does not wait for the
// chain's head, which every other change would wait for too.
func (c change) record(tx storage.Tx, now time.Time) error {
	e := c.who
	e.Time, e.Action, e.Kind, e.Vault, e.Name = now, c.action, string(c.kind), c.vault.Name, c.name
	e.DeletedDate, e.ScheduledPurgeDate = c.dates.DeletedDate, c.dates.ScheduledPurgeDate
	if c.action == ledger.ActionAutoPurge {
		e.LateBySeconds = lateBy(now, c.dates.ScheduledPurgeDate)
	}
	if c.batch != nil {
		c.batch.record(e) // appended with the batch's others (purgeBatch.flush)
		return nil
	}
	return appendEntry(tx, e)
}

// appendEntry appends e to the deletion ledger the way every change of this Service
// does: to the chain, or pending on storage with concurrent writers.
func appendEntry(tx storage.Tx, e ledger.Entry) error {
	if _, pending := tx.(*pendingWatch); pending {
		return ledger.AppendPending(tx, e) // linked before the change is acknowledged: ledgerlink.go
	}
	_, err := ledger.Append(tx, e)
	return err
}

// notify schedules a delete's warnings, or writes a purge's notices.
func (c change) notify(tx storage.Tx, now time.Time) error {
	switch c.action {
	case ledger.ActionDelete:
		return scheduleWarnings(tx, c.vault.Name, c.kind, c.name, c.dates.DeletedDate, c.dates.ScheduledPurgeDate)
	case ledger.ActionPurge, ledger.ActionAutoPurge:
		subs, err := c.subscriptions(tx)
		if err != nil || len(subs) == 0 {
			return err
		}
		for _, o := range c.inside { // a warned object always gets its notice
			if o.backsCertificate() {
				continue
			}
			if err := enqueue(tx, c.vault, purgedEvent(o.subject(), o.Lifecycle), webhook.Purged, subs, now); err != nil {
				return err
			}
		}
		return enqueue(tx, c.vault, purgedEvent(c.subject, c.dates), webhook.Purged, subs, now)
	}
	return nil
}

// subscriptions are the webhook subscriptions of the change's vault.
func (c change) subscriptions(tx storage.Tx) ([]webhook.Subscription, error) {
	if c.batch != nil {
		return c.batch.subscriptions(c.vault.Name)
	}
	return webhook.ForVault(tx, c.vault.Name)
}

func purgedEvent(who subject, dates Lifecycle) webhook.Event {
	return webhook.Event{Kind: string(who.kind), Name: who.name, DeletedDate: dates.DeletedDate, ScheduledPurgeDate: dates.ScheduledPurgeDate}
}

func lateBy(now, scheduled time.Time) int64 {
	if d := now.Sub(scheduled); d > 0 {
		return int64(d / time.Second)
	}
	return 0
}

// nameReuse is the note of an automatic purge done when a new object or vault took
// the name of one whose retention had ended before the sweeper came.
const nameReuse = "retention ended; purged when the name was taken again, before the sweeper came"

// autoPurge is who purges when the retention has ended: the sweeper, with a note when it
// happened because the name was taken again.
func autoPurge(note string) ledger.Entry { return ledger.Entry{Principal: ledger.Sweeper, Note: note} }
