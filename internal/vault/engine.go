package vault

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/kvjson"
)

// The engine: the operations every object kind has in the same shape — read a version,
// list, list versions, add a version, update one, delete, recover, read the deleted one,
// purge, back up, restore — written once over a kind's rules (kindRules, objects.go),
// its version record V and the value R the API shows for a version. Objects[R] is how a
// request reaches the shared ones (Request.Secrets, Keys, Certificates); a kind's file
// declares its objectKind and adds only its own operations (set, create, import, get,
// update, rotate, …).

// Objects is a request's handle on the objects of one kind, for the operations every
// kind has in the same shape. R is what the API shows of a version: Secret, Key or
// Certificate. Names are matched without regard to case.
type Objects[R any] struct {
	r Request
	k engine[R]
}

// engine is what Objects runs on: an objectKind, whatever its version record.
type engine[R any] interface {
	rules() *kindRules
	list(s Request, ctx context.Context, vaultName string, deleted bool, after string, limit int) ([]R, string, error)
	versions(s Request, ctx context.Context, vaultName, name, after string, limit int) ([]R, string, error)
	delete(s Request, ctx context.Context, vaultName, name string) (R, error)
	recover(s Request, ctx context.Context, vaultName, name string) (R, error)
	getDeleted(s Request, ctx context.Context, vaultName, name string) (R, error)
	restore(s Request, ctx context.Context, vaultName string, blob []byte) (R, error)
}

// List returns one page of live objects, each with its latest version, in name order
// after the name `after`. next is the `after` of the page that follows, "" when this page
// is the last; a page that is not the last may hold fewer than limit objects, or none
// (past objects it leaves out), so a caller pages with next, never with its last item.
func (o Objects[R]) List(ctx context.Context, vaultName, after string, limit int) (items []R, next string, err error) {
	return o.k.list(o.r, ctx, vaultName, false, after, limit)
}

// ListDeleted is List for the soft-deleted objects that are still recoverable (the key
// and secret behind a deleted certificate are listed with it, not on their own).
func (o Objects[R]) ListDeleted(ctx context.Context, vaultName, after string, limit int) (items []R, next string, err error) {
	return o.k.list(o.r, ctx, vaultName, true, after, limit)
}

// ListVersions returns one page of the versions of a live object, in version id order
// after `after`, and the `after` of the page that follows ("" for none). An unknown or
// deleted name has no versions.
func (o Objects[R]) ListVersions(ctx context.Context, vaultName, name, after string, limit int) (items []R, next string, err error) {
	return o.k.versions(o.r, ctx, vaultName, name, after, limit)
}

// Delete soft-deletes a live object with every version — a certificate with its key and
// secret — and returns its latest version as deleted: recoverable until its
// scheduledPurgeDate, its name reserved until then.
func (o Objects[R]) Delete(ctx context.Context, vaultName, name string) (R, error) {
	return o.k.delete(o.r, ctx, vaultName, name)
}

// Recover brings a deleted object back with every version (a certificate with its key
// and secret), and schedules again what its kind keeps scheduled (a key's rotation, a
// certificate's renewal).
func (o Objects[R]) Recover(ctx context.Context, vaultName, name string) (R, error) {
	return o.k.recover(o.r, ctx, vaultName, name)
}

// GetDeleted returns a soft-deleted object's latest version.
func (o Objects[R]) GetDeleted(ctx context.Context, vaultName, name string) (R, error) {
	return o.k.getDeleted(o.r, ctx, vaultName, name)
}

// Purge removes a deleted object for good (a certificate with its key and secret);
// purge protection refuses it until its retention ends, when the sweeper purges it.
func (o Objects[R]) Purge(ctx context.Context, vaultName, name string) error {
	return o.r.purge(ctx, vaultName, o.k.rules().kind, name)
}

// Backup returns a sealed blob of a live object with every version and its policy (a
// certificate's also holds its key and secret with theirs).
func (o Objects[R]) Backup(ctx context.Context, vaultName, name string) ([]byte, error) {
	return o.r.backup(ctx, vaultName, o.k.rules().kind, name)
}

// Restore restores an object of this kind from a blob made by Backup, with every version
// and its id, into vaultName (any vault of this deployment) under a name that is free,
// and returns its latest version.
func (o Objects[R]) Restore(ctx context.Context, vaultName string, blob []byte) (R, error) {
	return o.k.restore(o.r, ctx, vaultName, blob)
}

// versionOf is the pointer to a version record: every kind's embeds Attributes.
type versionOf[V any] interface {
	*V
	attributes() *Attributes
}

func (a *Attributes) attributes() *Attributes { return a }

// objectKind is the engine for one kind: its rules, and how a version of it is shown.
type objectKind[V any, PV versionOf[V], R any] struct {
	*kindRules
	show func(Vault, Object, V) R
}

func (k objectKind[V, PV, R]) rules() *kindRules { return k.kindRules }

// get returns a version ("" for the latest) of the live object name. The version is
// read with the object where the storage can: the one asked for, or the one last seen as
// the latest (Service.latest).
func (k objectKind[V, PV, R]) get(s Request, ctx context.Context, vaultName, name, version string) (R, error) {
	key := liveKey(vaultName, k.kind, name)
	keys := []string{key}
	if v := cmp.Or(version, s.latest.get(key)); v != "" {
		keys = append(keys, versionKey(vaultName, k.kind, name, v))
	}
	return k.oneReading(s, ctx, false, vaultName, name, version, keys, func(tx storage.Tx, vlt Vault, _ time.Time) (*Object, error) {
		o, err := shownObject(tx, vlt.Name, k.kind, name)
		if err == nil && version == "" && (len(keys) == 1 || keys[1] != versionKey(vaultName, k.kind, name, o.Latest)) {
			s.latest.set(key, o.Latest)
		}
		return o, err
	})
}

// getDeleted returns the latest version of the deleted object name.
func (k objectKind[V, PV, R]) getDeleted(s Request, ctx context.Context, vaultName, name string) (R, error) {
	return k.one(s, ctx, false, vaultName, name, "", func(tx storage.Tx, vlt Vault, now time.Time) (*Object, error) {
		return deletedObject(tx, vlt.Name, k.kind, name, now)
	})
}

// one runs find on the vault vaultName in a transaction — a write one when write is set,
// and find may then change what it finds — and returns a version ("" for the latest) of
// the object it found, as the API shows it.
func (k objectKind[V, PV, R]) one(s Request, ctx context.Context, write bool, vaultName, name, version string, find func(storage.Tx, Vault, time.Time) (*Object, error)) (R, error) {
	return k.oneReading(s, ctx, write, vaultName, name, version, nil, find)
}

// oneReading is one for a find that reads keys[0] first, and may read keys[1] after (see
// inVaultReading).
func (k objectKind[V, PV, R]) oneReading(s Request, ctx context.Context, write bool, vaultName, name, version string, keys []string, find func(storage.Tx, Vault, time.Time) (*Object, error)) (R, error) {
	var out R
	if err := checkName(k.kind, name); err != nil {
		return out, err
	}
	// The version is read in the transaction and decoded after it: in a write, the
	// committer runs every writer's function one after the other, and a version's
	// decoding (its value, its key material) is work no other writer need wait for (it
	// was a quarter of a delete's or a recover's time there). The record was read, and
	// opened by the barrier, in the transaction; only Coffer's own JSON is left.
	var vlt Vault
	var o Object
	var rec storage.Entry
	err := s.inVaultReading(ctx, write, vaultName, keys, func(tx storage.Tx, v Vault, now time.Time) error {
		found, err := find(tx, v, now)
		if err != nil {
			return err
		}
		vlt, o = v, *found
		rec, err = readVersion(tx, v.Name, found, version)
		return err
	})
	if err != nil {
		return out, err
	}
	var ver V
	if err := kvjson.Decode(rec, &ver); err != nil {
		return out, err
	}
	return k.show(vlt, o, ver), nil
}

// list returns one page of live (or deleted) objects, each with its latest version, in
// name order after `after`; next is the `after` of the page that follows ("" for none).
func (k objectKind[V, PV, R]) list(s Request, ctx context.Context, vaultName string, deleted bool, after string, limit int) (items []R, next string, err error) {
	prefix := livePrefix
	if deleted {
		prefix = deletedPrefix
	}
	err = s.inVault(ctx, false, vaultName, func(tx storage.Tx, vlt Vault, now time.Time) error {
		items = []R{}
		next, err = page(tx, prefix(vlt.Name, k.kind), after, limit, func(e storage.Entry) (bool, error) {
			var o Object
			if err := kvjson.Decode(e, &o); err != nil {
				return false, err
			}
			if o.State(now) == Purged || deleted && o.backsCertificate() {
				return false, nil // backing objects of a deleted certificate are listed with it
			}
			if o.Latest == "" {
				return false, nil // a certificate whose first issuance is pending: nothing to show yet
			}
			ver, err := getVersion[V](tx, vlt.Name, &o, "")
			if err != nil {
				return false, fmt.Errorf("%s %s: latest version: %w", k.kind, o.Name, err)
			}
			items = append(items, k.show(vlt, o, ver))
			return true, nil
		})
		return err
	})
	return items, next, err
}

// versions returns one page of the versions of a live object, in version id order after
// `after`; next is the `after` of the page that follows ("" for none). An unknown or
// deleted name has no versions.
func (k objectKind[V, PV, R]) versions(s Request, ctx context.Context, vaultName, name, after string, limit int) (items []R, next string, err error) {
	if err := checkName(k.kind, name); err != nil {
		return nil, "", err
	}
	err = s.inVault(ctx, false, vaultName, func(tx storage.Tx, vlt Vault, now time.Time) error {
		items, next = []R{}, ""
		o, err := liveObject(tx, vlt.Name, k.kind, name)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		next, err = page(tx, versionPrefix(vlt.Name, k.kind, name), after, limit, func(e storage.Entry) (bool, error) {
			var ver V
			if err := kvjson.Decode(e, &ver); err != nil {
				return false, err
			}
			items = append(items, k.show(vlt, *o, ver))
			return true, nil
		})
		return err
	})
	return items, next, err
}

// add stores ver, with its id and made at now, as the new latest version of name,
// creating the object when it has none: the name must be free of a recoverable deleted
// object, and a key or secret behind a certificate is refused (op names the operation).
// then, if set, runs in the same transaction (a key's rotation schedule).
func (k objectKind[V, PV, R]) add(s Request, ctx context.Context, vaultName, name, op, id string, ver V, now time.Time, then func(storage.Tx, Vault, *Object) error) (R, error) {
	// Encoded before the transaction: storage may run transactions one after another
	// (bbolt's group commit), so work done outside does not hold up other writers.
	record := mustJSON(ver)
	var out R
	err := s.inVault(ctx, true, vaultName, func(tx storage.Tx, vlt Vault, now time.Time) error {
		if err := reserveName(tx, vlt, k.kind, name, now); err != nil {
			return err
		}
		o, err := liveObject(tx, vlt.Name, k.kind, name)
		if errors.Is(err, ErrNotFound) {
			o, err = &Object{Kind: k.kind, Name: name}, nil
		}
		if err != nil {
			return err
		}
		if err := o.CheckUnmanaged(op); err != nil {
			return err
		}
		if err := putVersionTx(tx, vlt.Name, o, id, record); err != nil {
			return err
		}
		if then != nil {
			if err := then(tx, vlt, o); err != nil {
				return err
			}
		}
		out = k.show(vlt, *o, ver)
		return nil
	})
	return out, err
}

// update changes one version ("" for the latest) of the live object name: the
// attributes the request gives, then what edit changes of the kind's own; the material
// never changes. A key or secret behind a certificate is refused.
func (k objectKind[V, PV, R]) update(s Request, ctx context.Context, vaultName, name, version string, a attrs, edit func(tx storage.Tx, vlt Vault, o *Object, ver PV, now time.Time) error) (R, error) {
	return k.one(s, ctx, true, vaultName, name, version, func(tx storage.Tx, vlt Vault, now time.Time) (*Object, error) {
		o, err := shownObject(tx, vlt.Name, k.kind, name)
		if err != nil {
			return nil, err
		}
		if err := o.CheckUnmanaged("update"); err != nil {
			return nil, err
		}
		ver, err := getVersion[V](tx, vlt.Name, o, version)
		if err != nil {
			return nil, err
		}
		PV(&ver).attributes().update(a, now)
		if err := edit(tx, vlt, o, &ver, now); err != nil {
			return nil, err
		}
		return o, tx.Put(versionKey(vlt.Name, k.kind, o.Name, cmp.Or(version, o.Latest)), mustJSON(ver))
	})
}

// updateAttributes applies a to the attributes of the version stored at key, if there is
// one (a certificate's key and secret versions follow its enabled flag).
func updateAttributes[V any, PV versionOf[V]](tx storage.Tx, key string, a attrs, now time.Time) error {
	var ver V
	err := kvjson.Get(tx, key, &ver)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	PV(&ver).attributes().update(a, now)
	return tx.Put(key, mustJSON(ver))
}

// delete soft-deletes the live object name with every version (and the objects linked
// to it) and returns its latest version as deleted.
func (k objectKind[V, PV, R]) delete(s Request, ctx context.Context, vaultName, name string) (R, error) {
	return k.one(s, ctx, true, vaultName, name, "", func(tx storage.Tx, vlt Vault, now time.Time) (*Object, error) {
		o, err := shownObject(tx, vlt.Name, k.kind, name)
		if err != nil {
			return nil, err
		}
		if err := o.CheckUnmanaged("delete"); err != nil {
			return nil, err
		}
		return o, withLinked(tx, vlt, o, now, func(o *Object) error { return softDeleteTx(tx, s.actor.entry(), vlt, o, now) })
	})
}

// recover brings the deleted object name back with every version (and the objects
// linked to it), and reschedules what its kind keeps in the scheduler's index.
func (k objectKind[V, PV, R]) recover(s Request, ctx context.Context, vaultName, name string) (R, error) {
	return k.one(s, ctx, true, vaultName, name, "", func(tx storage.Tx, vlt Vault, now time.Time) (*Object, error) {
		o, err := deletedObject(tx, vlt.Name, k.kind, name, now)
		if err != nil {
			return nil, err
		}
		if err := o.CheckUnmanaged("recover"); err != nil {
			return nil, err
		}
		if err := withLinked(tx, vlt, o, now, func(o *Object) error { return undeleteTx(tx, s.actor.entry(), vlt, o, now) }); err != nil {
			return nil, err
		}
		if k.reschedule == nil {
			return o, nil
		}
		return o, k.reschedule(tx, vlt, o, now)
	})
}

// restore restores a backup blob of the kind and returns its latest version.
func (k objectKind[V, PV, R]) restore(s Request, ctx context.Context, vaultName string, blob []byte) (R, error) {
	var out R
	err := s.restore(ctx, vaultName, k.kind, blob, func(tx storage.Tx, vlt Vault, o *Object) error {
		ver, err := getVersion[V](tx, vlt.Name, o, "")
		out = k.show(vlt, *o, ver)
		return err
	})
	return out, err
}
