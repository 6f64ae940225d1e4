package vault

import (
	"encoding/json"
	"time"
)

// State is where an object is in its lifecycle.
type State int

// Lifecycle states. Purged objects have no record; a deleted record whose
// scheduledPurgeDate has passed is Purged too, whatever the sweeper has done.
const (
	Active State = iota
	Deleted
	Purged
)

func (s State) String() string {
	return [...]string{"active", "deleted", "purged"}[s]
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

	DeletedDate        time.Time `json:"deletedDate,omitzero"`
	ScheduledPurgeDate time.Time `json:"scheduledPurgeDate,omitzero"`
}

// State derives the object's state at now.
func (o *Object) State(now time.Time) State {
	switch {
	case o.DeletedDate.IsZero():
		return Active
	case !now.Before(o.ScheduledPurgeDate):
		return Purged
	default:
		return Deleted
	}
}

// SoftDelete moves an active object to Deleted, recoverable for retention.
func (o *Object) SoftDelete(now time.Time, retention time.Duration) error {
	if o.State(now) != Active {
		return &Error{Kind: ErrNotFound, ObjectKind: o.Kind, Name: o.Name}
	}
	o.DeletedDate = now
	o.ScheduledPurgeDate = now.Add(retention)
	return nil
}

// Recover brings a deleted object back with every version.
func (o *Object) Recover(now time.Time) error {
	if o.State(now) != Deleted {
		return &Error{Kind: ErrDeletedNotFound, ObjectKind: o.Kind, Name: o.Name}
	}
	o.DeletedDate = time.Time{}
	o.ScheduledPurgeDate = time.Time{}
	return nil
}

// CheckPurge says whether a purge by hand may go ahead: only a deleted object, and not
// while purge protection holds it (it is then purged when its retention ends).
func (o *Object) CheckPurge(now time.Time, purgeProtection bool) error {
	if o.State(now) != Deleted {
		return &Error{Kind: ErrDeletedNotFound, ObjectKind: o.Kind, Name: o.Name}
	}
	if purgeProtection {
		return &Error{Kind: ErrPurgeProtected, ObjectKind: o.Kind, Name: o.Name, ScheduledPurgeDate: o.ScheduledPurgeDate}
	}
	return nil
}

// CheckNameFree says whether a new object (set, create, import, restore) may take this
// record's name: not while it is deleted and recoverable.
func (o *Object) CheckNameFree(now time.Time) error {
	if o.State(now) == Deleted {
		return &Error{Kind: ErrDeletedButRecoverable, ObjectKind: o.Kind, Name: o.Name, ScheduledPurgeDate: o.ScheduledPurgeDate}
	}
	return nil
}

// CheckUnmanaged refuses a direct change to a key or secret that backs a certificate.
func (o *Object) CheckUnmanaged(op string) error {
	if o.Managed && o.Kind != KindCertificate {
		return &Error{Kind: ErrManaged, ObjectKind: o.Kind, Name: o.Name, Detail: op}
	}
	return nil
}
