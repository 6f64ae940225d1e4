package vault

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/coffer/coffer/internal/storage"
)

// A backup blob is self-describing and sealed under the deployment's backup key, so it
// opens in any vault of the same Coffer deployment and nowhere else:
//
//	magic "CFBK" | format (1 byte) | nonce (12) | AES-256-GCM(JSON backupContents)
//
// with magic and format as additional data. The JSON names the object kind, so a blob of
// one kind cannot be restored as another.
const (
	backupMagic  = "CFBK"
	backupFormat = 1
)

type backupContents struct {
	Kind     Kind              `json:"kind"`
	Name     string            `json:"name"`
	Latest   string            `json:"latest"`
	Policy   json.RawMessage   `json:"policy,omitempty"`
	Versions []json.RawMessage `json:"versions"`
	// VersionIDs parallels Versions: the id each record is stored under.
	VersionIDs []string `json:"versionIds"`
	// Linked holds a certificate's managed key and secret.
	Linked []backupContents `json:"linked,omitempty"`
}

func (s *Service) aead() cipher.AEAD {
	b, err := aes.NewCipher(s.backupKey)
	if err != nil {
		panic(err) // the key length is checked at Open
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		panic(err)
	}
	return g
}

func (s *Service) sealBackup(c backupContents) []byte {
	g := s.aead()
	header := append([]byte(backupMagic), backupFormat)
	out := make([]byte, 0, len(header)+g.NonceSize()+256)
	out = append(out, header...)
	nonce := make([]byte, g.NonceSize())
	rand.Read(nonce)
	out = append(out, nonce...)
	return g.Seal(out, nonce, mustJSON(c), header)
}

// OpenBackup checks and decodes a backup blob. Any damage — truncation, a flipped byte,
// another deployment's key, an unknown format — is ErrBadParameter.
func (s *Service) openBackup(kind Kind, blob []byte) (backupContents, error) {
	var c backupContents
	bad := func(why string) error {
		return &Error{Kind: ErrBadParameter, ObjectKind: kind, Detail: "Backup blob is invalid: " + why + "."}
	}
	g := s.aead()
	hl := len(backupMagic) + 1
	if len(blob) < hl+g.NonceSize()+g.Overhead() || string(blob[:len(backupMagic)]) != backupMagic {
		return c, bad("it is not a Coffer backup or it is truncated")
	}
	if blob[len(backupMagic)] != backupFormat {
		return c, bad(fmt.Sprintf("unknown format %d", blob[len(backupMagic)]))
	}
	nonce := blob[hl : hl+g.NonceSize()]
	plain, err := g.Open(nil, nonce, blob[hl+g.NonceSize():], blob[:hl])
	if err != nil {
		return c, bad("it was altered, truncated, or made by another Coffer deployment")
	}
	if err := json.Unmarshal(plain, &c); err != nil || len(c.Versions) != len(c.VersionIDs) || len(c.Versions) == 0 {
		return c, bad("its contents are malformed")
	}
	if c.Kind != kind {
		return c, bad(fmt.Sprintf("it holds a %s, not a %s", c.Kind, kind))
	}
	if !ValidName(c.Name) || c.Latest == "" {
		return c, bad("its contents are malformed")
	}
	for _, id := range c.VersionIDs {
		if !ValidVersion(id) {
			return c, bad("its contents are malformed")
		}
	}
	return c, nil
}

// backup seals the live object name of kind, with every version and the objects
// linked to it.
func (s Request) backup(ctx context.Context, vaultName string, kind Kind, name string) ([]byte, error) {
	if err := checkName(kind, name); err != nil {
		return nil, err
	}
	var c backupContents
	err := s.onObject(ctx, false, shownObject, vaultName, kind, name, "", func(tx storage.Tx, vlt Vault, o *Object, now time.Time) error {
		c = backupContents{}
		return withLinked(tx, vlt, o, now, func(lo *Object) error {
			part, err := collect(tx, vlt, lo)
			if lo == o {
				c = part
			} else {
				c.Linked = append(c.Linked, part)
			}
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return s.sealBackup(c), nil
}

func collect(tx storage.Tx, vlt Vault, o *Object) (backupContents, error) {
	prefix := versionPrefix(vlt.Name, o.Kind, o.Name)
	es, err := tx.Scan(prefix, "", 0)
	if err != nil {
		return backupContents{}, err
	}
	c := backupContents{Kind: o.Kind, Name: o.Name, Latest: o.Latest, Policy: o.Policy}
	for _, e := range es {
		c.VersionIDs = append(c.VersionIDs, e.Key[len(prefix):])
		c.Versions = append(c.Versions, e.Value)
	}
	return c, nil
}

func (s Request) restore(ctx context.Context, vaultName string, kind Kind, blob []byte, result func(storage.Tx, Vault, *Object) error) error {
	c, err := s.openBackup(kind, blob)
	if err != nil {
		return err
	}
	return s.inVault(ctx, true, vaultName, func(tx storage.Tx, vlt Vault, now time.Time) error {
		var main *Object
		for i, part := range append([]backupContents{c}, c.Linked...) {
			o, err := restorePart(tx, vlt, part, i > 0, now)
			if err != nil {
				return err
			}
			if i == 0 {
				main = o
			}
		}
		return result(tx, vlt, main)
	})
}

// restorePart writes one object of a backup (a certificate's key and secret are
// managed) under a name that must be free.
func restorePart(tx storage.Tx, vlt Vault, c backupContents, managed bool, now time.Time) (*Object, error) {
	if !ValidName(c.Name) || len(c.Versions) != len(c.VersionIDs) {
		return nil, &Error{Kind: ErrBadParameter, ObjectKind: c.Kind, Detail: "Backup blob is invalid: its contents are malformed."}
	}
	if err := reserveName(tx, vlt, c.Kind, c.Name, now); err != nil {
		return nil, err
	}
	if _, err := liveObject(tx, vlt.Name, c.Kind, c.Name); err == nil {
		return nil, &Error{Kind: ErrAlreadyExists, ObjectKind: c.Kind, Name: c.Name}
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	o := &Object{Kind: c.Kind, Name: c.Name, Latest: c.Latest, Versions: len(c.Versions), Policy: c.Policy, Managed: managed}
	for i, v := range c.Versions {
		if err := tx.Put(versionKey(vlt.Name, c.Kind, c.Name, c.VersionIDs[i]), v); err != nil {
			return nil, err
		}
	}
	return o, tx.Put(liveKey(vlt.Name, c.Kind, c.Name), mustJSON(o))
}
