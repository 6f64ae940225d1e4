package vault

import "time"

// Attributes are what every version of every kind carries besides its material: Azure's
// version attributes and the version's tags. (Its recoveryLevel is the vault's:
// Vault.RecoveryLevel.)
type Attributes struct {
	Tags      map[string]string `json:"tags,omitempty"`
	Enabled   bool              `json:"enabled"`
	NotBefore time.Time         `json:"nbf,omitzero"`
	Expires   time.Time         `json:"exp,omitzero"`
	Created   time.Time         `json:"created"`
	Updated   time.Time         `json:"updated"`
}

// attrs are the attributes a request gives; nil ones are not given.
type attrs struct {
	tags     map[string]string
	enabled  *bool
	nbf, exp *time.Time
}

// newAttributes are a new version's attributes: enabled unless given otherwise.
func newAttributes(a attrs, now time.Time) Attributes {
	at := Attributes{Enabled: true, Created: now}
	at.update(a, now)
	return at
}

// update applies what the request gives and dates the change.
func (at *Attributes) update(a attrs, now time.Time) {
	if a.tags != nil {
		at.Tags = a.tags
	}
	if a.enabled != nil {
		at.Enabled = *a.enabled
	}
	if a.nbf != nil {
		at.NotBefore = wireTime(*a.nbf)
	}
	if a.exp != nil {
		at.Expires = wireTime(*a.exp)
	}
	at.Updated = now
}

// wireTime is t at the wire's resolution: UTC, whole seconds.
func wireTime(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }
