package certs_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer/coffer/internal/certs"
)

var (
	now         = time.Date(2026, 3, 15, 12, 30, 45, 999, time.UTC)
	oidEmail    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	oidSAN      = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidUPN      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}
	oidTemplate = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 21, 8, 1}
)

// fullPolicy asks for every x509 property.
func fullPolicy(kty string) certs.Policy {
	p := certs.Policy{
		KeyType:        kty,
		Subject:        `CN=web.example, O="Contoso, Ltd", OU=ops, L=Redmond, ST=WA, C=US, E=admin@example.com`,
		DNSNames:       []string{"web.example", "*.web.example"},
		Emails:         []string{"admin@example.com"},
		UPNs:           []string{"svc@example.com", "jörg@example.com"},
		EKUs:           []string{serverAuth, clientAuth, oidTemplate.String()},
		KeyUsage:       []string{"digitalSignature", "nonRepudiation", "keyAgreement"},
		ValidityMonths: 24,
	}
	return p
}

// wantSANs checks that a certificate's or request's SANs (DNS names, emails, and the UPNs
// in exts) are the policy's, and says whether the SAN extension is critical.
func wantSANs(t *testing.T, p certs.Policy, dns, emails []string, exts []pkix.Extension) (critical bool) {
	t.Helper()
	if d := cmp.Diff(p.DNSNames, dns); d != "" {
		t.Errorf("DNS SANs (-want +got):\n%s", d)
	}
	if d := cmp.Diff(p.Emails, emails); d != "" {
		t.Errorf("email SANs (-want +got):\n%s", d)
	}
	upns, critical := sanUPNs(t, exts)
	if d := cmp.Diff(p.UPNs, upns); d != "" {
		t.Errorf("UPN SANs (-want +got):\n%s", d)
	}
	return critical
}

// sanUPNs reads the UPN otherNames of a SAN extension, independently of the package.
func sanUPNs(t *testing.T, exts []pkix.Extension) (upns []string, critical bool) {
	t.Helper()
	for _, ext := range exts {
		if !ext.Id.Equal(oidSAN) {
			continue
		}
		var names []asn1.RawValue
		if _, err := asn1.Unmarshal(ext.Value, &names); err != nil {
			t.Fatalf("SAN extension: %v", err)
		}
		for _, n := range names {
			if n.Class != asn1.ClassContextSpecific || n.Tag != 0 {
				continue
			}
			// OtherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY }, implicitly tagged.
			var typeID asn1.ObjectIdentifier
			rest, err := asn1.Unmarshal(n.Bytes, &typeID)
			if err != nil || !typeID.Equal(oidUPN) {
				t.Fatalf("otherName type %v (%v); want UPN", typeID, err)
			}
			var explicit asn1.RawValue
			if _, err := asn1.Unmarshal(rest, &explicit); err != nil || explicit.Tag != 0 || explicit.Class != asn1.ClassContextSpecific {
				t.Fatalf("otherName value: %v", err)
			}
			var s asn1.RawValue
			if _, err := asn1.Unmarshal(explicit.Bytes, &s); err != nil || s.Tag != asn1.TagUTF8String {
				t.Fatalf("UPN value is not a UTF8String: tag %d, %v", s.Tag, err)
			}
			upns = append(upns, string(s.Bytes))
		}
		return upns, ext.Critical
	}
	return nil, false
}

func TestSelfSigned(t *testing.T) {
	for _, tt := range []struct {
		name, kty, key string
		sigAlg         x509.SignatureAlgorithm
	}{
		{"ok/rsa-2048", "RSA", "rsa", x509.SHA256WithRSA},
		{"ok/ec-p256", "EC", "ec", x509.ECDSAWithSHA256},
		{"ok/ec-p384", "EC-HSM", "ec384", x509.ECDSAWithSHA384},
	} {
		t.Run(tt.name, func(t *testing.T) {
			key := signer(tt.key)
			p := fullPolicy(tt.kty)
			if tt.key == "ec384" {
				p.Curve = "P-384"
			}
			der, err := certs.SelfSigned(p, key, now)
			if err != nil {
				t.Fatalf("SelfSigned: %v", err)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatalf("ParseCertificate: %v", err)
			}
			s := c.Subject
			got := []any{s.CommonName, s.Organization, s.OrganizationalUnit, s.Locality, s.Province, s.Country}
			want := []any{"web.example", []string{"Contoso, Ltd"}, []string{"ops"}, []string{"Redmond"}, []string{"WA"}, []string{"US"}}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("subject (-want +got):\n%s", d)
			}
			if i := slices.IndexFunc(s.Names, func(a pkix.AttributeTypeAndValue) bool { return a.Type.Equal(oidEmail) }); i < 0 || s.Names[i].Value != "admin@example.com" {
				t.Errorf("subject has no E=admin@example.com: %v", s.Names)
			}
			if !bytes.Equal(c.RawIssuer, c.RawSubject) {
				t.Error("issuer is not the subject")
			}
			if critical := wantSANs(t, p, c.DNSNames, c.EmailAddresses, c.Extensions); critical {
				t.Error("SAN is critical though the subject is not empty")
			}
			if d := cmp.Diff([]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, c.ExtKeyUsage); d != "" {
				t.Errorf("EKUs (-want +got):\n%s", d)
			}
			if len(c.UnknownExtKeyUsage) != 1 || !c.UnknownExtKeyUsage[0].Equal(oidTemplate) {
				t.Errorf("unknown EKUs %v; want [%v]", c.UnknownExtKeyUsage, oidTemplate)
			}
			if want := x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyAgreement; c.KeyUsage != want {
				t.Errorf("key usage %b; want %b", c.KeyUsage, want)
			}
			if !c.BasicConstraintsValid || c.IsCA {
				t.Errorf("basic constraints valid %v, CA %v; want true, false", c.BasicConstraintsValid, c.IsCA)
			}
			if want := time.Date(2026, 3, 15, 12, 20, 45, 0, time.UTC); !c.NotBefore.Equal(want) {
				t.Errorf("NotBefore %v; want %v (now − 10 min)", c.NotBefore, want)
			}
			if want := time.Date(2028, 3, 15, 12, 30, 45, 0, time.UTC); !c.NotAfter.Equal(want) {
				t.Errorf("NotAfter %v; want %v (now + 24 months)", c.NotAfter, want)
			}
			if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
				t.Errorf("serial %v is not a positive 128-bit number", c.SerialNumber)
			}
			if len(c.SubjectKeyId) != 20 {
				t.Errorf("subject key id %x; want 20 bytes", c.SubjectKeyId)
			}
			if c.SignatureAlgorithm != tt.sigAlg {
				t.Errorf("signature algorithm %v; want %v", c.SignatureAlgorithm, tt.sigAlg)
			}
			if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(c.PublicKey) {
				t.Error("certificate key is not the given key")
			}
			// CheckSignatureFrom refuses a non-CA parent, so check the self-signature directly.
			if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
				t.Errorf("self-signature: %v", err)
			}
			roots := x509.NewCertPool()
			roots.AddCert(c)
			if _, err := c.Verify(x509.VerifyOptions{Roots: roots, DNSName: "api.web.example", CurrentTime: now}); err != nil {
				t.Errorf("Verify: %v", err)
			}
			if th := certs.Thumbprint(der); !bytes.Equal(th, sha1Of(der)) {
				t.Errorf("Thumbprint %x", th)
			}
		})
	}
}

func sha1Of(b []byte) []byte { s := sha1.Sum(b); return s[:] }

func TestSelfSignedDefaults(t *testing.T) {
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	der, err := certs.SelfSigned(certs.Policy{Subject: "cn=MyCert"}, rsaKey(), start)
	if err != nil {
		t.Fatal(err)
	}
	c := must(x509.ParseCertificate(der))
	if c.Subject.String() != "CN=MyCert" {
		t.Errorf("subject %q", c.Subject)
	}
	if d := c.NotAfter.Sub(start); d != 365*24*time.Hour {
		t.Errorf("validity %v; want 365 days for 12 months", d)
	}
	if c.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment {
		t.Errorf("key usage %b", c.KeyUsage)
	}
	if d := cmp.Diff([]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, c.ExtKeyUsage); d != "" {
		t.Errorf("EKUs (-want +got):\n%s", d)
	}
	if len(c.DNSNames)+len(c.EmailAddresses) != 0 || slices.ContainsFunc(c.Extensions, func(e pkix.Extension) bool { return e.Id.Equal(oidSAN) }) {
		t.Error("certificate has a SAN extension; the policy has none")
	}
}

func TestSelfSignedEmptySubject(t *testing.T) {
	for _, tt := range []struct {
		name string
		upns []string
	}{{"ok/dns-only", nil}, {"ok/with-upn", []string{"svc@example.com"}}} {
		t.Run(tt.name, func(t *testing.T) {
			p := certs.Policy{KeyType: "EC", DNSNames: []string{"web.example"}, UPNs: tt.upns}
			c := must(x509.ParseCertificate(must(certs.SelfSigned(p, ecKey(), now))))
			if len(c.Subject.Names) != 0 {
				t.Errorf("subject %v; want empty", c.Subject)
			}
			i := slices.IndexFunc(c.Extensions, func(e pkix.Extension) bool { return e.Id.Equal(oidSAN) })
			if i < 0 || !c.Extensions[i].Critical {
				t.Error("SAN extension missing or not critical with an empty subject (RFC 5280, section 4.2.1.6)")
			}
			if d := cmp.Diff([]string{"web.example"}, c.DNSNames); d != "" {
				t.Errorf("DNS SANs (-want +got):\n%s", d)
			}
		})
	}
}

func TestSelfSignedCA(t *testing.T) {
	c := must(x509.ParseCertificate(must(certs.SelfSigned(certs.Policy{KeyType: "EC", Subject: "CN=Test CA", CA: true}, ecKey(), now))))
	if !c.IsCA || !c.BasicConstraintsValid || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA %v, key usage %b; want a CA with keyCertSign", c.IsCA, c.KeyUsage)
	}
}

func TestSelfSignedRefusals(t *testing.T) {
	_, err := certs.SelfSigned(certs.Policy{KeyType: "RSA", Subject: "CN=x"}, ecKey(), now)
	wantInvalid(t, err, "the certificate's key is EC P-256", "RSA 2048")
	_, err = certs.SelfSigned(certs.Policy{KeyType: "RSA", KeySize: 3072, Subject: "CN=x"}, rsaKey(), now)
	wantInvalid(t, err, "RSA 2048", "RSA 3072")
	_, err = certs.SelfSigned(certs.Policy{}, rsaKey(), now)
	wantInvalid(t, err, "needs a subject")
	_, err = certs.CSR(certs.Policy{KeyType: "EC", Curve: "P-384", Subject: "CN=x"}, ecKey())
	wantInvalid(t, err, "EC P-256", "EC P-384")
}

func TestCSR(t *testing.T) {
	for _, kind := range []string{"rsa", "ec"} {
		t.Run("ok/"+kind, func(t *testing.T) {
			kty := map[string]string{"rsa": "RSA", "ec": "EC"}[kind]
			p := fullPolicy(kty)
			der, err := certs.CSR(p, signer(kind))
			if err != nil {
				t.Fatalf("CSR: %v", err)
			}
			req, err := x509.ParseCertificateRequest(der)
			if err != nil {
				t.Fatalf("ParseCertificateRequest: %v", err)
			}
			if err := req.CheckSignature(); err != nil {
				t.Errorf("CSR signature: %v", err)
			}
			if !signer(kind).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(req.PublicKey) {
				t.Error("CSR key is not the given key")
			}
			wantSANs(t, p, req.DNSNames, req.EmailAddresses, req.Extensions)
			// The request carries the extensions the self-signed certificate has, byte for byte.
			cert := must(x509.ParseCertificate(must(certs.SelfSigned(p, signer(kind), now))))
			if !bytes.Equal(req.RawSubject, cert.RawSubject) {
				t.Error("CSR subject differs from the certificate's")
			}
			byID := func(exts []pkix.Extension) map[string]pkix.Extension {
				m := map[string]pkix.Extension{}
				for _, e := range exts {
					m[e.Id.String()] = e
				}
				return m
			}
			reqExts, certExts := byID(req.Extensions), byID(cert.Extensions)
			for _, id := range []string{"2.5.29.17", "2.5.29.15", "2.5.29.37", "2.5.29.19"} {
				r, ok := reqExts[id]
				if !ok {
					t.Errorf("CSR has no extension %s", id)
					continue
				}
				if c := certExts[id]; !bytes.Equal(r.Value, c.Value) || r.Critical != c.Critical {
					t.Errorf("CSR extension %s differs from the certificate's", id)
				}
			}
			if len(reqExts) != 4 {
				t.Errorf("CSR has %d extensions; want 4", len(reqExts))
			}
		})
	}
}

// testCA is a CA made in the test, signing requests as an external issuer would.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Issuing CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	return &testCA{must(x509.ParseCertificate(must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)))), key}
}

// sign issues a certificate for the request's key and names, with its extensions.
func (ca *testCA) sign(t testing.TB, csr []byte) []byte {
	t.Helper()
	req := must(x509.ParseCertificateRequest(csr))
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: req.Subject,
		NotBefore: now, NotAfter: now.AddDate(1, 0, 0),
		ExtraExtensions: req.Extensions,
	}
	return must(x509.CreateCertificate(rand.Reader, tmpl, ca.cert, req.PublicKey, ca.key))
}

func TestCheckMerge(t *testing.T) {
	ca := newTestCA(t)
	csr := must(certs.CSR(fullPolicy("RSA"), rsaKey()))
	leaf := ca.sign(t, csr)
	other := ca.sign(t, must(certs.CSR(fullPolicy("RSA"), rsaKey2())))

	for _, tt := range []struct {
		name string
		x5c  [][]byte
		want []string // error fragments; nil for success
	}{
		{"ok/leaf-only", [][]byte{leaf}, nil},
		{"ok/leaf-and-ca", [][]byte{leaf, ca.cert.Raw}, nil},
		{"ok/ca-first-is-reordered", [][]byte{ca.cert.Raw, leaf}, nil},
		{"fail/other-key", [][]byte{other, ca.cert.Raw}, []string{"the certificate's public key does not match the pending request's key"}},
		{"fail/empty", nil, []string{"x5c is empty"}},
		{"fail/not-der", [][]byte{leaf, []byte("not a certificate")}, []string{"x5c[1] is not an X.509 certificate"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			chain, err := certs.CheckMerge(csr, tt.x5c)
			if tt.want != nil {
				wantInvalid(t, err, tt.want...)
				return
			}
			if err != nil {
				t.Fatalf("CheckMerge: %v", err)
			}
			if len(chain) != len(tt.x5c) || !bytes.Equal(chain[0].Raw, leaf) {
				t.Fatalf("chain of %d, leaf first %v", len(chain), bytes.Equal(chain[0].Raw, leaf))
			}
			if len(chain) == 2 {
				if err := chain[0].CheckSignatureFrom(chain[1]); err != nil {
					t.Errorf("leaf not signed by the CA: %v", err)
				}
			}
			upns, _ := sanUPNs(t, chain[0].Extensions)
			if d := cmp.Diff(fullPolicy("RSA").UPNs, upns); d != "" {
				t.Errorf("merged certificate UPNs (-want +got):\n%s", d)
			}
		})
	}
}
