package vault

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/coffer/coffer/internal/keyops"
	"github.com/coffer/coffer/internal/storage"
)

// KeyVersion is one stored version of a key. JWK holds the private material; it is
// sealed by the barrier like every value and leaves the server only inside a backup blob.
type KeyVersion struct {
	ID  string     `json:"id"`
	JWK keyops.JWK `json:"jwk"`
	Ops []string   `json:"ops"`
	Attributes
}

// keyKind is the engine for keys: a recovered key's rotation is scheduled again.
var keyKind = objectKind[KeyVersion, *KeyVersion, Key]{&kindRules{kind: KindKey, reschedule: rescheduleKey}, newKey}

// Keys is the request's handle on the vault's keys for the operations every kind shares
// (list, delete, recover, purge, backup, restore, …; see Objects).
func (s Request) Keys() Objects[Key] { return Objects[Key]{s, keyKind} }

// Key is a key version as the API shows it.
type Key struct {
	Vault  Vault
	Object Object
	KeyVersion
}

func newKey(v Vault, o Object, ver KeyVersion) Key { return Key{Vault: v, Object: o, KeyVersion: ver} }

// PublicJWK is the version's public key: kty as created, n/e or crv/x/y, never a
// private member (and nothing at all of an oct key).
func (k Key) PublicJWK() keyops.JWK {
	j := k.JWK
	return keyops.JWK{Kty: j.Kty, Crv: j.Crv, N: j.N, E: j.E, X: j.X, Y: j.Y}
}

// KeyParams are the inputs of CreateKey and ImportKey.
type KeyParams struct {
	Kty            string // create only
	Size           int    // create only
	PublicExponent int    // create only
	Curve          string // create only
	Ops            []string
	Tags           map[string]string
	Enabled        *bool
	NotBefore      *time.Time
	Expires        *time.Time
}

// KeyUpdate are the inputs of UpdateKey; nil fields keep their value.
type KeyUpdate struct {
	Ops       []string
	Tags      map[string]string
	Enabled   *bool
	NotBefore *time.Time
	Expires   *time.Time
}

func keyError(name string, err error) error {
	if errors.Is(err, keyops.ErrInvalid) {
		return &Error{Kind: ErrBadParameter, ObjectKind: KindKey, Name: name, Detail: trimKeyops(err.Error())}
	}
	return err
}

func trimKeyops(s string) string {
	const p = "keyops: invalid request: "
	if len(s) > len(p) && s[:len(p)] == p {
		s = s[len(p):]
	}
	return s
}

func (p KeyParams) check(name string) error {
	if err := checkName(KindKey, name); err != nil {
		return err
	}
	if err := keyops.ValidOps(p.Ops); err != nil {
		return keyError(name, err)
	}
	return checkTags(KindKey, name, p.Tags)
}

// CreateKey generates a new key version under name.
func (s Request) CreateKey(ctx context.Context, vaultName, name string, p KeyParams) (Key, error) {
	if err := p.check(name); err != nil {
		return Key{}, err
	}
	k, err := keyops.Generate(p.Kty, p.Size, p.PublicExponent, p.Curve)
	if err != nil {
		return Key{}, keyError(name, err)
	}
	return s.addKeyVersion(ctx, vaultName, name, k, p)
}

// ImportKey stores a caller's key (private parts required) as a new version of name.
func (s Request) ImportKey(ctx context.Context, vaultName, name string, j keyops.JWK, p KeyParams) (Key, error) {
	if err := p.check(name); err != nil {
		return Key{}, err
	}
	k, err := keyops.Import(j)
	if err != nil {
		return Key{}, keyError(name, err)
	}
	return s.addKeyVersion(ctx, vaultName, name, k, p)
}

func (s Request) addKeyVersion(ctx context.Context, vaultName, name string, k *keyops.Key, p KeyParams) (Key, error) {
	now := s.Now()
	ops := p.Ops
	if ops == nil {
		ops = k.DefaultOps()
	}
	ver := KeyVersion{ID: newVersionID(), JWK: k.Private(), Ops: ops, Attributes: newAttributes(attrs{p.Tags, p.Enabled, p.NotBefore, p.Expires}, now)}
	return keyKind.add(s, ctx, vaultName, name, "import", ver.ID, ver, now, func(tx storage.Tx, vlt Vault, o *Object) error {
		return scheduleRotation(tx, vlt.Name, o, ver, now)
	})
}

// putKeyVersion stores ver as the latest version of o and schedules the next rotation.
func (s *Service) putKeyVersion(tx storage.Tx, vlt Vault, o *Object, ver KeyVersion, now time.Time) error {
	if err := putVersionTx(tx, vlt.Name, o, ver.ID, mustJSON(ver)); err != nil {
		return err
	}
	return scheduleRotation(tx, vlt.Name, o, ver, now)
}

// rescheduleKey schedules a key's rotation from its policy and latest version.
func rescheduleKey(tx storage.Tx, vlt Vault, o *Object, now time.Time) error {
	ver, err := getVersion[KeyVersion](tx, vlt.Name, o, "")
	if err != nil {
		return err
	}
	return scheduleRotation(tx, vlt.Name, o, ver, now)
}

// GetKey returns a version of a live key ("" for the latest).
func (s Request) GetKey(ctx context.Context, vaultName, name, version string) (Key, error) {
	return keyKind.get(s, ctx, vaultName, name, version)
}

// UpdateKey changes a version's key_ops, attributes or tags; the material never changes.
func (s Request) UpdateKey(ctx context.Context, vaultName, name, version string, u KeyUpdate) (Key, error) {
	if err := checkName(KindKey, name); err != nil {
		return Key{}, err
	}
	if err := keyops.ValidOps(u.Ops); err != nil {
		return Key{}, keyError(name, err)
	}
	if err := checkTags(KindKey, name, u.Tags); err != nil {
		return Key{}, err
	}
	return keyKind.update(s, ctx, vaultName, name, version, attrs{u.Tags, u.Enabled, u.NotBefore, u.Expires},
		func(tx storage.Tx, vlt Vault, o *Object, ver *KeyVersion, now time.Time) error {
			if u.Ops != nil {
				ver.Ops = u.Ops
			}
			if ver.ID != o.Latest {
				return nil
			}
			return scheduleRotation(tx, vlt.Name, o, *ver, now) // a new exp moves a before-expiry rotation
		})
}

// RotateKey creates a new version with the same type, size or curve, and key_ops; its
// exp follows the rotation policy's expiryTime when there is one.
func (s Request) RotateKey(ctx context.Context, vaultName, name string) (Key, error) {
	if err := checkName(KindKey, name); err != nil {
		return Key{}, err
	}
	var out Key
	err := s.onObject(ctx, true, liveObject, vaultName, KindKey, name, "rotate", func(tx storage.Tx, vlt Vault, o *Object, now time.Time) error {
		ver, err := s.rotateTx(tx, vlt, o, now)
		out = newKey(vlt, *o, ver)
		return err
	})
	return out, err
}

func (s *Service) rotateTx(tx storage.Tx, vlt Vault, o *Object, now time.Time) (KeyVersion, error) {
	cur, err := getVersion[KeyVersion](tx, vlt.Name, o, "")
	if err != nil {
		return cur, err
	}
	old, err := s.keyMaterial(cur)
	if err != nil {
		return cur, err
	}
	exp := 0
	if old.Kty() == "RSA" || old.Kty() == "RSA-HSM" {
		exp = 65537
	}
	size := old.Size()
	if old.Curve() != "" {
		size = 0
	}
	k, err := keyops.Generate(old.Kty(), size, exp, old.Curve())
	if err != nil {
		return cur, fmt.Errorf("rotate %s: %w", o.Name, err)
	}
	ver := KeyVersion{ID: newVersionID(), JWK: k.Private(), Ops: cur.Ops, Attributes: newAttributes(attrs{tags: cur.Tags}, now)}
	pol, err := rotationPolicy(o)
	if err != nil {
		return cur, err
	}
	if pol.ExpiryTime != "" {
		if ver.Expires, err = addISODuration(now, pol.ExpiryTime); err != nil {
			return cur, err
		}
	}
	return ver, s.putKeyVersion(tx, vlt, o, ver, now)
}

// keyCache keeps parsed private keys by version id: parsing (RSA precomputation)
// costs more than many operations. Versions are immutable, so entries never go stale;
// a purged version is unreachable because every use reads its record first.
type keyCache struct {
	mu sync.Mutex
	m  map[string]*keyops.Key
}

const keyCacheSize = 4096

func (s *Service) keyMaterial(ver KeyVersion) (*keyops.Key, error) {
	c := &s.keys
	c.mu.Lock()
	k := c.m[ver.ID]
	c.mu.Unlock()
	if k != nil {
		return k, nil
	}
	k, err := keyops.Import(ver.JWK)
	if err != nil {
		return nil, fmt.Errorf("stored key version %s: %w", ver.ID, err)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= keyCacheSize {
		c.m = make(map[string]*keyops.Key)
	}
	c.m[ver.ID] = k
	c.mu.Unlock()
	return k, nil
}

// UseKey runs fn with a key version's private key ("" for the latest), after the key's
// own rules allow op: the version is enabled, op is in its key_ops, and — except for
// decrypt, unwrapKey and verify, which keep working on old data — now is inside its
// nbf/exp window. It returns the key version used (for its kid).
func (s Request) UseKey(ctx context.Context, vaultName, name, version, op string, fn func(*keyops.Key) error) (Key, error) {
	k, err := s.GetKey(ctx, vaultName, name, version)
	if err != nil {
		return k, err
	}
	if !k.Enabled {
		return k, &Error{Kind: ErrDisabled, ObjectKind: KindKey, Name: k.Object.Name, Detail: fmt.Sprintf("Operation %s is not allowed on a disabled key.", op)}
	}
	if !slices.Contains(k.Ops, op) {
		return k, &Error{Kind: ErrOperationNotAllowed, ObjectKind: KindKey, Name: k.Object.Name,
			Detail: fmt.Sprintf("Operation %s is not permitted on this key: its key_ops are %v. Update the key's key_ops to allow it.", op, k.Ops)}
	}
	if op != keyops.OpDecrypt && op != keyops.OpUnwrapKey && op != keyops.OpVerify {
		now := s.Now()
		if !k.NotBefore.IsZero() && now.Before(k.NotBefore) || !k.Expires.IsZero() && !now.Before(k.Expires) {
			return k, &Error{Kind: ErrDisabled, ObjectKind: KindKey, Name: k.Object.Name,
				Detail: fmt.Sprintf("Operation %s is not allowed: the key is outside its validity period (nbf/exp); decrypt, unwrapKey and verify still work.", op)}
		}
	}
	mat, err := s.keyMaterial(k.KeyVersion)
	if err != nil {
		return k, err
	}
	return k, keyError(k.Object.Name, fn(mat))
}
