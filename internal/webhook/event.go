package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Event kinds: what is about to be, or has been, purged.
const (
	KindVault       = "vault"
	KindSecret      = "secret"
	KindKey         = "key"
	KindCertificate = "certificate"
)

// Type prefix and suffixes, in the style of Azure Event Grid's Key Vault events
// (Microsoft.KeyVault.SecretNewVersionCreated, …): Coffer.KeyVault.SecretPurgeImminent,
// Coffer.KeyVault.VaultPurged, ….
const (
	typePrefix     = "Coffer.KeyVault."
	PurgeImminent  = "PurgeImminent"
	Purged         = "Purged"
	SignatureAlgo  = "sha256"
	ContentType    = "application/cloudevents+json"
	SignatureField = "Coffer-Signature"
)

// Event is what the outbox keeps of an event; the CloudEvent is rendered from it when
// it is sent (CloudEvent), the same bytes on every attempt.
type Event struct {
	ID   string    `json:"id"`
	Type string    `json:"type"` // e.g. Coffer.KeyVault.SecretPurgeImminent
	Time time.Time `json:"time"` // the vault clock when it was raised
	// The vault's ARM coordinates, for the source and a vault's ids.
	Subscription  string `json:"subscription"`
	ResourceGroup string `json:"resourceGroup"`
	Location      string `json:"location,omitempty"`
	Vault         string `json:"vault"`
	// Kind is vault, secret, key or certificate; Name the object's (the vault's for a vault).
	Kind               string    `json:"kind"`
	Name               string    `json:"name"`
	DeletedDate        time.Time `json:"deletedDate"`
	ScheduledPurgeDate time.Time `json:"scheduledPurgeDate"`
}

// NewEvent returns an event of kind ("vault", "secret", …) and what ("PurgeImminent" or
// "Purged") with a new id.
func NewEvent(what, kind string, now time.Time) Event {
	return Event{ID: uuid.NewString(), Type: TypeName(kind, what), Time: now.UTC(), Kind: kind}
}

// TypeName is the CloudEvent type for kind and what: TypeName("secret", Purged) is
// "Coffer.KeyVault.SecretPurged".
func TypeName(kind, what string) string {
	if kind == "" {
		return typePrefix + what
	}
	return typePrefix + strings.ToUpper(kind[:1]) + kind[1:] + what
}

// CloudEvent is the structured-mode CloudEvents 1.0 JSON of an event.
type CloudEvent struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	Subject         string    `json:"subject"`
	Time            time.Time `json:"time"`
	DataContentType string    `json:"datacontenttype"`
	Data            EventData `json:"data"`
}

// EventData is a CloudEvent's data: which object, and its deletion's dates.
type EventData struct {
	VaultName          string    `json:"vaultName"`
	ObjectName         string    `json:"objectName"`
	ObjectType         string    `json:"objectType"` // Secret, Key, Certificate, Vault
	DeletedDate        time.Time `json:"deletedDate"`
	ScheduledPurgeDate time.Time `json:"scheduledPurgeDate"`
	// ID is the object's id (https://V.domain/secrets/N) or the vault's ARM id;
	// RecoveryID the deleted object's (https://V.domain/deletedsecrets/N) or deleted
	// vault's (/subscriptions/S/providers/Microsoft.KeyVault/locations/L/deletedVaults/V).
	ID         string `json:"id"`
	RecoveryID string `json:"recoveryId"`
}

// Source is the vault's ARM id, the CloudEvent source.
func (e Event) Source() string {
	return "/subscriptions/" + e.Subscription + "/resourceGroups/" + e.ResourceGroup + "/providers/Microsoft.KeyVault/vaults/" + e.Vault
}

// CloudEvent renders e; vaultURL gives a vault's data-plane URL
// (https://V.domain[:PORT]/) for the ids of objects.
func (e Event) CloudEvent(vaultURL func(vault string) string) CloudEvent {
	d := EventData{VaultName: e.Vault, ObjectName: e.Name, DeletedDate: e.DeletedDate.UTC(), ScheduledPurgeDate: e.ScheduledPurgeDate.UTC()}
	if e.Kind != "" {
		d.ObjectType = strings.ToUpper(e.Kind[:1]) + e.Kind[1:]
	}
	if e.Kind == KindVault {
		d.ID = e.Source()
		d.RecoveryID = "/subscriptions/" + e.Subscription + "/providers/Microsoft.KeyVault/locations/" + e.Location + "/deletedVaults/" + e.Vault
	} else {
		base := strings.TrimSuffix(vaultURL(e.Vault), "/")
		d.ID = base + "/" + e.Kind + "s/" + e.Name
		d.RecoveryID = base + "/deleted" + e.Kind + "s/" + e.Name
	}
	return CloudEvent{SpecVersion: "1.0", ID: e.ID, Source: e.Source(), Type: e.Type, Subject: e.Name,
		Time: e.Time.UTC(), DataContentType: "application/json", Data: d}
}

// Body is the JSON a receiver gets for e.
func (e Event) Body(vaultURL func(vault string) string) []byte {
	b, _ := json.Marshal(e.CloudEvent(vaultURL)) // plain struct: always marshals
	return b
}

// Sign is the Coffer-Signature header of body under secret:
// "sha256=" + hex(HMAC-SHA256(secret, body)). The secret is used as its text.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return SignatureAlgo + "=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header is a valid signature of body under secret, as a
// receiver checks it (in constant time).
func Verify(secret string, body []byte, header string) bool {
	return hmac.Equal([]byte(header), []byte(Sign(secret, body)))
}
