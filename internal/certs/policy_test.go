package certs_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer/coffer/internal/certs"
)

const (
	serverAuth = "1.3.6.1.5.5.7.3.1"
	clientAuth = "1.3.6.1.5.5.7.3.2"
)

// TestNormalizeDefaults pins the defaults Key Vault fills for a minimal create: a policy that
// names only a subject and an issuer.
func TestNormalizeDefaults(t *testing.T) {
	p := certs.Policy{Subject: "cn=MyCert", IssuerName: "Self"}
	if err := p.Normalize(); err != nil {
		t.Fatal(err)
	}
	want := certs.Policy{
		KeyType: "RSA", KeySize: 2048, Exportable: ptr(true),
		ContentType:     "application/x-pkcs12",
		Subject:         "cn=MyCert",
		EKUs:            []string{serverAuth, clientAuth},
		KeyUsage:        []string{"digitalSignature", "keyEncipherment"},
		ValidityMonths:  12,
		LifetimeActions: []certs.LifetimeAction{{LifetimePercentage: 80, Action: "AutoRenew"}},
		IssuerName:      "Self",
		Enabled:         ptr(true),
	}
	if d := cmp.Diff(want, p); d != "" {
		t.Errorf("normalized policy (-want +got):\n%s", d)
	}
	if kty, size, crv := certs.KeyParams(p); kty != "RSA" || size != 2048 || crv != "" {
		t.Errorf("KeyParams = %q, %d, %q; want RSA, 2048, \"\"", kty, size, crv)
	}
	// Normalize is idempotent.
	wantNormalized(t, p)
}

func TestNormalize(t *testing.T) {
	base := func() certs.Policy { return certs.Policy{Subject: "CN=web"} }
	tests := []struct {
		name  string
		edit  func(p *certs.Policy)
		check func(t *testing.T, p certs.Policy) // for ok cases
		want  []string                           // error fragments for fail cases
	}{
		{name: "ok/ec-default-curve", edit: func(p *certs.Policy) { p.KeyType = "EC" }, check: func(t *testing.T, p certs.Policy) {
			if p.Curve != "P-256" || p.KeySize != 0 {
				t.Errorf("curve %q size %d; want P-256, 0", p.Curve, p.KeySize)
			}
			if d := cmp.Diff([]string{"digitalSignature"}, p.KeyUsage); d != "" {
				t.Errorf("EC key usage (-want +got):\n%s", d)
			}
		}},
		{name: "ok/ec-size-gives-curve", edit: func(p *certs.Policy) { p.KeyType, p.KeySize = "EC", 384 }, check: func(t *testing.T, p certs.Policy) {
			if p.Curve != "P-384" || p.KeySize != 384 {
				t.Errorf("curve %q size %d; want P-384, 384", p.Curve, p.KeySize)
			}
		}},
		{name: "ok/curve-gives-ec", edit: func(p *certs.Policy) { p.Curve = "p-521" }, check: func(t *testing.T, p certs.Policy) {
			if p.KeyType != "EC" || p.Curve != "P-521" {
				t.Errorf("kty %q curve %q; want EC, P-521", p.KeyType, p.Curve)
			}
		}},
		{name: "ok/ec-hsm-size-matches-curve", edit: func(p *certs.Policy) { p.KeyType, p.KeySize, p.Curve = "EC-HSM", 256, "P-256" }, check: func(t *testing.T, p certs.Policy) {
			if kty, size, crv := certs.KeyParams(p); kty != "EC-HSM" || size != 256 || crv != "P-256" {
				t.Errorf("KeyParams = %q, %d, %q", kty, size, crv)
			}
		}},
		{name: "ok/rsa-4096", edit: func(p *certs.Policy) { p.KeySize = 4096 }, check: func(t *testing.T, p certs.Policy) {
			if p.KeyType != "RSA" || p.KeySize != 4096 {
				t.Errorf("kty %q size %d", p.KeyType, p.KeySize)
			}
		}},
		{name: "ok/names-in-any-case", edit: func(p *certs.Policy) {
			p.KeyType, p.ContentType, p.IssuerName = "rsa-hsm", "Application/X-PEM-File", "unknown"
			p.KeyUsage = []string{"DIGITALSIGNATURE", "crlsign"}
			p.LifetimeActions = []certs.LifetimeAction{{DaysBeforeExpiry: 30, Action: "emailcontacts"}}
		}, check: func(t *testing.T, p certs.Policy) {
			got := []string{p.KeyType, p.ContentType, p.IssuerName, p.LifetimeActions[0].Action}
			want := []string{"RSA-HSM", "application/x-pem-file", "Unknown", "EmailContacts"}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("canonical names (-want +got):\n%s", d)
			}
			if d := cmp.Diff([]string{"digitalSignature", "cRLSign"}, p.KeyUsage); d != "" {
				t.Errorf("key usage (-want +got):\n%s", d)
			}
		}},
		{name: "ok/empty-lists-mean-none", edit: func(p *certs.Policy) {
			p.EKUs, p.KeyUsage, p.LifetimeActions = []string{}, []string{}, []certs.LifetimeAction{}
		}, check: func(t *testing.T, p certs.Policy) {
			if p.EKUs == nil || len(p.EKUs) != 0 || p.KeyUsage == nil || len(p.KeyUsage) != 0 || p.LifetimeActions == nil || len(p.LifetimeActions) != 0 {
				t.Errorf("empty lists not kept empty: %q %q %v", p.EKUs, p.KeyUsage, p.LifetimeActions)
			}
		}},
		{name: "ok/ca-default-usage", edit: func(p *certs.Policy) { p.CA = true }, check: func(t *testing.T, p certs.Policy) {
			if d := cmp.Diff([]string{"digitalSignature", "keyEncipherment", "keyCertSign", "cRLSign"}, p.KeyUsage); d != "" {
				t.Errorf("CA key usage (-want +got):\n%s", d)
			}
		}},
		{name: "ok/sans-without-subject", edit: func(p *certs.Policy) { p.Subject, p.DNSNames = "", []string{"web.example"} }},
		{name: "ok/duplicates-dropped", edit: func(p *certs.Policy) {
			p.EKUs = []string{serverAuth, "1.2.3.4", serverAuth}
			p.KeyUsage = []string{"keyAgreement", "keyagreement"}
		}, check: func(t *testing.T, p certs.Policy) {
			if d := cmp.Diff([]string{serverAuth, "1.2.3.4"}, p.EKUs); d != "" {
				t.Errorf("EKUs (-want +got):\n%s", d)
			}
			if d := cmp.Diff([]string{"keyAgreement"}, p.KeyUsage); d != "" {
				t.Errorf("key usage (-want +got):\n%s", d)
			}
		}},
		{name: "ok/one-action-of-each-kind", edit: func(p *certs.Policy) {
			p.LifetimeActions = []certs.LifetimeAction{{LifetimePercentage: 90, Action: "AutoRenew"}, {DaysBeforeExpiry: 324, Action: "EmailContacts"}}
		}},
		{name: "ok/named-issuer-and-exportable-false-kept", edit: func(p *certs.Policy) {
			p.IssuerName, p.CertificateType, p.Exportable, p.Enabled = "DigiCert", "OV-SSL", ptr(false), ptr(false)
		}, check: func(t *testing.T, p certs.Policy) {
			if p.IssuerName != "DigiCert" || p.CertificateType != "OV-SSL" || *p.Exportable || *p.Enabled {
				t.Errorf("issuer %q cty %q exportable %v enabled %v", p.IssuerName, p.CertificateType, *p.Exportable, *p.Enabled)
			}
		}},
		{name: "ok/validity-1200", edit: func(p *certs.Policy) { p.ValidityMonths = 1200 }},

		{name: "fail/ec-with-rsa-size", edit: func(p *certs.Policy) { p.KeyType, p.KeySize = "EC", 2048 }, want: []string{"key_size 2048", "RSA key size", "crv"}},
		{name: "fail/ec-curve-with-rsa-size", edit: func(p *certs.Policy) { p.KeyType, p.KeySize, p.Curve = "EC", 2048, "P-256" }, want: []string{"RSA key size"}},
		{name: "fail/ec-size-not-curve", edit: func(p *certs.Policy) { p.KeyType, p.KeySize, p.Curve = "EC", 384, "P-256" }, want: []string{"does not match curve P-256"}},
		{name: "fail/ec-odd-size", edit: func(p *certs.Policy) { p.KeyType, p.KeySize = "EC", 100 }, want: []string{"256, 384 or 521"}},
		{name: "fail/rsa-size-1024", edit: func(p *certs.Policy) { p.KeySize = 1024 }, want: []string{"1024", "2048, 3072 or 4096"}},
		{name: "fail/rsa-with-curve", edit: func(p *certs.Policy) { p.KeyType, p.Curve = "RSA", "P-256" }, want: []string{"applies to EC keys only"}},
		{name: "fail/unknown-curve", edit: func(p *certs.Policy) { p.KeyType, p.Curve = "EC", "P-192" }, want: []string{`"P-192"`, "P-256, P-384 or P-521"}},
		{name: "fail/p256k", edit: func(p *certs.Policy) { p.KeyType, p.Curve = "EC", "P-256K" }, want: []string{"P-256K is not supported"}},
		{name: "fail/unknown-kty", edit: func(p *certs.Policy) { p.KeyType = "oct" }, want: []string{`"oct"`, "RSA, RSA-HSM, EC or EC-HSM"}},
		{name: "fail/unknown-content-type", edit: func(p *certs.Policy) { p.ContentType = "text/plain" }, want: []string{`"text/plain"`, "application/x-pkcs12 or application/x-pem-file"}},
		{name: "fail/subject-no-equals", edit: func(p *certs.Policy) { p.Subject = "MyCert" }, want: []string{"not a valid X.500 name", "has no '='"}},
		{name: "fail/subject-unknown-attribute", edit: func(p *certs.Policy) { p.Subject = "CN=a, XX=b" }, want: []string{`"XX"`, "is not known"}},
		{name: "fail/subject-unclosed-quote", edit: func(p *certs.Policy) { p.Subject = `CN="web` }, want: []string{"no closing quote"}},
		{name: "fail/subject-text-after-quote", edit: func(p *certs.Policy) { p.Subject = `CN="web" x` }, want: []string{"text follows the quoted value"}},
		{name: "fail/subject-trailing-comma", edit: func(p *certs.Policy) { p.Subject = "CN=web," }, want: []string{"trailing separator"}},
		{name: "fail/subject-empty-value", edit: func(p *certs.Policy) { p.Subject = "CN=, O=x" }, want: []string{"CN has an empty value"}},
		{name: "fail/subject-country-three-letters", edit: func(p *certs.Policy) { p.Subject = "CN=web, C=USA" }, want: []string{"two-letter country code"}},
		{name: "fail/subject-email-not-ascii", edit: func(p *certs.Policy) { p.Subject = "CN=web, E=jö@example.com" }, want: []string{"only ASCII"}},
		{name: "fail/no-subject-no-sans", edit: func(p *certs.Policy) { p.Subject = " " }, want: []string{"needs a subject"}},
		{name: "fail/validity-negative", edit: func(p *certs.Policy) { p.ValidityMonths = -1 }, want: []string{"validity_months -1", "1 to 1200"}},
		{name: "fail/validity-1201", edit: func(p *certs.Policy) { p.ValidityMonths = 1201 }, want: []string{"validity_months 1201"}},
		{name: "fail/percentage-100", edit: func(p *certs.Policy) {
			p.LifetimeActions = []certs.LifetimeAction{{LifetimePercentage: 100, Action: "AutoRenew"}}
		}, want: []string{"lifetime_percentage 100", "1 to 99"}},
		{name: "fail/percentage-negative", edit: func(p *certs.Policy) {
			p.LifetimeActions = []certs.LifetimeAction{{LifetimePercentage: -5, Action: "AutoRenew"}}
		}, want: []string{"lifetime_percentage -5"}},
		{name: "fail/both-triggers", edit: func(p *certs.Policy) {
			p.LifetimeActions = []certs.LifetimeAction{{LifetimePercentage: 80, DaysBeforeExpiry: 30, Action: "AutoRenew"}}
		}, want: []string{"both lifetime_percentage and days_before_expiry"}},
		{name: "fail/no-trigger", edit: func(p *certs.Policy) {
			p.LifetimeActions = []certs.LifetimeAction{{Action: "AutoRenew"}}
		}, want: []string{"lifetime_actions[0] has no trigger"}},
		{name: "fail/days-beyond-validity", edit: func(p *certs.Policy) {
			p.LifetimeActions = []certs.LifetimeAction{{DaysBeforeExpiry: 325, Action: "AutoRenew"}}
		}, want: []string{"days_before_expiry 325", "1 to 324"}},
		{name: "fail/unknown-action", edit: func(p *certs.Policy) {
			p.LifetimeActions = []certs.LifetimeAction{{LifetimePercentage: 80, Action: "Renew"}}
		}, want: []string{`"Renew"`, "AutoRenew or EmailContacts"}},
		{name: "fail/missing-action", edit: func(p *certs.Policy) {
			p.LifetimeActions = []certs.LifetimeAction{{LifetimePercentage: 80}}
		}, want: []string{"has no action_type"}},
		{name: "fail/two-autorenew", edit: func(p *certs.Policy) {
			p.LifetimeActions = []certs.LifetimeAction{{LifetimePercentage: 80, Action: "AutoRenew"}, {DaysBeforeExpiry: 10, Action: "autorenew"}}
		}, want: []string{"more than one AutoRenew action"}},
		{name: "fail/unknown-key-usage", edit: func(p *certs.Policy) { p.KeyUsage = []string{"signature"} }, want: []string{`"signature"`, "digitalSignature, nonRepudiation"}},
		{name: "fail/eku-name-not-oid", edit: func(p *certs.Policy) { p.EKUs = []string{"serverAuth"} }, want: []string{`"serverAuth" is not an OID`}},
		{name: "fail/eku-bad-first-arc", edit: func(p *certs.Policy) { p.EKUs = []string{"3.1.2"} }, want: []string{"not an OID"}},
		{name: "fail/eku-leading-zero", edit: func(p *certs.Policy) { p.EKUs = []string{"1.3.06.1"} }, want: []string{"not an OID"}},
		{name: "fail/dns-name-with-space", edit: func(p *certs.Policy) { p.DNSNames = []string{"web site.example"} }, want: []string{"sans.dns_names", "letters, digits"}},
		{name: "fail/dns-name-empty-label", edit: func(p *certs.Policy) { p.DNSNames = []string{"web..example"} }, want: []string{"empty label"}},
		{name: "fail/email-without-at", edit: func(p *certs.Policy) { p.Emails = []string{"admin"} }, want: []string{"sans.emails", "not an email address"}},
		{name: "fail/upn-empty", edit: func(p *certs.Policy) { p.UPNs = []string{""} }, want: []string{"sans.upns", "not a user principal name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base()
			tt.edit(&p)
			before := p
			err := p.Normalize()
			if tt.want != nil {
				wantInvalid(t, err, tt.want...)
				if d := cmp.Diff(before, p); d != "" {
					t.Errorf("failed Normalize changed the policy (-before +after):\n%s", d)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}
