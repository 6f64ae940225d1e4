package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/kvjson"
)

// Contact is a certificate contact of a vault.
type Contact struct {
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
}

func contactsKey(v string) string { return "v/" + lower(v) + "/certificate/contacts" }

// GetContacts returns the vault's certificate contacts (ErrNotFound when none were set).
func (s Request) GetContacts(ctx context.Context, vaultName string) ([]Contact, error) {
	return onRecord[[]Contact](s, ctx, false, vaultName, contactsKey, noContacts, nil)
}

var noContacts = &Error{Kind: ErrNotFound, ObjectKind: "contacts", Name: "contacts"}

// SetContacts replaces the vault's certificate contacts.
func (s Request) SetContacts(ctx context.Context, vaultName string, cs []Contact) ([]Contact, error) {
	for _, c := range cs {
		if c.Email == "" && c.Name == "" && c.Phone == "" {
			return nil, &Error{Kind: ErrBadParameter, ObjectKind: "contacts", Detail: "Each contact needs an email, a name or a phone."}
		}
	}
	err := s.inVault(ctx, true, vaultName, func(tx storage.Tx, vlt Vault, now time.Time) error {
		return tx.Put(contactsKey(vlt.Name), mustJSON(cs))
	})
	return cs, err
}

// DeleteContacts removes the contacts and returns them.
func (s Request) DeleteContacts(ctx context.Context, vaultName string) ([]Contact, error) {
	return onRecord(s, ctx, true, vaultName, contactsKey, noContacts, deleteRecord[[]Contact])
}

// deleteRecord is onRecord's fn that removes the record read.
func deleteRecord[T any](tx storage.Tx, key string, _ *T) error { return tx.Delete(key) }

// Issuer is a certificate issuer object of a vault. Coffer keeps and returns issuers
// but only issues with "Self" (and "Unknown" + merge); named issuers fail issuance.
type Issuer struct {
	Name        string          `json:"name"`
	Provider    string          `json:"provider"`
	Credentials json.RawMessage `json:"credentials,omitempty"` // sealed like every value; never returned with its password
	OrgDetails  json.RawMessage `json:"orgDetails,omitempty"`
	Enabled     bool            `json:"enabled"`
	Created     time.Time       `json:"created"`
	Updated     time.Time       `json:"updated"`
}

func issuerPrefix(v string) string    { return "v/" + lower(v) + "/certificate/issuer/" }
func issuerKey(v, name string) string { return issuerPrefix(v) + lower(name) }

func checkIssuerName(name string) error {
	if !ValidName(name) {
		return &Error{Kind: ErrBadParameter, ObjectKind: "issuer", Name: name, Detail: fmt.Sprintf("The request URI contains an invalid issuer name: %s.", name)}
	}
	if strings.EqualFold(name, "Self") || strings.EqualFold(name, "Unknown") {
		return &Error{Kind: ErrBadParameter, ObjectKind: "issuer", Name: name, Detail: "Self and Unknown are reserved issuer names and need no issuer object."}
	}
	return nil
}

// IssuerParams are what a set or an update of an issuer gives. A set starts from nothing
// (Enabled unset: enabled); an update keeps what it leaves unset (an empty Provider, nil
// Credentials, OrgDetails or Enabled).
type IssuerParams struct {
	Name        string
	Provider    string
	Credentials json.RawMessage
	OrgDetails  json.RawMessage
	Enabled     *bool
}

// SetIssuer creates or replaces (update: merges) an issuer.
func (s Request) SetIssuer(ctx context.Context, vaultName string, in IssuerParams, merge bool) (Issuer, error) {
	if err := checkIssuerName(in.Name); err != nil {
		return Issuer{}, err
	}
	var out Issuer
	err := s.inVault(ctx, true, vaultName, func(tx storage.Tx, vlt Vault, now time.Time) error {
		var cur Issuer
		err := kvjson.Get(tx, issuerKey(vlt.Name, in.Name), &cur)
		exists := err == nil
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if merge && !exists {
			return &Error{Kind: ErrNotFound, ObjectKind: "issuer", Name: in.Name}
		}
		out = Issuer{Name: in.Name, Provider: in.Provider, Credentials: in.Credentials, OrgDetails: in.OrgDetails, Enabled: true}
		if merge {
			out = cur
			if in.Provider != "" {
				out.Provider = in.Provider
			}
			if in.Credentials != nil {
				out.Credentials = in.Credentials
			}
			if in.OrgDetails != nil {
				out.OrgDetails = in.OrgDetails
			}
		}
		if in.Enabled != nil {
			out.Enabled = *in.Enabled
		}
		if out.Provider == "" {
			return &Error{Kind: ErrBadParameter, ObjectKind: "issuer", Name: in.Name, Detail: "An issuer needs a 'provider'."}
		}
		out.Created = cur.Created
		if !exists {
			out.Created = now
		}
		out.Updated = now
		return tx.Put(issuerKey(vlt.Name, in.Name), mustJSON(out))
	})
	return out, err
}

// GetIssuer returns an issuer.
func (s Request) GetIssuer(ctx context.Context, vaultName, name string) (Issuer, error) {
	return onRecord[Issuer](s, ctx, false, vaultName, issuerKeyOf(name), noIssuer(name), nil)
}

// DeleteIssuer removes an issuer and returns it.
func (s Request) DeleteIssuer(ctx context.Context, vaultName, name string) (Issuer, error) {
	return onRecord(s, ctx, true, vaultName, issuerKeyOf(name), noIssuer(name), deleteRecord[Issuer])
}

func issuerKeyOf(name string) func(string) string {
	return func(v string) string { return issuerKey(v, name) }
}

func noIssuer(name string) error { return &Error{Kind: ErrNotFound, ObjectKind: "issuer", Name: name} }

// ListIssuers returns every issuer of the vault.
func (s Request) ListIssuers(ctx context.Context, vaultName string) ([]Issuer, error) {
	var out []Issuer
	err := s.inVault(ctx, false, vaultName, func(tx storage.Tx, vlt Vault, now time.Time) error {
		es, err := tx.Scan(issuerPrefix(vlt.Name), "", 0)
		if err != nil {
			return err
		}
		out = make([]Issuer, 0, len(es))
		for _, e := range es {
			var is Issuer
			if err := kvjson.Decode(e, &is); err != nil {
				return err
			}
			out = append(out, is)
		}
		return nil
	})
	return out, err
}
