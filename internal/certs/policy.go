package certs

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/coffer/coffer/internal/keyops"
)

// Content types of a certificate's backing secret (secret_props.contentType).
const (
	ContentTypePKCS12 = "application/x-pkcs12"
	ContentTypePEM    = "application/x-pem-file"
)

// Reserved issuer names: Self issues a self-signed certificate at once; Unknown leaves the
// operation pending with a CSR until the caller merges a certificate signed elsewhere.
const (
	IssuerSelf    = "Self"
	IssuerUnknown = "Unknown"
)

// Lifetime action types (lifetime_actions[].action.action_type).
const (
	ActionAutoRenew     = "AutoRenew"
	ActionEmailContacts = "EmailContacts"
)

// Key types and curves a certificate key may have (key_props.kty, key_props.crv): keyops'
// names, without oct.
const (
	KtyRSA    = keyops.KtyRSA
	KtyRSAHSM = keyops.KtyRSAHSM
	KtyEC     = keyops.KtyEC
	KtyECHSM  = keyops.KtyECHSM

	CurveP256 = keyops.CurveP256
	CurveP384 = keyops.CurveP384
	CurveP521 = keyops.CurveP521
)

// Limits of a policy, as Key Vault documents them.
const (
	DefaultValidityMonths = 12
	MaxValidityMonths     = 1200
	// daysPerMonth bounds days_before_expiry: at most validity_months × 27.
	daysPerMonth = 27
	// maxSANs bounds each list of subject alternative names.
	maxSANs = 100
)

// Policy is the domain form of a certificate policy: Azure's CertificatePolicy without its id
// and dates, and without the wire JSON. Field comments name the wire member.
//
// A nil slice means "not given" and [Policy.Normalize] fills the default; an empty non-nil
// slice means "none" and is kept. The wire layer must keep that distinction (a JSON array
// that is present but empty decodes to an empty non-nil slice).
type Policy struct {
	// key_props
	KeyType    string // kty: RSA, RSA-HSM, EC, EC-HSM
	KeySize    int    // key_size: RSA 2048, 3072, 4096; EC 0 or the curve's size (256, 384, 521)
	Curve      string // crv: EC only, P-256, P-384, P-521
	Exportable *bool  // exportable: nil means true; never nil after Normalize
	ReuseKey   bool   // reuse_key

	// secret_props
	ContentType string // contentType: application/x-pkcs12 or application/x-pem-file

	// x509_props
	Subject        string   // subject: an X.500 name, "CN=web, O=Contoso, C=US"
	DNSNames       []string // sans.dns_names
	Emails         []string // sans.emails
	UPNs           []string // sans.upns: user principal names
	EKUs           []string // ekus: OIDs in dotted decimal, "1.3.6.1.5.5.7.3.1"
	KeyUsage       []string // key_usage: digitalSignature, keyEncipherment, ...
	ValidityMonths int      // validity_months: 1 to 1200, 12 when 0
	CA             bool     // basic_constraints.ca

	LifetimeActions []LifetimeAction // lifetime_actions

	// issuer
	IssuerName       string // name: Self, Unknown or an issuer object's name
	CertificateType  string // cty: for named issuers (OV-SSL, EV-SSL, ...)
	CertTransparency *bool  // cert_transparency

	Enabled *bool // attributes.enabled: nil means true; never nil after Normalize
}

// LifetimeAction is one lifetime action: exactly one of LifetimePercentage (1-99) and
// DaysBeforeExpiry is set (the other is 0), and Action is AutoRenew or EmailContacts.
type LifetimeAction struct {
	LifetimePercentage int    // trigger.lifetime_percentage
	DaysBeforeExpiry   int    // trigger.days_before_expiry
	Action             string // action.action_type
}

// keyUsages maps key_usage names to crypto/x509's bits, in the order of the bits.
var keyUsages = []struct {
	name string
	bit  x509.KeyUsage
}{
	{"digitalSignature", x509.KeyUsageDigitalSignature},
	{"nonRepudiation", x509.KeyUsageContentCommitment},
	{"keyEncipherment", x509.KeyUsageKeyEncipherment},
	{"dataEncipherment", x509.KeyUsageDataEncipherment},
	{"keyAgreement", x509.KeyUsageKeyAgreement},
	{"keyCertSign", x509.KeyUsageCertSign},
	{"cRLSign", x509.KeyUsageCRLSign},
	{"encipherOnly", x509.KeyUsageEncipherOnly},
	{"decipherOnly", x509.KeyUsageDecipherOnly},
}

// extKeyUsages maps the EKU OIDs crypto/x509 knows to its constants.
var extKeyUsages = []struct {
	oid string
	eku x509.ExtKeyUsage
}{
	{"2.5.29.37.0", x509.ExtKeyUsageAny},
	{"1.3.6.1.5.5.7.3.1", x509.ExtKeyUsageServerAuth},
	{"1.3.6.1.5.5.7.3.2", x509.ExtKeyUsageClientAuth},
	{"1.3.6.1.5.5.7.3.3", x509.ExtKeyUsageCodeSigning},
	{"1.3.6.1.5.5.7.3.4", x509.ExtKeyUsageEmailProtection},
	{"1.3.6.1.5.5.7.3.5", x509.ExtKeyUsageIPSECEndSystem},
	{"1.3.6.1.5.5.7.3.6", x509.ExtKeyUsageIPSECTunnel},
	{"1.3.6.1.5.5.7.3.7", x509.ExtKeyUsageIPSECUser},
	{"1.3.6.1.5.5.7.3.8", x509.ExtKeyUsageTimeStamping},
	{"1.3.6.1.5.5.7.3.9", x509.ExtKeyUsageOCSPSigning},
	{"1.3.6.1.4.1.311.10.3.3", x509.ExtKeyUsageMicrosoftServerGatedCrypto},
	{"2.16.840.1.113730.4.1", x509.ExtKeyUsageNetscapeServerGatedCrypto},
	{"1.3.6.1.4.1.311.2.1.22", x509.ExtKeyUsageMicrosoftCommercialCodeSigning},
	{"1.3.6.1.4.1.311.61.1.1", x509.ExtKeyUsageMicrosoftKernelCodeSigning},
}

const (
	ekuServerAuth = "1.3.6.1.5.5.7.3.1"
	ekuClientAuth = "1.3.6.1.5.5.7.3.2"
)

var curveBits = map[string]int{CurveP256: 256, CurveP384: 384, CurveP521: 521}

// Normalize fills the defaults Key Vault fills for a minimal create (a policy that names only
// a subject and an issuer) and checks the policy for contradictions. Defaults: kty RSA (EC
// when only crv is given), key_size 2048 for RSA, crv P-256 for EC, exportable true,
// contentType application/x-pkcs12, ekus serverAuth and clientAuth, key_usage
// digitalSignature and keyEncipherment (digitalSignature alone for EC keys, which RFC 5480
// forbids keyEncipherment; keyCertSign and cRLSign added for a CA), validity_months 12,
// lifetime action AutoRenew at 80 %, issuer Self, enabled true.
//
// Names are matched without regard to case and written in their canonical case (kty "rsa"
// becomes "RSA", key usage "digitalsignature" becomes "digitalSignature"); duplicate EKUs and
// key usages are dropped. An EC key_size is kept as given (0 or the curve's size).
//
// On error p is unchanged; the error wraps [ErrInvalid] and says what to fix.
func (p *Policy) Normalize() error {
	q := *p
	if err := q.normalizeKey(); err != nil {
		return err
	}
	switch {
	case q.ContentType == "":
		q.ContentType = ContentTypePKCS12
	default:
		ct, ok := canonicalContentType(q.ContentType)
		if !ok {
			return invalid("secret_props.contentType %s is not valid; use %s or %s", quote(q.ContentType), ContentTypePKCS12, ContentTypePEM)
		}
		q.ContentType = ct
	}
	if err := q.normalizeX509(); err != nil {
		return err
	}
	if err := q.normalizeActions(); err != nil {
		return err
	}
	switch {
	case q.IssuerName == "" || strings.EqualFold(q.IssuerName, IssuerSelf):
		q.IssuerName = IssuerSelf
	case strings.EqualFold(q.IssuerName, IssuerUnknown):
		q.IssuerName = IssuerUnknown
	}
	if q.Exportable == nil {
		q.Exportable = ptr(true)
	}
	if q.Enabled == nil {
		q.Enabled = ptr(true)
	}
	*p = q
	return nil
}

func ptr[T any](v T) *T { return &v }

func canonicalContentType(ct string) (string, bool) {
	for _, c := range []string{ContentTypePKCS12, ContentTypePEM} {
		if strings.EqualFold(strings.TrimSpace(ct), c) {
			return c, true
		}
	}
	return "", false
}

func (p *Policy) normalizeKey() error {
	kty := p.KeyType
	switch {
	case kty == "" && p.Curve != "":
		kty = KtyEC
	case kty == "":
		kty = KtyRSA
	default:
		kty = ""
		for _, k := range []string{KtyRSA, KtyRSAHSM, KtyEC, KtyECHSM} {
			if strings.EqualFold(p.KeyType, k) {
				kty = k
			}
		}
		if kty == "" {
			return invalid("key_props.kty %s cannot back a certificate; use RSA, RSA-HSM, EC or EC-HSM", quote(p.KeyType))
		}
	}
	p.KeyType = kty
	if kty == KtyRSA || kty == KtyRSAHSM {
		if p.Curve != "" {
			return invalid("key_props.crv %s applies to EC keys only; remove crv or use kty EC", quote(p.Curve))
		}
		if p.KeySize == 0 {
			p.KeySize = 2048
		}
		if p.KeySize != 2048 && p.KeySize != 3072 && p.KeySize != 4096 {
			return invalid("key_props.key_size %d is not valid for an RSA key; use 2048, 3072 or 4096", p.KeySize)
		}
		return nil
	}
	crv := ""
	for c := range curveBits {
		if strings.EqualFold(p.Curve, c) {
			crv = c
		}
	}
	switch {
	case p.Curve == "" && p.KeySize == 0:
		crv = CurveP256
	case p.Curve == "":
		for c, bits := range curveBits {
			if bits == p.KeySize {
				crv = c
			}
		}
	case strings.EqualFold(p.Curve, "P-256K"):
		return invalid("key_props.crv P-256K is not supported by this server; use P-256, P-384 or P-521")
	case crv == "":
		return invalid("key_props.crv %s is not valid; use P-256, P-384 or P-521", quote(p.Curve))
	}
	if crv == "" || (p.KeySize != 0 && p.KeySize != curveBits[crv]) {
		if p.KeySize == 2048 || p.KeySize == 3072 || p.KeySize == 4096 {
			return invalid("key_props.key_size %d is an RSA key size but kty is %s; for an EC key give crv (P-256, P-384 or P-521) and omit key_size, or use kty RSA", p.KeySize, kty)
		}
		if crv == "" {
			return invalid("key_props.key_size %d is not valid for an EC key; use 256, 384 or 521, or give crv and omit key_size", p.KeySize)
		}
		return invalid("key_props.key_size %d does not match curve %s (%d bits); omit key_size for EC keys", p.KeySize, crv, curveBits[crv])
	}
	p.Curve = crv
	return nil
}

func (p *Policy) normalizeX509() error {
	if _, err := parseSubject(p.Subject); err != nil {
		return err
	}
	if strings.TrimSpace(p.Subject) == "" && len(p.DNSNames)+len(p.Emails)+len(p.UPNs) == 0 {
		return invalid(`x509_props needs a subject (such as "CN=example.com") or at least one subject alternative name`)
	}
	for _, l := range []struct {
		what  string
		names []string
		check func(string) error
	}{
		{"dns_names", p.DNSNames, checkDNSName},
		{"emails", p.Emails, checkEmail},
		{"upns", p.UPNs, checkUPN},
	} {
		if len(l.names) > maxSANs {
			return invalid("x509_props.sans.%s has %d names; at most %d are allowed", l.what, len(l.names), maxSANs)
		}
		for _, n := range l.names {
			if err := l.check(n); err != nil {
				return invalid("x509_props.sans.%s: %s", l.what, err)
			}
		}
	}

	if p.EKUs == nil {
		p.EKUs = []string{ekuServerAuth, ekuClientAuth}
	} else {
		ekus := make([]string, 0, len(p.EKUs))
		for _, e := range p.EKUs {
			if _, ok := parseOID(e); !ok {
				return invalid("x509_props.ekus: %s is not an OID; give EKUs as dotted decimal OIDs, such as 1.3.6.1.5.5.7.3.1 (serverAuth)", quote(e))
			}
			if !slices.Contains(ekus, e) {
				ekus = append(ekus, e)
			}
		}
		p.EKUs = ekus
	}

	if p.KeyUsage == nil {
		p.KeyUsage = []string{"digitalSignature", "keyEncipherment"}
		if p.KeyType == KtyEC || p.KeyType == KtyECHSM {
			p.KeyUsage = []string{"digitalSignature"}
		}
		if p.CA {
			p.KeyUsage = append(p.KeyUsage, "keyCertSign", "cRLSign")
		}
	} else {
		usages := make([]string, 0, len(p.KeyUsage))
		for _, u := range p.KeyUsage {
			name := ""
			for _, ku := range keyUsages {
				if strings.EqualFold(u, ku.name) {
					name = ku.name
				}
			}
			if name == "" {
				return invalid("x509_props.key_usage %s is not valid; use %s", quote(u), keyUsageNames())
			}
			if !slices.Contains(usages, name) {
				usages = append(usages, name)
			}
		}
		p.KeyUsage = usages
	}

	if p.ValidityMonths == 0 {
		p.ValidityMonths = DefaultValidityMonths
	}
	if p.ValidityMonths < 1 || p.ValidityMonths > MaxValidityMonths {
		return invalid("x509_props.validity_months %d is not valid; use 1 to %d", p.ValidityMonths, MaxValidityMonths)
	}
	return nil
}

func keyUsageNames() string {
	names := make([]string, len(keyUsages))
	for i, ku := range keyUsages {
		names[i] = ku.name
	}
	return strings.Join(names, ", ")
}

func (p *Policy) normalizeActions() error {
	if p.LifetimeActions == nil {
		p.LifetimeActions = []LifetimeAction{{LifetimePercentage: 80, Action: ActionAutoRenew}}
		return nil
	}
	actions := make([]LifetimeAction, len(p.LifetimeActions))
	maxDays := p.ValidityMonths * daysPerMonth
	for i, a := range p.LifetimeActions {
		switch {
		case a.LifetimePercentage != 0 && a.DaysBeforeExpiry != 0:
			return invalid("lifetime_actions[%d] has both lifetime_percentage and days_before_expiry; give exactly one trigger", i)
		case a.LifetimePercentage == 0 && a.DaysBeforeExpiry == 0:
			return invalid("lifetime_actions[%d] has no trigger; give lifetime_percentage (1 to 99) or days_before_expiry", i)
		case a.LifetimePercentage != 0 && (a.LifetimePercentage < 1 || a.LifetimePercentage > 99):
			return invalid("lifetime_actions[%d].trigger.lifetime_percentage %d is not valid; use 1 to 99", i, a.LifetimePercentage)
		case a.DaysBeforeExpiry != 0 && (a.DaysBeforeExpiry < 1 || a.DaysBeforeExpiry > maxDays):
			return invalid("lifetime_actions[%d].trigger.days_before_expiry %d is not valid for validity_months %d; use 1 to %d (validity_months × %d)",
				i, a.DaysBeforeExpiry, p.ValidityMonths, maxDays, daysPerMonth)
		}
		switch {
		case strings.EqualFold(a.Action, ActionAutoRenew):
			a.Action = ActionAutoRenew
		case strings.EqualFold(a.Action, ActionEmailContacts):
			a.Action = ActionEmailContacts
		case a.Action == "":
			return invalid("lifetime_actions[%d] has no action_type; use %s or %s", i, ActionAutoRenew, ActionEmailContacts)
		default:
			return invalid("lifetime_actions[%d].action.action_type %s is not valid; use %s or %s", i, quote(a.Action), ActionAutoRenew, ActionEmailContacts)
		}
		for _, prev := range actions[:i] {
			if prev.Action == a.Action {
				return invalid("lifetime_actions has more than one %s action; give at most one of each action_type", a.Action)
			}
		}
		actions[i] = a
	}
	p.LifetimeActions = actions
	return nil
}

// KeyParams returns the arguments of keyops.Generate for a normalized policy's key: the key
// type, the size (RSA modulus bits; for EC 0 or the curve's size) and the curve ("" for RSA).
// The public exponent is keyops' default.
func KeyParams(p Policy) (kty string, size int, crv string) {
	return p.KeyType, p.KeySize, p.Curve
}

// parseOID parses a dotted-decimal object identifier: at least two arcs, each a decimal
// number without leading zeros, the first 0, 1 or 2, the second below 40 unless the first is 2.
func parseOID(s string) (asn1.ObjectIdentifier, bool) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 64 {
		return nil, false
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, part := range parts {
		if part == "" || len(part) > 9 || (len(part) > 1 && part[0] == '0') {
			return nil, false
		}
		for _, c := range part {
			if c < '0' || c > '9' {
				return nil, false
			}
		}
		n, err := strconv.Atoi(part)
		if err != nil {
			return nil, false
		}
		oid[i] = n
	}
	if oid[0] > 2 || (oid[0] < 2 && oid[1] >= 40) {
		return nil, false
	}
	return oid, true
}

// checkDNSName accepts a host name of letters, digits, '-' and '_' in dot-separated labels of
// 1 to 63 characters (253 in all), optionally starting with a "*." wildcard label.
func checkDNSName(name string) error {
	if name == "" {
		return fmt.Errorf("a DNS name is empty")
	}
	if len(name) > 253 {
		return fmt.Errorf("DNS name %s is longer than 253 characters", quote(name))
	}
	for i, label := range strings.Split(name, ".") {
		if label == "*" && i == 0 {
			continue
		}
		if label == "" || len(label) > 63 {
			return fmt.Errorf("DNS name %s has an empty label or one longer than 63 characters", quote(name))
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("DNS name %s may hold only letters, digits, '-', '_' and a leading \"*.\" (use punycode for international names)", quote(name))
			}
		}
	}
	return nil
}

// checkEmail accepts local@domain in printable ASCII (an IA5String), without spaces.
func checkEmail(addr string) error {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || len(addr) > 254 {
		return fmt.Errorf("%s is not an email address (local@domain)", quote(addr))
	}
	for _, c := range addr {
		if c <= ' ' || c > '~' {
			return fmt.Errorf("email address %s may hold only printable ASCII characters without spaces", quote(addr))
		}
	}
	return nil
}

// checkUPN accepts any non-empty UTF-8 text without control characters, up to 1024 bytes.
func checkUPN(upn string) error {
	if upn == "" || len(upn) > 1024 || !utf8.ValidString(upn) {
		return fmt.Errorf("%s is not a user principal name (user@domain, up to 1024 bytes of UTF-8)", quote(upn))
	}
	for _, c := range upn {
		if unicode.IsControl(c) {
			return fmt.Errorf("user principal name %s has a control character", quote(upn))
		}
	}
	return nil
}
