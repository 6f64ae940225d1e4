package azapi

// Wire types of the certificates API, as Azure's SDKs send and read them.

type wireCertKeyProps struct {
	Exportable *bool  `json:"exportable,omitempty"`
	Kty        string `json:"kty,omitempty"`
	KeySize    *int   `json:"key_size,omitempty"`
	ReuseKey   *bool  `json:"reuse_key,omitempty"`
	Crv        string `json:"crv,omitempty"`
}

type wireCertSecretProps struct {
	ContentType string `json:"contentType,omitempty"`
}

type wireCertSANs struct {
	DNSNames []string `json:"dns_names,omitempty"`
	Emails   []string `json:"emails,omitempty"`
	UPNs     []string `json:"upns,omitempty"`
}

type wireX509Props struct {
	Subject          string        `json:"subject,omitempty"`
	SANs             *wireCertSANs `json:"sans,omitempty"`
	EKUs             []string      `json:"ekus,omitempty"`
	KeyUsage         []string      `json:"key_usage,omitempty"`
	ValidityMonths   *int          `json:"validity_months,omitempty"`
	BasicConstraints *struct {
		CA bool `json:"ca"`
	} `json:"basic_constraints,omitempty"`
}

type wireCertLifetimeAction struct {
	Trigger *struct {
		LifetimePercentage *int `json:"lifetime_percentage,omitempty"`
		DaysBeforeExpiry   *int `json:"days_before_expiry,omitempty"`
	} `json:"trigger,omitempty"`
	Action *struct {
		ActionType string `json:"action_type"`
	} `json:"action,omitempty"`
}

type wireCertIssuerRef struct {
	Name             string `json:"name,omitempty"`
	CertificateType  string `json:"cty,omitempty"`
	CertTransparency *bool  `json:"cert_transparency,omitempty"`
}

type wireCertPolicy struct {
	ID              string                   `json:"id,omitempty"`
	KeyProps        *wireCertKeyProps        `json:"key_props,omitempty"`
	SecretProps     *wireCertSecretProps     `json:"secret_props,omitempty"`
	X509Props       *wireX509Props           `json:"x509_props,omitempty"`
	LifetimeActions []wireCertLifetimeAction `json:"lifetime_actions,omitempty"`
	Issuer          *wireCertIssuerRef       `json:"issuer,omitempty"`
	Attributes      *wireAttributes          `json:"attributes,omitempty"`
}

type wireCertAttributesIn struct {
	Enabled *bool `json:"enabled"`
}

type wireCertCreate struct {
	Policy     *wireCertPolicy       `json:"policy"`
	Attributes *wireCertAttributesIn `json:"attributes"`
	Tags       map[string]string     `json:"tags"`
}

type wireCertImport struct {
	Value      *string               `json:"value"`
	Password   string                `json:"pwd"`
	Policy     *wireCertPolicy       `json:"policy"`
	Attributes *wireCertAttributesIn `json:"attributes"`
	Tags       map[string]string     `json:"tags"`
}

type wireCertMerge struct {
	X5C        []string              `json:"x5c"`
	Attributes *wireCertAttributesIn `json:"attributes"`
	Tags       map[string]string     `json:"tags"`
}

type wireCertUpdate struct {
	Attributes *wireCertAttributesIn `json:"attributes"`
	Tags       map[string]string     `json:"tags"`
	Policy     *wireCertPolicy       `json:"policy"`
}

// wireCert is CertificateBundle, DeletedCertificateBundle and their list items.
type wireCert struct {
	ID                 string            `json:"id"`
	Kid                string            `json:"kid,omitempty"`
	Sid                string            `json:"sid,omitempty"`
	X5T                b64               `json:"x5t,omitempty"`
	CER                []byte            `json:"cer,omitempty"` // encoding/json writes standard base64
	Attributes         wireAttributes    `json:"attributes"`
	Tags               map[string]string `json:"tags,omitempty"`
	Policy             *wireCertPolicy   `json:"policy,omitempty"`
	RecoveryID         string            `json:"recoveryId,omitempty"`
	DeletedDate        *int64            `json:"deletedDate,omitempty"`
	ScheduledPurgeDate *int64            `json:"scheduledPurgeDate,omitempty"`
}

type wireCertOperation struct {
	ID                    string             `json:"id"`
	Issuer                *wireCertIssuerRef `json:"issuer,omitempty"`
	CSR                   []byte             `json:"csr,omitempty"` // standard base64
	CancellationRequested bool               `json:"cancellation_requested"`
	Status                string             `json:"status"`
	StatusDetails         string             `json:"status_details,omitempty"`
	Error                 *wireErrorBody     `json:"error,omitempty"`
	Target                string             `json:"target,omitempty"`
	RequestID             string             `json:"request_id,omitempty"`
}

type wireContacts struct {
	ID       string        `json:"id,omitempty"`
	Contacts []wireContact `json:"contacts"`
}

type wireContact struct {
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
}

type wireIssuer struct {
	ID          string `json:"id,omitempty"`
	Provider    string `json:"provider,omitempty"`
	Credentials *struct {
		AccountID string `json:"account_id,omitempty"`
		Password  string `json:"pwd,omitempty"`
	} `json:"credentials,omitempty"`
	OrgDetails any             `json:"org_details,omitempty"`
	Attributes *wireAttributes `json:"attributes,omitempty"`
}

type wireIssuerList struct {
	Value    []wireIssuer `json:"value"`
	NextLink *string      `json:"nextLink"`
}
