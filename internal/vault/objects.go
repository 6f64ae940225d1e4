package vault

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coffer/coffer/internal/ledger"
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
func reserveName(tx storage.Tx, vlt Vault, kind Kind, name string, now time.Time) error {
	var o Object
	err := getJSON(tx, deletedKey(vlt.Name, kind, name), &o)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := o.CheckNameFree(now); err != nil {
		return err
	}
	return purgeTx(tx, ledger.ActionAutoPurge, autoPurge(nameReuse), vlt, &o, now)
}

// purgeTx purges the deleted object o for good: every version, its head (and a
// certificate's issuance operation, whichever path purges it).
func purgeTx(tx storage.Tx, action string, who ledger.Entry, vlt Vault, o *Object, now time.Time) error {
	if err := objectChange(action, who, vlt, o).after(tx, now); err != nil {
		return err
	}
	vers, err := tx.Scan(versionPrefix(vlt.Name, o.Kind, o.Name), "", 0)
	if err != nil {
		return err
	}
	for _, e := range vers {
		if err := tx.Delete(e.Key); err != nil {
			return err
		}
	}
	if o.Kind == KindCertificate {
		if err := tx.Delete(opKey(vlt.Name, o.Name)); err != nil {
			return err
		}
	}
	return tx.Delete(deletedKey(vlt.Name, o.Kind, o.Name))
}

// deleteTx soft-deletes the live object name: the head moves to the deleted list with
// its dates and joins the sweeper's index. Versions stay where they are.
func deleteTx(tx storage.Tx, who ledger.Entry, vlt Vault, kind Kind, name string, now time.Time) (*Object, error) {
	o, err := liveObject(tx, vlt.Name, kind, name)
	if err != nil {
		return nil, err
	}
	if err := o.CheckUnmanaged("delete"); err != nil {
		return nil, err
	}
	return o, softDeleteTx(tx, who, vlt, o, now)
}

// softDeleteTx moves the live head o to the deleted list (no managed check: the
// certificate uses it for its key and secret).
func softDeleteTx(tx storage.Tx, who ledger.Entry, vlt Vault, o *Object, now time.Time) error {
	if err := o.SoftDelete(now, vlt.Retention()); err != nil {
		return err
	}
	if err := tx.Delete(liveKey(vlt.Name, o.Kind, o.Name)); err != nil {
		return err
	}
	if err := tx.Put(deletedKey(vlt.Name, o.Kind, o.Name), mustJSON(o)); err != nil {
		return err
	}
	return objectChange(ledger.ActionDelete, who, vlt, o).after(tx, now)
}

// recoverTx brings the deleted object name back to life with all its versions.
func recoverTx(tx storage.Tx, who ledger.Entry, vlt Vault, kind Kind, name string, now time.Time) (*Object, error) {
	o, err := deletedObject(tx, vlt.Name, kind, name, now)
	if err != nil {
		return nil, err
	}
	if err := o.CheckUnmanaged("recover"); err != nil {
		return nil, err
	}
	return o, undeleteTx(tx, who, vlt, o, now)
}

// undeleteTx brings the deleted head o back to life with all its versions.
func undeleteTx(tx storage.Tx, who ledger.Entry, vlt Vault, o *Object, now time.Time) error {
	c := objectChange(ledger.ActionRecover, who, vlt, o) // with the dates it undoes
	if err := o.Recover(now); err != nil {
		return err
	}
	if err := tx.Delete(deletedKey(vlt.Name, o.Kind, o.Name)); err != nil {
		return err
	}
	if err := tx.Put(liveKey(vlt.Name, o.Kind, o.Name), mustJSON(o)); err != nil {
		return err
	}
	return c.after(tx, now)
}

// Purge removes the deleted object name for good (purge by hand).
func (s Request) Purge(ctx context.Context, vaultName string, kind Kind, name string) error {
	if err := checkName(kind, name); err != nil {
		return err
	}
	return s.st.Update(ctx, func(tx storage.Tx) error {
		now := s.Now()
		vlt, err := s.vault(tx, vaultName)
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
		if err := o.CheckUnmanaged("purge"); err != nil {
			return err
		}
		return purgeTx(tx, ledger.ActionPurge, s.actor.entry(), vlt, o, now)
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

// getVersion reads one version record of o ("" for the latest).
func getVersion[T any](tx storage.Tx, v string, o *Object, version string) (T, error) {
	var ver T
	if version == "" {
		version = o.Latest
	}
	err := getJSON(tx, versionKey(v, o.Kind, o.Name, version), &ver)
	if errors.Is(err, storage.ErrNotFound) {
		return ver, &Error{Kind: ErrNotFound, ObjectKind: o.Kind, Name: o.Name, Version: version}
	}
	return ver, err
}

// listHeads returns one page of live (or deleted) objects of a kind, each with its
// latest version, in name order after `after`; more says whether pages follow.
func listHeads[T, R any](s Request, ctx context.Context, vaultName string, kind Kind, deleted bool, after string, limit int, mk func(Vault, Object, T) R) (items []R, more bool, err error) {
	prefix := livePrefix
	if deleted {
		prefix = deletedPrefix
	}
	err = s.st.View(ctx, func(tx storage.Tx) error {
		now := s.Now()
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
		es, m, err := page(tx, prefix(vlt.Name, kind), after, limit)
		if err != nil {
			return err
		}
		more = m
		items = make([]R, 0, len(es))
		for _, e := range es {
			var o Object
			if err := unmarshal(e, &o); err != nil {
				return err
			}
			if o.State(now) == Purged || deleted && o.backsCertificate() {
				continue // backing objects of a deleted certificate are listed with it
			}
			if o.Latest == "" {
				continue // a certificate whose first issuance is pending: nothing to show yet
			}
			ver, err := getVersion[T](tx, vlt.Name, &o, "")
			if err != nil {
				return fmt.Errorf("%s %s: latest version: %w", kind, o.Name, err)
			}
			items = append(items, mk(vlt, o, ver))
		}
		return nil
	})
	return items, more, err
}

// listVersions returns one page of the versions of a live object, in version id order
// after `after`. An unknown or deleted name has no versions.
func listVersions[T, R any](s Request, ctx context.Context, vaultName string, kind Kind, name, after string, limit int, mk func(Vault, Object, T) R) (items []R, more bool, err error) {
	if err := checkName(kind, name); err != nil {
		return nil, false, err
	}
	err = s.st.View(ctx, func(tx storage.Tx) error {
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
		items = []R{}
		o, err := liveObject(tx, vlt.Name, kind, name)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		es, m, err := page(tx, versionPrefix(vlt.Name, kind, name), after, limit)
		if err != nil {
			return err
		}
		more = m
		for _, e := range es {
			var ver T
			if err := unmarshal(e, &ver); err != nil {
				return err
			}
			items = append(items, mk(vlt, *o, ver))
		}
		return nil
	})
	return items, more, err
}

// transition applies delete or recover to name and returns the latest version.
func transition[T, R any](s Request, ctx context.Context, vaultName string, kind Kind, name string, apply func(storage.Tx, ledger.Entry, Vault, Kind, string, time.Time) (*Object, error), mk func(Vault, Object, T) R) (R, error) {
	var out R
	if err := checkName(kind, name); err != nil {
		return out, err
	}
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
		o, err := apply(tx, s.actor.entry(), vlt, kind, name, s.Now())
		if err != nil {
			return err
		}
		ver, err := getVersion[T](tx, vlt.Name, o, "")
		if err != nil {
			return err
		}
		out = mk(vlt, *o, ver)
		return nil
	})
	return out, err
}

// getDeleted returns a soft-deleted object's latest version.
func getDeleted[T, R any](s Request, ctx context.Context, vaultName string, kind Kind, name string, mk func(Vault, Object, T) R) (R, error) {
	var out R
	if err := checkName(kind, name); err != nil {
		return out, err
	}
	err := s.st.View(ctx, func(tx storage.Tx) error {
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
		o, err := deletedObject(tx, vlt.Name, kind, name, s.Now())
		if err != nil {
			return err
		}
		ver, err := getVersion[T](tx, vlt.Name, o, "")
		if err != nil {
			return err
		}
		out = mk(vlt, *o, ver)
		return nil
	})
	return out, err
}

// restoreAs restores a backup blob of kind and returns its latest version.
func restoreAs[T, R any](s Request, ctx context.Context, vaultName string, kind Kind, blob []byte, mk func(Vault, Object, T) R) (R, error) {
	var out R
	err := s.restore(ctx, vaultName, kind, blob, func(tx storage.Tx, vlt Vault, o *Object) error {
		ver, err := getVersion[T](tx, vlt.Name, o, "")
		out = mk(vlt, *o, ver)
		return err
	})
	return out, err
}

// onLive runs fn in a transaction — a write one when write is set — on the live object
// name of vaultName. With op set, a key or secret that backs a certificate is refused
// first (only the certificate's own operations change those).
func (s Request) onLive(ctx context.Context, write bool, vaultName string, kind Kind, name, op string, fn func(tx storage.Tx, vlt Vault, o *Object) error) error {
	run := s.st.View
	if write {
		run = s.st.Update
	}
	return run(ctx, func(tx storage.Tx) error {
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
		o, err := liveObject(tx, vlt.Name, kind, name)
		if err != nil {
			return err
		}
		if op != "" {
			if err := o.CheckUnmanaged(op); err != nil {
				return err
			}
		}
		return fn(tx, vlt, o)
	})
}
