package vault

import (
	"context"
	"errors"
	"time"

	"github.com/coffer/coffer/internal/storage"
)

// This file holds what every object kind shares: finding heads, the delete / recover /
// purge transitions applied to storage, listings of deleted objects, and name
// reservation. Kind-specific files decode the version records.

// liveObject returns the active head of name.
func liveObject(tx storage.Tx, v string, kind Kind, name string) (*Object, error) {
	var o Object
	err := getJSON(tx, liveKey(v, kind, name), &o)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, &Error{Kind: ErrNotFound, ObjectKind: kind, Name: name}
	}
	return &o, err
}

// deletedObject returns the deleted head of name, treating one past its
// scheduledPurgeDate as already purged.
func deletedObject(tx storage.Tx, v string, kind Kind, name string, now time.Time) (*Object, error) {
	var o Object
	err := getJSON(tx, deletedKey(v, kind, name), &o)
	if errors.Is(err, storage.ErrNotFound) || err == nil && o.State(now) == Purged {
		return nil, &Error{Kind: ErrDeletedNotFound, ObjectKind: kind, Name: name}
	}
	return &o, err
}

// reserveName checks that a new object may take name: no recoverable deleted object
// holds it. A deleted object past its purge date is purged here and then, so that the
// name is free exactly when the retention ends, whatever the sweeper is doing.
func reserveName(tx storage.Tx, v string, kind Kind, name string, now time.Time) error {
	var o Object
	err := getJSON(tx, deletedKey(v, kind, name), &o)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := o.CheckNameFree(now); err != nil {
		return err
	}
	return purgeTx(tx, v, &o)
}

// purgeTx removes a deleted object for good: every version, its head and its index entry.
func purgeTx(tx storage.Tx, v string, o *Object) error {
	vers, err := tx.Scan(versionPrefix(v, o.Kind, o.Name), "", 0)
	if err != nil {
		return err
	}
	for _, e := range vers {
		if err := tx.Delete(e.Key); err != nil {
			return err
		}
	}
	if err := tx.Delete(purgeKey(o.ScheduledPurgeDate, v, o.Kind, o.Name)); err != nil {
		return err
	}
	return tx.Delete(deletedKey(v, o.Kind, o.Name))
}

// deleteTx soft-deletes the live object name: the head moves to the deleted list with
// its dates and joins the sweeper's index. Versions stay where they are.
func deleteTx(tx storage.Tx, vlt Vault, kind Kind, name string, now time.Time) (*Object, error) {
	o, err := liveObject(tx, vlt.Name, kind, name)
	if err != nil {
		return nil, err
	}
	if err := o.SoftDelete(now, vlt.Retention()); err != nil {
		return nil, err
	}
	if err := tx.Delete(liveKey(vlt.Name, kind, name)); err != nil {
		return nil, err
	}
	if err := tx.Put(deletedKey(vlt.Name, kind, name), mustJSON(o)); err != nil {
		return nil, err
	}
	return o, tx.Put(purgeKey(o.ScheduledPurgeDate, vlt.Name, kind, name), nil)
}

// recoverTx brings the deleted object name back to life with all its versions.
func recoverTx(tx storage.Tx, vlt Vault, kind Kind, name string, now time.Time) (*Object, error) {
	o, err := deletedObject(tx, vlt.Name, kind, name, now)
	if err != nil {
		return nil, err
	}
	spd := o.ScheduledPurgeDate
	if err := o.Recover(now); err != nil {
		return nil, err
	}
	if err := tx.Delete(purgeKey(spd, vlt.Name, kind, name)); err != nil {
		return nil, err
	}
	if err := tx.Delete(deletedKey(vlt.Name, kind, name)); err != nil {
		return nil, err
	}
	return o, tx.Put(liveKey(vlt.Name, kind, name), mustJSON(o))
}

// Purge removes the deleted object name for good (purge by hand).
func (s *Service) Purge(ctx context.Context, vaultName string, kind Kind, name string) error {
	if err := checkName(kind, name); err != nil {
		return err
	}
	return s.st.Update(ctx, func(tx storage.Tx) error {
		now := s.Now()
		vlt, err := getVault(tx, vaultName)
		if err != nil {
			return err
		}
		o, err := deletedObject(tx, vlt.Name, kind, name, now)
		if err != nil {
			return err
		}
		if err := o.CheckPurge(now, vlt.PurgeProtection); err != nil {
			return err
		}
		return purgeTx(tx, vlt.Name, o)
	})
}

// page scans one page of records under prefix after the key suffix `after`, and says
// whether more follow.
func page(tx storage.Tx, prefix, after string, limit int) ([]storage.Entry, bool, error) {
	start := ""
	if after != "" {
		start = prefix + lower(after)
	}
	es, err := tx.Scan(prefix, start, limit+1)
	if err != nil {
		return nil, false, err
	}
	if len(es) > limit {
		return es[:limit], true, nil
	}
	return es, false, nil
}
