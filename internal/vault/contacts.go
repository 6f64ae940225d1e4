package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/storage"
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
	var out []Contact
	err := s.st.View(ctx, func(tx storage.Tx) error {
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
		err = getJSON(tx, contactsKey(vlt.Name), &out)
		if errors.Is(err, storage.ErrNotFound) {
			return &Error{Kind: ErrNotFound, ObjectKind: "contacts", Name: "contacts"}
		}
		return err
	})
	return out, err
}

// SetContacts replaces the vault's certificate contacts.
func (s Request) SetContacts(ctx context.Context, vaultName string, cs []Contact) ([]Contact, error) {
	for _, c := range cs {
		if c.Email == "" && c.Name == "" && c.Phone == "" {
			return nil, &Error{Kind: ErrBadParameter, ObjectKind: "contacts", Detail: "Each contact needs an email, a name or a phone."}
		}
	}
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
		return tx.Put(contactsKey(vlt.Name), mustJSON(cs))
	})
	return cs, err
}

// DeleteContacts removes the contacts and returns them.
func (s Request) DeleteContacts(ctx context.Context, vaultName string) ([]Contact, error) {
	var out []Contact
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
		err = getJSON(tx, contactsKey(vlt.Name), &out)
		if errors.Is(err, storage.ErrNotFound) {
			return &Error{Kind: ErrNotFound, ObjectKind: "contacts", Name: "contacts"}
		}
		if err != nil {
			return err
		}
		return tx.Delete(contactsKey(vlt.Name))
	})
	return out, err
}

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

// SetIssuer creates or replaces (update: merges) an issuer.
func (s Request) SetIssuer(ctx context.Context, vaultName string, in Issuer, merge bool) (Issuer, error) {
	if err := checkIssuerName(in.Name); err != nil {
		return Issuer{}, err
	}
	var out Issuer
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		now := s.Now()
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
		var cur Issuer
		err = getJSON(tx, issuerKey(vlt.Name, in.Name), &cur)
		exists := err == nil
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if merge && !exists {
			return &Error{Kind: ErrNotFound, ObjectKind: "issuer", Name: in.Name}
		}
		out = in
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
			out.Enabled = in.Enabled
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
	var out Issuer
	err := s.st.View(ctx, func(tx storage.Tx) error {
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
		err = getJSON(tx, issuerKey(vlt.Name, name), &out)
		if errors.Is(err, storage.ErrNotFound) {
			return &Error{Kind: ErrNotFound, ObjectKind: "issuer", Name: name}
		}
		return err
	})
	return out, err
}

// DeleteIssuer removes an issuer and returns it.
func (s Request) DeleteIssuer(ctx context.Context, vaultName, name string) (Issuer, error) {
	var out Issuer
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
		err = getJSON(tx, issuerKey(vlt.Name, name), &out)
		if errors.Is(err, storage.ErrNotFound) {
			return &Error{Kind: ErrNotFound, ObjectKind: "issuer", Name: name}
		}
		if err != nil {
			return err
		}
		return tx.Delete(issuerKey(vlt.Name, name))
	})
	return out, err
}

// ListIssuers returns every issuer of the vault.
func (s Request) ListIssuers(ctx context.Context, vaultName string) ([]Issuer, error) {
	var out []Issuer
	err := s.st.View(ctx, func(tx storage.Tx) error {
		vlt, err := s.vault(tx, vaultName)
		if err != nil {
			return err
		}
		es, err := tx.Scan(issuerPrefix(vlt.Name), "", 0)
		if err != nil {
			return err
		}
		out = make([]Issuer, 0, len(es))
		for _, e := range es {
			var is Issuer
			if err := unmarshal(e, &is); err != nil {
				return err
			}
			out = append(out, is)
		}
		return nil
	})
	return out, err
}
