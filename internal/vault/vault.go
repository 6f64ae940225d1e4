package vault

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/authz"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// Retention bounds, in days (Azure: 7–90, default 90).
const (
	MinRetentionDays     = 7
	MaxRetentionDays     = 90
	DefaultRetentionDays = 90
)

// Vault is a vault's record: its settings for the lifecycle rules, where it lives, who
// may use it, and — once deleted — its own lifecycle, the same as an object's.
type Vault struct {
	Name            string            `json:"name"` // case as created
	RetentionDays   int               `json:"retentionDays"`
	PurgeProtection bool              `json:"purgeProtection"`
	Created         time.Time         `json:"created"`
	Updated         time.Time         `json:"updated,omitzero"`
	Subscription    string            `json:"subscription,omitempty"`
	ResourceGroup   string            `json:"resourceGroup,omitempty"`
	Location        string            `json:"location,omitempty"`
	TenantID        string            `json:"tenantId,omitempty"`
	SKU             string            `json:"sku,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	AccessPolicies  []authz.Policy    `json:"accessPolicies,omitempty"`
	// RBAC: the data plane is decided by role assignments (enableRbacAuthorization), and
	// the access policies, kept, are ignored until it is turned off again.
	RBAC bool `json:"rbac,omitempty"`
	// Settings are ARM properties Coffer keeps and echoes but does not act on
	// (enabledForDeployment, networkAcls, publicNetworkAccess, …), as JSON.
	Settings map[string]json.RawMessage `json:"settings,omitempty"`

	Lifecycle
}

func (v *Vault) subject() subject { return subject{kindVault, v.Name} }

// SoftDelete moves an active vault to Deleted, recoverable for its retention.
func (v *Vault) SoftDelete(now time.Time) error { return v.softDelete(v.subject(), now, v.Retention()) }

// Recover brings a deleted vault back.
func (v *Vault) Recover(now time.Time) error { return v.recover(v.subject(), now) }

// CheckPurge says whether a purge by hand may go ahead: only a deleted vault, and not
// under its purge protection.
func (v *Vault) CheckPurge(now time.Time) error {
	return v.checkPurge(v.subject(), now, v.PurgeProtection)
}

// CheckNameFree says whether a new vault may take this one's name.
func (v *Vault) CheckNameFree(now time.Time) error { return v.checkNameFree(v.subject(), now) }

// RecoveryLevel is Azure's attributes.recoveryLevel for objects in this vault.
func (v Vault) RecoveryLevel() string {
	lvl := "Recoverable"
	if v.RetentionDays < MaxRetentionDays {
		lvl = "CustomizedRecoverable"
	}
	if !v.PurgeProtection {
		lvl += "+Purgeable"
	}
	return lvl
}

// Retention is the vault's soft-delete retention period.
func (v Vault) Retention() time.Duration {
	return time.Duration(v.RetentionDays) * 24 * time.Hour
}

// Kind is the kind of a vault object.
type Kind string

// Object kinds.
const (
	KindSecret      Kind = "secret"
	KindKey         Kind = "key"
	KindCertificate Kind = "certificate"
)

// objectKinds are the kinds of object a vault holds, in the order they are listed.
var objectKinds = []Kind{KindSecret, KindKey, KindCertificate}

// ValidName reports whether s is a valid object name: ^[0-9a-zA-Z-]{1,127}$.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > 127 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

// ValidVersion reports whether s looks like a version id (32 lower-case hex characters,
// case-insensitively).
func ValidVersion(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func checkName(kind Kind, name string) error {
	if !ValidName(name) {
		return badParam(kind, name, fmt.Sprintf("The request URI contains an invalid name: %s. Names are 1-127 characters of letters, digits and '-'.", name))
	}
	return nil
}

func lower(s string) string { return strings.ToLower(s) }

// mustJSON encodes a record to store. It is what every change writes, in the
// transaction that commits it, so it encodes as encoding/json does with the
// go-json-experiment engine in its encoding/json mode (jsonv1), as kvjson decodes:
// less time, and the same values read back.
func mustJSON(v any) []byte {
	b, err := jsonv1.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("vault: marshal %T: %v", v, err)) // only plain structs are marshalled
	}
	return b
}
