package vault

import (
	"context"
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

// secretKind is the engine for secrets: no linked objects, nothing to reschedule.
var secretKind = objectKind[SecretVersion, *SecretVersion, Secret]{&kindRules{kind: KindSecret}, newSecret}

// Secrets is the request's handle on the vault's secrets for the operations every kind shares
// (list, delete, recover, purge, backup, restore, …; see Objects).
func (s Request) Secrets() Objects[Secret] { return Objects[Secret]{s, secretKind} }

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
	now := s.Now()
	ver := SecretVersion{ID: newVersionID(), Value: p.Value, ContentType: p.ContentType, Attributes: newAttributes(p.attrs(), now)}
	return secretKind.add(s, ctx, vaultName, name, "set", ver.ID, ver, now, nil)
}

func newSecret(v Vault, o Object, ver SecretVersion) Secret {
	return Secret{Vault: v, Object: o, SecretVersion: ver}
}

// GetSecret returns a version of a live secret ("" for the latest), value included.
// A disabled version cannot be read.
func (s Request) GetSecret(ctx context.Context, vaultName, name, version string) (Secret, error) {
	out, err := secretKind.get(s, ctx, vaultName, name, version)
	if err == nil && !out.Enabled {
		return Secret{}, &Error{Kind: ErrDisabled, ObjectKind: KindSecret, Name: out.Object.Name}
	}
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
	return secretKind.update(s, ctx, vaultName, name, version, attrs{u.Tags, u.Enabled, u.NotBefore, u.Expires},
		func(_ storage.Tx, _ Vault, _ *Object, ver *SecretVersion, _ time.Time) error {
			if u.ContentType != nil {
				ver.ContentType = *u.ContentType
			}
			return nil
		})
}
