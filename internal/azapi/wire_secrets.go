package azapi

// Wire types of the secrets API, as Azure's SDKs send and read them. They live only here and are
// never stored.

type wireAttributesIn struct {
	Enabled   *bool  `json:"enabled"`
	NotBefore *int64 `json:"nbf"`
	Expires   *int64 `json:"exp"`
}

type wireAttributes struct {
	Enabled         *bool  `json:"enabled,omitempty"`
	NotBefore       *int64 `json:"nbf,omitempty"`
	Expires         *int64 `json:"exp,omitempty"`
	Created         *int64 `json:"created,omitempty"`
	Updated         *int64 `json:"updated,omitempty"`
	RecoveryLevel   string `json:"recoveryLevel,omitempty"`
	RecoverableDays *int   `json:"recoverableDays,omitempty"`
}

type wireSecretSet struct {
	Value       *string           `json:"value"`
	ContentType *string           `json:"contentType"`
	Attributes  *wireAttributesIn `json:"attributes"`
	Tags        map[string]string `json:"tags"`
}

type wireSecretUpdate struct {
	ContentType *string           `json:"contentType"`
	Attributes  *wireAttributesIn `json:"attributes"`
	Tags        map[string]string `json:"tags"`
}

// wireSecret is SecretBundle, DeletedSecretBundle, SecretItem and DeletedSecretItem in
// one: the fields a shape lacks are left empty and omitted.
type wireSecret struct {
	Value              *string           `json:"value,omitempty"`
	ID                 string            `json:"id"`
	ContentType        string            `json:"contentType,omitempty"`
	Attributes         wireAttributes    `json:"attributes"`
	Tags               map[string]string `json:"tags,omitempty"`
	Kid                string            `json:"kid,omitempty"`
	Managed            *bool             `json:"managed,omitempty"`
	RecoveryID         string            `json:"recoveryId,omitempty"`
	DeletedDate        *int64            `json:"deletedDate,omitempty"`
	ScheduledPurgeDate *int64            `json:"scheduledPurgeDate,omitempty"`
}

type wireBackup struct {
	Value string `json:"value"`
}
