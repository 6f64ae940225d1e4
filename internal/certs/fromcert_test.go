package certs_test

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer/coffer/internal/certs"
)

func TestPolicyFromCertificate(t *testing.T) {
	for _, tt := range []struct {
		name, kty, key, crv string
		size                int
	}{
		{"ok/rsa", "RSA", "rsa", "", 2048},
		{"ok/ec", "EC", "ec", "P-256", 256},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := fullPolicy(tt.kty)
			leaf := must(x509.ParseCertificate(must(certs.SelfSigned(src, signer(tt.key), now))))
			got := certs.PolicyFromCertificate(leaf, false, "Application/X-PEM-File")
			want := certs.Policy{
				KeyType: tt.kty, KeySize: tt.size, Curve: tt.crv, Exportable: ptr(false),
				ContentType:     "application/x-pem-file",
				Subject:         `CN=web.example, O="Contoso, Ltd", OU=ops, L=Redmond, S=WA, C=US, E=admin@example.com`,
				DNSNames:        src.DNSNames,
				Emails:          src.Emails,
				UPNs:            src.UPNs,
				EKUs:            src.EKUs,
				KeyUsage:        src.KeyUsage,
				ValidityMonths:  24,
				LifetimeActions: []certs.LifetimeAction{{LifetimePercentage: 80, Action: "EmailContacts"}},
				IssuerName:      "Unknown",
				Enabled:         ptr(true),
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("policy (-want +got):\n%s", d)
			}
			// The result is normalized: Normalize accepts it and changes nothing.
			wantNormalized(t, got)
			// Renewing from the imported policy gives the same names and usages.
			renewed := must(x509.ParseCertificate(must(certs.SelfSigned(got, signer(tt.key), now))))
			if d := cmp.Diff(got, certs.PolicyFromCertificate(renewed, false, "application/x-pem-file")); d != "" {
				t.Errorf("policy of the renewed certificate (-imported +renewed):\n%s", d)
			}
		})
	}
}

func TestPolicyFromCertificateBare(t *testing.T) {
	ca := newTestCA(t)
	for _, tt := range []struct {
		name       string
		validity   time.Duration
		wantMonths int
	}{
		{"ok/one-day", 24 * time.Hour, 1},
		{"ok/90-days", 90 * 24 * time.Hour, 3},
		{"ok/365-days", 365 * 24 * time.Hour, 12},
		{"ok/397-days", 397 * 24 * time.Hour, 13},
		{"ok/10-years", 3653 * 24 * time.Hour, 120},
		{"ok/200-years-capped", 200 * 366 * 24 * time.Hour, 1200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "bare"},
				NotBefore: now, NotAfter: now.Add(tt.validity),
			}
			leaf := must(x509.ParseCertificate(must(x509.CreateCertificate(rand.Reader, tmpl, ca.cert, rsaKey().Public(), ca.key))))
			p := certs.PolicyFromCertificate(leaf, true, "application/x-pkcs12")
			if p.ValidityMonths != tt.wantMonths {
				t.Errorf("validity_months %d; want %d", p.ValidityMonths, tt.wantMonths)
			}
			if p.EKUs == nil || len(p.EKUs) != 0 || p.KeyUsage == nil || len(p.KeyUsage) != 0 {
				t.Errorf("EKUs %q, key usage %q; want empty, not nil", p.EKUs, p.KeyUsage)
			}
			if p.Subject != "CN=bare" || p.CA || *p.Exportable != true {
				t.Errorf("subject %q, CA %v, exportable %v", p.Subject, p.CA, *p.Exportable)
			}
		})
	}
}
