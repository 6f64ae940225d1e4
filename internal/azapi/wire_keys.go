package azapi

import (
	"encoding/json"
	"strings"
)

// Wire types of the keys API, as Azure's SDKs send and read them.

// b64 is a base64url byte field: written unpadded, read padded or not.
type b64 []byte

func (b b64) MarshalJSON() ([]byte, error) { return json.Marshal(b64url.EncodeToString(b)) }

func (b *b64) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	d, err := b64url.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return badParameter("A field that must be base64url text is not.")
	}
	*b = d
	return nil
}

type wireJWK struct {
	Kid    string   `json:"kid,omitempty"`
	Kty    string   `json:"kty,omitempty"`
	KeyOps []string `json:"key_ops,omitempty"`
	N      b64      `json:"n,omitempty"`
	E      b64      `json:"e,omitempty"`
	D      b64      `json:"d,omitempty"`
	DP     b64      `json:"dp,omitempty"`
	DQ     b64      `json:"dq,omitempty"`
	QI     b64      `json:"qi,omitempty"`
	P      b64      `json:"p,omitempty"`
	Q      b64      `json:"q,omitempty"`
	K      b64      `json:"k,omitempty"`
	KeyHSM b64      `json:"key_hsm,omitempty"`
	Crv    string   `json:"crv,omitempty"`
	X      b64      `json:"x,omitempty"`
	Y      b64      `json:"y,omitempty"`
}

type wireKeyAttributesIn struct {
	Enabled    *bool  `json:"enabled"`
	NotBefore  *int64 `json:"nbf"`
	Expires    *int64 `json:"exp"`
	Exportable *bool  `json:"exportable"`
}

type wireKeyCreate struct {
	Kty            *string              `json:"kty"`
	KeySize        *int                 `json:"key_size"`
	PublicExponent *int                 `json:"public_exponent"`
	Crv            *string              `json:"crv"`
	KeyOps         []string             `json:"key_ops"`
	Attributes     *wireKeyAttributesIn `json:"attributes"`
	Tags           map[string]string    `json:"tags"`
	ReleasePolicy  json.RawMessage      `json:"release_policy"`
}

type wireKeyImport struct {
	Key           *wireJWK             `json:"key"`
	HSM           *bool                `json:"Hsm"`
	Attributes    *wireKeyAttributesIn `json:"attributes"`
	Tags          map[string]string    `json:"tags"`
	ReleasePolicy json.RawMessage      `json:"release_policy"`
}

type wireKeyUpdate struct {
	KeyOps     []string             `json:"key_ops"`
	Attributes *wireKeyAttributesIn `json:"attributes"`
	Tags       map[string]string    `json:"tags"`
}

// wireKey is KeyBundle, DeletedKeyBundle, KeyItem and DeletedKeyItem in one.
type wireKey struct {
	Key                *wireJWK          `json:"key,omitempty"`
	Kid                string            `json:"kid,omitempty"` // list items only
	Attributes         wireAttributes    `json:"attributes"`
	Tags               map[string]string `json:"tags,omitempty"`
	Managed            *bool             `json:"managed,omitempty"`
	RecoveryID         string            `json:"recoveryId,omitempty"`
	DeletedDate        *int64            `json:"deletedDate,omitempty"`
	ScheduledPurgeDate *int64            `json:"scheduledPurgeDate,omitempty"`
}

type wireKeyOp struct {
	Alg    *string `json:"alg"`
	Value  b64     `json:"value"`
	IV     b64     `json:"iv"`
	AAD    b64     `json:"aad"`
	Tag    b64     `json:"tag"`
	Digest b64     `json:"digest"` // verify
}

type wireKeyOpResult struct {
	Kid   string `json:"kid"`
	Value b64    `json:"value"`
	IV    b64    `json:"iv,omitempty"`
	Tag   b64    `json:"tag,omitempty"`
	AAD   b64    `json:"aad,omitempty"`
}

type wireVerifyResult struct {
	Value bool `json:"value"`
}

type wireRandom struct {
	Count *int `json:"count"`
}

type wireRandomResult struct {
	Value b64 `json:"value"`
}

type wireRotationPolicy struct {
	ID              string               `json:"id,omitempty"`
	LifetimeActions []wireLifetimeAction `json:"lifetimeActions"`
	Attributes      *wireRotationAttrs   `json:"attributes,omitempty"`
}

type wireLifetimeAction struct {
	Trigger *struct {
		TimeAfterCreate  string `json:"timeAfterCreate,omitempty"`
		TimeBeforeExpiry string `json:"timeBeforeExpiry,omitempty"`
	} `json:"trigger"`
	Action *struct {
		Type string `json:"type"`
	} `json:"action"`
}

type wireRotationAttrs struct {
	ExpiryTime string `json:"expiryTime,omitempty"`
	Created    *int64 `json:"created,omitempty"`
	Updated    *int64 `json:"updated,omitempty"`
}
