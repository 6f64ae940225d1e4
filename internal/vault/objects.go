package vault

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/kvjson"
)

// This file holds the object lifecycle on storage, the same for every kind: finding
// heads, the delete / recover / purge transitions (each ending with change.after), name
// reservation, and the small rules by which a kind differs (kindRules). engine.go builds
// the operations of every kind on it.

// kindRules is what one object kind adds to the lifecycle every kind shares.
type kindRules struct {
	kind Kind
	// linked are the kinds of the managed objects that share this kind's name and
	// lifecycle (a certificate's key and secret): delete, recover, purge and backup take
	// them along.
	linked []Kind
	// reschedule puts again in the scheduler's index what the kind keeps there, from the
	// object's policy and latest version (a key's rotation, a certificate's renewal):
	// once a recovered object is live again, and when its policy changes.
	reschedule func(tx storage.Tx, vlt Vault, o *Object, now time.Time) error
	// purged removes what the kind keeps beside its head and versions (a certificate's
	// issuance operation), whichever path purges it.
	purged func(tx storage.Tx, vaultName, name string) error
}

// rulesOf returns the rules of kind (nil for no object kind).
func rulesOf(kind Kind) *kindRules {
	switch kind {
	case KindSecret:
		return secretKind.kindRules
	case KindKey:
		return keyKind.kindRules
	case KindCertificate:
		return certificateKind.kindRules
	}
	return nil
}

// liveObject returns the active head of name.
func liveObject(tx storage.Tx, v string, kind Kind, name string) (*Object, error) {
	var o Object
	err := kvjson.Get(tx, liveKey(v, kind, name), &o)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, &Error{Kind: ErrNotFound, ObjectKind: kind, Name: name}
	}
	return &o, err
}

// shownObject is liveObject for the operations that show a version: an object without
// one (a certificate whose first issuance is pending has a head with a policy only) is
// not found.
func shownObject(tx storage.Tx, v string, kind Kind, name string) (*Object, error) {
	o, err := liveObject(tx, v, kind, name)
	if err == nil && o.Latest == "" {
		return nil, &Error{Kind: ErrNotFound, ObjectKind: kind, Name: name}
	}
	return o, err
}

// deletedObject returns the deleted head of name, treating one past its
// scheduledPurgeDate as already purged.
func deletedObject(tx storage.Tx, v string, kind Kind, name string, now time.Time) (*Object, error) {
	var o Object
	err := kvjson.Get(tx, deletedKey(v, kind, name), &o)
	if errors.Is(err, storage.ErrNotFound) || err == nil && o.State(now) == Purged {
		return nil, &Error{Kind: ErrDeletedNotFound, ObjectKind: kind, Name: name}
	}
	return &o, err
}

// deletedHeads returns the deleted heads in vault v of these kinds, whatever their state.
func deletedHeads(tx storage.Tx, v string, kinds []Kind) ([]Object, error) {
	var out []Object
	for _, kind := range kinds {
		es, err := tx.Scan(deletedPrefix(v, kind), "", 0)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			var o Object
			if err := kvjson.Decode(e, &o); err != nil {
				return nil, err
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// withLinked runs step on o, then on each managed object of its kind's linked kinds
// under its name, live or deleted as o is (a pending first issuance has none yet).
func withLinked(tx storage.Tx, vlt Vault, o *Object, now time.Time, step func(*Object) error) error {
	deleted := !o.DeletedDate.IsZero() // before step moves it
	if err := step(o); err != nil {
		return err
	}
	for _, kind := range rulesOf(o.Kind).linked {
		var lo *Object
		var err error
		if deleted {
			lo, err = deletedObject(tx, vlt.Name, kind, o.Name, now)
		} else {
			lo, err = liveObject(tx, vlt.Name, kind, o.Name)
		}
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrDeletedNotFound) || err == nil && !lo.Managed {
			continue
		}
		if err != nil {
			return err
		}
		if err := step(lo); err != nil {
			return err
		}
	}
	return nil
}

// reserveName checks that a new object may take name: no recoverable deleted object
// holds it. A deleted object past its purge date is purged here and then, so that the
// name is free exactly when the retention ends, whatever the sweeper is doing.
func reserveName(tx storage.Tx, vlt Vault, kind Kind, name string, now time.Time) error {
	var o Object
	err := kvjson.Get(tx, deletedKey(vlt.Name, kind, name), &o)
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

// softDeleteTx moves the live head o to the deleted list with its dates. Versions stay
// where they are.
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

// purgeTx purges the deleted object o for good: its head, every version, and what its
// kind keeps beside them.
func purgeTx(tx storage.Tx, action string, who ledger.Entry, vlt Vault, o *Object, now time.Time) error {
	return purgeIn(tx, nil, action, who, vlt, o, now)
}

// purgeIn is purgeTx as one of the sweeper's batch b (nil: alone).
func purgeIn(tx storage.Tx, b *purgeBatch, action string, who ledger.Entry, vlt Vault, o *Object, now time.Time) error {
	c := objectChange(action, who, vlt, o)
	c.batch = b
	if err := c.after(tx, now); err != nil {
		return err
	}
	vers, err := storage.ScanKeys(tx, versionPrefix(vlt.Name, o.Kind, o.Name), "", 0) // deleted unread
	if err != nil {
		return err
	}
	for _, k := range vers {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	if purged := rulesOf(o.Kind).purged; purged != nil {
		if err := purged(tx, vlt.Name, o.Name); err != nil {
			return err
		}
	}
	return tx.Delete(deletedKey(vlt.Name, o.Kind, o.Name))
}

// purge removes the deleted object name of kind for good (purge by hand), with the
// objects linked to it.
func (s Request) purge(ctx context.Context, vaultName string, kind Kind, name string) error {
	if err := checkName(kind, name); err != nil {
		return err
	}
	return s.inVault(ctx, true, vaultName, func(tx storage.Tx, vlt Vault, now time.Time) error {
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
		return withLinked(tx, vlt, o, now, func(o *Object) error {
			return purgeTx(tx, ledger.ActionPurge, s.actor.entry(), vlt, o, now)
		})
	})
}

// pageSkipLimit bounds how many records one page reads and leaves out (the key and secret
// behind a deleted certificate, a deleted object past its purge date that the sweeper
// has not reached, a certificate whose first issuance is pending): past it the page ends
// short — empty, even — and its next starts after them. A variable for the tests.
var pageSkipLimit = 500

// page reads one page of the records under prefix, in key order, after the key suffix
// `after`, handing each to keep, which says whether the page holds it. It reads until
// limit records are kept, pageSkipLimit are left out, or none follow. next is the key
// suffix of the last record read, to pass as `after` for the page that follows, or ""
// when none does: a page that leaves out all it read still moves past them, so a caller
// that follows next ends.
func page(tx storage.Tx, prefix, after string, limit int, keep func(storage.Entry) (bool, error)) (next string, err error) {
	limit = max(limit, 1)
	start := ""
	if after != "" {
		start = prefix + lower(after)
	}
	kept, skipped := 0, 0
	for {
		// One record more than the page can take tells whether any follow it.
		n := min(limit-kept, pageSkipLimit-skipped) + 1
		es, err := tx.Scan(prefix, start, n)
		if err != nil {
			return "", err
		}
		for _, e := range es {
			if kept == limit || skipped == pageSkipLimit {
				return strings.TrimPrefix(start, prefix), nil
			}
			ok, err := keep(e)
			if err != nil {
				return "", err
			}
			if ok {
				kept++
			} else {
				skipped++
			}
			start = e.Key
		}
		if len(es) < n {
			return "", nil
		}
	}
}

// getVersion reads one version record of o ("" for the latest).
func getVersion[T any](tx storage.Tx, v string, o *Object, version string) (T, error) {
	var ver T
	rec, err := readVersion(tx, v, o, version)
	if err != nil {
		return ver, err
	}
	return ver, kvjson.Decode(rec, &ver)
}

// readVersion reads one version record of o ("" for the latest) without decoding it.
func readVersion(tx storage.Tx, v string, o *Object, version string) (storage.Entry, error) {
	if version == "" {
		version = o.Latest
	}
	key := versionKey(v, o.Kind, o.Name, version)
	b, err := tx.Get(key)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Entry{}, &Error{Kind: ErrNotFound, ObjectKind: o.Kind, Name: o.Name, Version: version}
	}
	return storage.Entry{Key: key, Value: b}, err
}

// putVersionTx stores record as o's new latest version id, and o with it.
func putVersionTx(tx storage.Tx, v string, o *Object, id string, record []byte) error {
	o.Latest = id
	o.Versions++
	if err := tx.Put(versionKey(v, o.Kind, o.Name, id), record); err != nil {
		return err
	}
	return tx.Put(liveKey(v, o.Kind, o.Name), mustJSON(o))
}

// onObject runs fn in a transaction — a write one when write is set — on the object name
// of vaultName that find returns (liveObject, or shownObject when a version must be
// there). With op set, a key or secret that backs a certificate is refused first (only
// the certificate's own operations change those).
func (s Request) onObject(ctx context.Context, write bool, find func(storage.Tx, string, Kind, string) (*Object, error), vaultName string, kind Kind, name, op string, fn func(tx storage.Tx, vlt Vault, o *Object, now time.Time) error) error {
	return s.inVault(ctx, write, vaultName, func(tx storage.Tx, vlt Vault, now time.Time) error {
		o, err := find(tx, vlt.Name, kind, name)
		if err != nil {
			return err
		}
		if op != "" {
			if err := o.CheckUnmanaged(op); err != nil {
				return err
			}
		}
		return fn(tx, vlt, o, now)
	})
}

// onPolicy reads a live object's policy with decode and, when next is set, replaces it
// (in a write transaction) by what next makes of it; it returns the policy read or made.
func onPolicy[P any](s Request, ctx context.Context, vaultName string, kind Kind, name, op string, decode func(*Object) (P, error), next func(tx storage.Tx, vlt Vault, o *Object, cur P, now time.Time) (P, error)) (P, error) {
	var out P
	if err := checkName(kind, name); err != nil {
		return out, err
	}
	err := s.onObject(ctx, next != nil, liveObject, vaultName, kind, name, op, func(tx storage.Tx, vlt Vault, o *Object, now time.Time) error {
		p, err := decode(o)
		if err == nil && next != nil {
			p, err = next(tx, vlt, o, p, now)
		}
		if err != nil {
			return err
		}
		out = p
		return nil
	})
	return out, err
}
