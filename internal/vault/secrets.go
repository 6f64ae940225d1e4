package vault

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/coffer/coffer/internal/storage"
)

// Secret limits, as Azure Key Vault enforces them.
const (
	MaxSecretValueBytes = 25600
	MaxContentTypeChars = 255
	MaxTags             = 15
	MaxTagChars         = 512
)

// SecretVersion is one stored version of a secret.
type SecretVersion struct {
	ID          string `json:"id"`
	Value       string `json:"value"`
	ContentType string `json:"contentType,omitempty"`
	Attributes
}

// Secret is a secret version as the API shows it: with its vault (for the recovery
// level) and its head (name as stored, deletion dates).
type Secret struct {
	Vault  Vault
	Object Object
	SecretVersion
}

// SecretParams are the inputs of SetSecret.
type SecretParams struct {
	Value       string
	ContentType string
	Tags        map[string]string
	Enabled     *bool // nil: enabled
	NotBefore   *time.Time
	Expires     *time.Time
}

func (p SecretParams) attrs() attrs { return attrs{p.Tags, p.Enabled, p.NotBefore, p.Expires} }

// SecretUpdate are the inputs of UpdateSecret; nil fields keep their value.
type SecretUpdate struct {
	ContentType *string
	Tags        map[string]string
	Enabled     *bool
	NotBefore   *time.Time
	Expires     *time.Time
}

func checkTags(kind Kind, name string, tags map[string]string) error {
	if len(tags) > MaxTags {
		return badParam(kind, name, fmt.Sprintf("An object can have at most %d tags; this request has %d.", MaxTags, len(tags)))
	}
	for k, v := range tags {
		if utf8.RuneCountInString(k) > MaxTagChars || utf8.RuneCountInString(v) > MaxTagChars {
			return badParam(kind, name, fmt.Sprintf("Tag names and values are limited to %d characters.", MaxTagChars))
		}
	}
	return nil
}

func checkContentType(name, ct string) error {
	if utf8.RuneCountInString(ct) > MaxContentTypeChars {
		return badParam(KindSecret, name, fmt.Sprintf("contentType is limited to %d characters.", MaxContentTypeChars))
	}
	return nil
}

// SetSecret stores a new version of the secret name and makes it the latest.
func (s Request) SetSecret(ctx context.Context, vaultName, name string, p SecretParams) (Secret, error) {
	if err := checkName(KindSecret, name); err != nil {
		return Secret{}, err
	}
	if len(p.Value) > MaxSecretValueBytes {
		return Secret{}, badParam(KindSecret, name, fmt.Sprintf("The secret value is %d bytes; the limit is %d bytes.", len(p.Value), MaxSecretValueBytes))
	}
	if err := checkContentType(name, p.ContentType); err != nil {
		return Secret{}, err
	}
	if err := checkTags(KindSecret, name, p.Tags); err != nil {
		return Secret{}, err
	}
	// The version record is built and encoded before the transaction: storage may run
	// transactions one after another (bbolt's group commit), so work done outside is
	// work that does not hold up other writers.
	now := s.Now()
	ver := SecretVersion{ID: newVersionID(), Value: p.Value, ContentType: p.ContentType, Attributes: newAttributes(p.attrs(), now)}
	record := mustJSON(ver)
	var out Secret
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
		if err := reserveName(tx, vlt, KindSecret, name, now); err != nil {
			return err
		}
		o, err := liveObject(tx, vlt.Name, KindSecret, name)
		if errors.Is(err, ErrNotFound) {
			o, err = &Object{Kind: KindSecret, Name: name}, nil
		}
		if err != nil {
			return err
		}
		if err := o.CheckUnmanaged("set"); err != nil {
			return err
		}
		o.Latest = ver.ID
		o.Versions++
		if err := tx.Put(versionKey(vlt.Name, KindSecret, name, ver.ID), record); err != nil {
			return err
		}
		if err := tx.Put(liveKey(vlt.Name, KindSecret, name), mustJSON(o)); err != nil {
			return err
		}
		out = newSecret(vlt, *o, ver)
		return nil
	})
	return out, err
}

func newSecret(v Vault, o Object, ver SecretVersion) Secret {
	return Secret{Vault: v, Object: o, SecretVersion: ver}
}

// GetSecret returns a version of a live secret ("" for the latest), value included.
// A disabled version cannot be read.
func (s Request) GetSecret(ctx context.Context, vaultName, name, version string) (Secret, error) {
	if err := checkName(KindSecret, name); err != nil {
		return Secret{}, err
	}
	var out Secret
	err := s.onLive(ctx, false, vaultName, KindSecret, name, "", func(tx storage.Tx, vlt Vault, o *Object) error {
		ver, err := getVersion[SecretVersion](tx, vlt.Name, o, version)
		if err != nil {
			return err
		}
		if !ver.Enabled {
			return &Error{Kind: ErrDisabled, ObjectKind: KindSecret, Name: o.Name}
		}
		out = newSecret(vlt, *o, ver)
		return nil
	})
	return out, err
}

// UpdateSecret changes the attributes, content type or tags of a version ("" for the
// latest); the value never changes.
func (s Request) UpdateSecret(ctx context.Context, vaultName, name, version string, u SecretUpdate) (Secret, error) {
	if err := checkName(KindSecret, name); err != nil {
		return Secret{}, err
	}
	if u.ContentType != nil {
		if err := checkContentType(name, *u.ContentType); err != nil {
			return Secret{}, err
		}
	}
	if err := checkTags(KindSecret, name, u.Tags); err != nil {
		return Secret{}, err
	}
	var out Secret
	err := s.onLive(ctx, true, vaultName, KindSecret, name, "update", func(tx storage.Tx, vlt Vault, o *Object) error {
		now := s.Now()
		ver, err := getVersion[SecretVersion](tx, vlt.Name, o, version)
		if err != nil {
			return err
		}
		if u.ContentType != nil {
			ver.ContentType = *u.ContentType
		}
		ver.update(attrs{u.Tags, u.Enabled, u.NotBefore, u.Expires}, now)
		if err := tx.Put(versionKey(vlt.Name, KindSecret, o.Name, ver.ID), mustJSON(ver)); err != nil {
			return err
		}
		out = newSecret(vlt, *o, ver)
		return nil
	})
	return out, err
}

// ListSecrets returns one page of live secrets, each with its latest version's
// properties, in name order after the name `after`; more says whether pages follow.
func (s Request) ListSecrets(ctx context.Context, vaultName, after string, limit int) ([]Secret, bool, error) {
	return listHeads(s, ctx, vaultName, KindSecret, false, after, limit, newSecret)
}

// ListDeletedSecrets is ListSecrets for the soft-deleted ones.
func (s Request) ListDeletedSecrets(ctx context.Context, vaultName, after string, limit int) ([]Secret, bool, error) {
	return listHeads(s, ctx, vaultName, KindSecret, true, after, limit, newSecret)
}

// ListSecretVersions returns one page of the versions of a live secret, in version id
// order after `after`. An unknown or deleted name has no versions.
func (s Request) ListSecretVersions(ctx context.Context, vaultName, name, after string, limit int) ([]Secret, bool, error) {
	return listVersions(s, ctx, vaultName, KindSecret, name, after, limit, newSecret)
}

// DeleteSecret soft-deletes the secret with all its versions and returns its latest
// version as a deleted secret.
func (s Request) DeleteSecret(ctx context.Context, vaultName, name string) (Secret, error) {
	return transition(s, ctx, vaultName, KindSecret, name, deleteTx, newSecret)
}

// RecoverSecret brings a deleted secret back with every version.
func (s Request) RecoverSecret(ctx context.Context, vaultName, name string) (Secret, error) {
	return transition(s, ctx, vaultName, KindSecret, name, recoverTx, newSecret)
}

// GetDeletedSecret returns a soft-deleted secret's latest version.
func (s Request) GetDeletedSecret(ctx context.Context, vaultName, name string) (Secret, error) {
	return getDeleted(s, ctx, vaultName, KindSecret, name, newSecret)
}

// PurgeSecret removes a deleted secret for good.
func (s Request) PurgeSecret(ctx context.Context, vaultName, name string) error {
	return s.Purge(ctx, vaultName, KindSecret, name)
}

// BackupSecret returns a sealed blob of the live secret with every version.
func (s Request) BackupSecret(ctx context.Context, vaultName, name string) ([]byte, error) {
	return s.backup(ctx, vaultName, KindSecret, name)
}

// RestoreSecret restores a secret from a blob made by BackupSecret, with every version
// and its id, into vaultName, and returns its latest version.
func (s Request) RestoreSecret(ctx context.Context, vaultName string, blob []byte) (Secret, error) {
	return restoreAs(s, ctx, vaultName, KindSecret, blob, newSecret)
}
