package vault

import (
	"encoding/json"
	"time"
)

// State is where a vault or an object is in its lifecycle.
type State int

// Lifecycle states. Purged vaults and objects have no record; a deleted record whose
// scheduledPurgeDate has passed is Purged too, whatever the sweeper has done.
const (
	Active State = iota
	Deleted
	Purged
)

func (s State) String() string {
	return [...]string{"active", "deleted", "purged"}[s]
}

// Lifecycle is the soft-delete state that vaults and objects share — the dates of a
// deletion — with the rules of its transitions: active → deleted (recoverable until
// scheduledPurgeDate, its name reserved) → purged. The zero Lifecycle is active. Its
// methods change or check the dates only; the storage side of each transition, and the
// step every transition ends with (change.after), are the callers'.
type Lifecycle struct {
	DeletedDate        time.Time `json:"deletedDate,omitzero"`
	ScheduledPurgeDate time.Time `json:"scheduledPurgeDate,omitzero"`
}

// State derives the state at now.
func (l Lifecycle) State(now time.Time) State {
	switch {
	case l.DeletedDate.IsZero():
		return Active
	case !now.Before(l.ScheduledPurgeDate):
		return Purged
	default:
		return Deleted
	}
}

// subject names what a lifecycle belongs to, for the errors of its rules: an object's
// kind and name, or kindVault and a vault's name.
type subject struct {
	kind Kind
	name string
}

// kindVault is the subject kind of a vault itself (in errors, the deletion ledger, the
// scheduler's index and webhook events).
const kindVault Kind = "vault"

// The rules a transition can break, and the error each is for an object and for a vault.
const (
	notActive      = iota // delete: not active
	notDeleted            // recover, purge: not deleted (or already past its date)
	nameReserved          // a new one under the name of one deleted and recoverable
	purgeProtected        // purge by hand under purge protection
)

var refusals = map[bool][4]error{
	false: {ErrNotFound, ErrDeletedNotFound, ErrDeletedButRecoverable, ErrPurgeProtected},
	true:  {ErrVaultNotFound, ErrVaultNotFound, ErrVaultDeletedName, ErrVaultPurgeProtected},
}

// refuse is who's error for breaking rule; the ones a caller can wait out carry the date.
func (who subject) refuse(rule int, l Lifecycle) error {
	e := &Error{Kind: refusals[who.kind == kindVault][rule], ObjectKind: who.kind, Name: who.name}
	if rule == nameReserved || rule == purgeProtected {
		e.ScheduledPurgeDate = l.ScheduledPurgeDate
	}
	return e
}

// softDelete moves an active lifecycle to Deleted, recoverable for retention.
func (l *Lifecycle) softDelete(who subject, now time.Time, retention time.Duration) error {
	if l.State(now) != Active {
		return who.refuse(notActive, *l)
	}
	l.DeletedDate, l.ScheduledPurgeDate = now, now.Add(retention)
	return nil
}

// recover brings a deleted lifecycle back to Active.
func (l *Lifecycle) recover(who subject, now time.Time) error {
	if l.State(now) != Deleted {
		return who.refuse(notDeleted, *l)
	}
	*l = Lifecycle{}
	return nil
}

// checkPurge says whether a purge by hand may go ahead: only a deleted one, and not while
// purge protection holds it (it is then purged when its retention ends).
func (l Lifecycle) checkPurge(who subject, now time.Time, protected bool) error {
	if l.State(now) != Deleted {
		return who.refuse(notDeleted, l)
	}
	if protected {
		return who.refuse(purgeProtected, l)
	}
	return nil
}

// checkNameFree says whether a new one (set, create, import, restore) may take this
// one's name: not while it is deleted and recoverable.
func (l Lifecycle) checkNameFree(who subject, now time.Time) error {
	if l.State(now) == Deleted {
		return who.refuse(nameReserved, l)
	}
	return nil
}

// Object is the head record of a named object: what is common to every kind. Its
// versions are stored beside it.
type Object struct {
	Kind   Kind   `json:"kind"`
	Name   string `json:"name"`   // case as first created
	Latest string `json:"latest"` // id of the current version
	// Versions counts the stored versions (for Check and backups).
	Versions int `json:"versions"`
	// Policy is kind-specific state of the whole object (a key's rotation policy); it
	// moves with the object through delete, recover, backup and restore.
	Policy json.RawMessage `json:"policy,omitempty"`
	// Managed marks the key and secret that back a certificate of the same name: only
	// the certificate's own operations may change them.
	Managed bool `json:"managed,omitempty"`

	Lifecycle
}

func (o *Object) subject() subject { return subject{o.Kind, o.Name} }

// SoftDelete moves an active object to Deleted, recoverable for retention.
func (o *Object) SoftDelete(now time.Time, retention time.Duration) error {
	return o.softDelete(o.subject(), now, retention)
}

// Recover brings a deleted object back with every version.
func (o *Object) Recover(now time.Time) error { return o.recover(o.subject(), now) }

// CheckPurge says whether a purge by hand may go ahead (see Lifecycle.checkPurge).
func (o *Object) CheckPurge(now time.Time, purgeProtection bool) error {
	return o.checkPurge(o.subject(), now, purgeProtection)
}

// CheckNameFree says whether a new object may take this record's name.
func (o *Object) CheckNameFree(now time.Time) error { return o.checkNameFree(o.subject(), now) }

// backsCertificate says whether o is the key or secret behind a certificate of its
// name: the certificate's own operations change it and move it through the lifecycle,
// and the certificate's ledger entries and events speak for it.
func (o *Object) backsCertificate() bool { return o.Managed && o.Kind != KindCertificate }

// CheckUnmanaged refuses a direct change to a key or secret that backs a certificate.
func (o *Object) CheckUnmanaged(op string) error {
	if o.backsCertificate() {
		return &Error{Kind: ErrManaged, ObjectKind: o.Kind, Name: o.Name, Detail: op}
	}
	return nil
}
