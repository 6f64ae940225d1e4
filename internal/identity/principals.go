package identity

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/kvjson"
)

// Principal errors.
var (
	// ErrPrincipalNotFound: no principal has the given id.
	ErrPrincipalNotFound = errors.New("identity: principal not found")
	// ErrAdminPrincipal: the bootstrap administrator cannot be deleted.
	ErrAdminPrincipal = errors.New("identity: the administrator principal cannot be deleted")
	// ErrInvalidName: a principal name must be 1–128 printable characters.
	ErrInvalidName = errors.New("identity: invalid principal name")
)

// Principal is an authenticated service principal: the subject of a verified token.
type Principal struct {
	TenantID string
	ClientID string // application (client) id, the `appid` of its tokens
	ObjectID string // service principal object id, the `oid`; access policies name it
	Name     string
	Admin    bool // the bootstrap administrator: every permission on every vault
}

// principalRecord is stored at sys/principals/<clientId>.
type principalRecord struct {
	ClientID   string    `json:"clientId"`
	ObjectID   string    `json:"objectId"`
	Name       string    `json:"name"`
	Admin      bool      `json:"admin,omitempty"`
	SecretHash []byte    `json:"secretHash"`       // SHA-256 of the secret (32 random bytes: no KDF needed)
	Secret     string    `json:"secret,omitempty"` // administrator only: bootstrap-credentials.json is rebuilt from it
	Created    time.Time `json:"created"`
}

func (r principalRecord) principal(tenant string) Principal {
	return Principal{TenantID: tenant, ClientID: r.ClientID, ObjectID: r.ObjectID, Name: r.Name, Admin: r.Admin}
}

// secretMatches compares in constant time.
func (r principalRecord) secretMatches(secret string) bool {
	sum := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(sum[:], r.SecretHash) == 1
}

func newPrincipal(name string, now time.Time) (Credentials, principalRecord, error) {
	clientID, err := newGUID()
	if err != nil {
		return Credentials{}, principalRecord{}, err
	}
	objectID, err := newGUID()
	if err != nil {
		return Credentials{}, principalRecord{}, err
	}
	secret, err := newSecret()
	if err != nil {
		return Credentials{}, principalRecord{}, err
	}
	sum := sha256.Sum256([]byte(secret))
	rec := principalRecord{ClientID: clientID, ObjectID: objectID, Name: name, SecretHash: sum[:], Created: now}
	return Credentials{ClientID: clientID, ClientSecret: secret, ObjectID: objectID}, rec, nil
}

// canonGUID returns the canonical lower-case form of a GUID, or "" when s is not one. It
// keeps arbitrary client input out of storage keys.
func canonGUID(s string) string {
	if len(s) != 36 {
		return ""
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return ""
	}
	return u.String()
}

// CreatePrincipal creates a service principal with no rights of its own and returns its
// credentials (the only time its secret is visible) and the principal.
func (s *Service) CreatePrincipal(ctx context.Context, name string) (Credentials, Principal, error) {
	if name == "" || utf8.RuneCountInString(name) > 128 || !utf8.ValidString(name) ||
		strings.IndexFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return Credentials{}, Principal{}, ErrInvalidName
	}
	cred, rec, err := newPrincipal(name, s.clock.Now().UTC().Truncate(time.Second))
	if err != nil {
		return Credentials{}, Principal{}, err
	}
	if err := s.st.Update(ctx, func(tx storage.Tx) error {
		return kvjson.Put(tx, prefixPrincipals+rec.ClientID, rec)
	}); err != nil {
		return Credentials{}, Principal{}, fmt.Errorf("identity: create principal: %w", err)
	}
	cred.TenantID, cred.AuthorityHost = s.tenant, s.authority
	return cred, rec.principal(s.tenant), nil
}

// ListPrincipals returns every principal, administrator included, ordered by name then
// client id. Secrets are never returned.
func (s *Service) ListPrincipals(ctx context.Context) ([]Principal, error) {
	var out []Principal
	err := s.st.View(ctx, func(tx storage.Tx) error {
		out = out[:0]
		for p, err := range principalsIn(tx) {
			if err != nil {
				return err
			}
			out = append(out, p.rec.principal(s.tenant))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("identity: list principals: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ClientID < out[j].ClientID
	})
	return out, nil
}

// PrincipalByClientID returns the principal with the given client (application) id, or
// [ErrPrincipalNotFound]. The Graph stand-in uses it to map a client id to its object id.
func (s *Service) PrincipalByClientID(ctx context.Context, clientID string) (Principal, error) {
	rec, err := s.lookup(ctx, clientID)
	if err != nil {
		return Principal{}, err
	}
	return rec.principal(s.tenant), nil
}

// DeletePrincipal deletes the principal with the given object id. Its tokens stop being
// accepted at once by this Service; another server sharing the storage may honour a token
// it has already verified until that token expires. The administrator cannot be deleted
// ([ErrAdminPrincipal]); an unknown id is [ErrPrincipalNotFound].
func (s *Service) DeletePrincipal(ctx context.Context, objectID string) error {
	oid := canonGUID(objectID)
	if oid == "" {
		return ErrPrincipalNotFound
	}
	var clientID string
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		clientID = ""
		for p, err := range principalsIn(tx) {
			if err != nil {
				return err
			}
			if p.rec.ObjectID != oid {
				continue
			}
			if p.rec.Admin {
				return ErrAdminPrincipal
			}
			clientID = p.rec.ClientID
			return tx.Delete(p.key)
		}
		return ErrPrincipalNotFound
	})
	if errors.Is(err, ErrAdminPrincipal) || errors.Is(err, ErrPrincipalNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("identity: delete principal: %w", err)
	}
	s.cache.dropClient(clientID)
	return nil
}

// lookup reads a principal record by client id.
func (s *Service) lookup(ctx context.Context, clientID string) (principalRecord, error) {
	id := canonGUID(clientID)
	if id == "" {
		return principalRecord{}, ErrPrincipalNotFound
	}
	var rec principalRecord
	err := s.st.View(ctx, func(tx storage.Tx) error {
		rec = principalRecord{}
		return kvjson.Get(tx, prefixPrincipals+id, &rec)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return principalRecord{}, ErrPrincipalNotFound
	}
	if err != nil {
		return principalRecord{}, fmt.Errorf("identity: read principal: %w", err)
	}
	return rec, nil
}

// storedPrincipal is a principal record and the key it is stored under.
type storedPrincipal struct {
	key string
	rec principalRecord
}

// principalsIn yields the principal records of tx in key order, decoding each as it
// comes; when the scan or a decoding fails, it yields that error last.
func principalsIn(tx storage.Tx) iter.Seq2[storedPrincipal, error] {
	return func(yield func(storedPrincipal, error) bool) {
		ents, err := tx.Scan(prefixPrincipals, "", 0)
		if err != nil {
			yield(storedPrincipal{}, err)
			return
		}
		for _, e := range ents {
			p := storedPrincipal{key: e.Key}
			if err := json.Unmarshal(e.Value, &p.rec); err != nil {
				yield(storedPrincipal{}, fmt.Errorf("decode %s: %w", e.Key, err))
				return
			}
			if !yield(p, nil) {
				return
			}
		}
	}
}
