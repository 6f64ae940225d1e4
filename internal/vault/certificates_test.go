package vault_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/certs"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/vault"
)

// signCSR issues a certificate for a pending request's CSR from a throwaway CA, valid
// from nbf for a year, and returns it with the CA's certificate (DER).
func signCSR(t *testing.T, csrDER []byte, nbf time.Time) (leaf, ca []byte) {
	t.Helper()
	csr, err := x509.ParseCertificateRequest(csrDER)
	must(t, err)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: nbf, NotAfter: nbf.AddDate(1, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	ca, err = x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	must(t, err)
	caCert, err := x509.ParseCertificate(ca)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: csr.Subject, NotBefore: nbf, NotAfter: nbf.AddDate(1, 0, 0)}
	leaf, err = x509.CreateCertificate(rand.Reader, tmpl, caCert, csr.PublicKey, caKey)
	must(t, err)
	return leaf, ca
}

func TestCreateSelfSignedCertificate(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	op, err := r.CreateCertificate(bg, "v", "web", selfPolicy, vault.CertParams{Tags: map[string]string{"a": "b"}})
	must(t, err)
	// Azure answers in progress; the operation then reads completed.
	if op.Status != "inProgress" || op.Key != nil || len(op.CSR) == 0 || op.Issuer != "Self" {
		t.Fatalf("create answered %+v", op)
	}
	done, err := r.GetCertificateOperation(bg, "v", "web")
	must(t, err)
	if done.Status != "completed" || done.Key != nil || done.RequestID != op.RequestID {
		t.Fatalf("operation %+v", done)
	}
	c, err := r.GetCertificate(bg, "v", "web", "")
	must(t, err)
	leaf, err := x509.ParseCertificate(c.CER)
	must(t, err)
	if leaf.Subject.CommonName != "test" || !c.NotBefore.Equal(leaf.NotBefore.UTC()) || !c.Expires.Equal(leaf.NotAfter.UTC()) ||
		c.Tags["a"] != "b" || !c.Enabled || c.Object.Versions != 1 {
		t.Fatalf("certificate %+v", c.CertificateVersion)
	}
	pol := c.Policy()
	if pol.IssuerName != "Self" || pol.ContentType != "application/x-pkcs12" || len(pol.LifetimeActions) != 1 || !pol.Created.Equal(t0) {
		t.Fatalf("policy %+v", pol)
	}
	// The secret holds the certificate, the key its private key.
	s, err := r.GetSecret(bg, "v", "web", c.ID)
	must(t, err)
	key, chain, _, err := certs.ParseImport(s.Value, "", "")
	must(t, err)
	k, err := r.GetKey(bg, "v", "web", c.ID)
	must(t, err)
	if !chain[0].Equal(leaf) || !key.Public().(*ecdsa.PublicKey).Equal(leaf.PublicKey) || !slices.Equal(k.PublicJWK().X, uncompressedX(t, leaf.PublicKey.(*ecdsa.PublicKey))) {
		t.Fatal("backing key and secret do not match the certificate")
	}
	// A second create is a new version with a new key (no reuse_key), the same with it.
	h.advance(time.Hour)
	_, err = r.CreateCertificate(bg, "v", "web", selfPolicy, vault.CertParams{})
	must(t, err)
	c2, err := r.GetCertificate(bg, "v", "web", "")
	must(t, err)
	k2, _ := r.GetKey(bg, "v", "web", "")
	if c2.ID == c.ID || c2.Object.Versions != 2 || slices.Equal(k2.PublicJWK().X, k.PublicJWK().X) || k2.Object.Versions != 2 {
		t.Fatalf("second version %+v / key %+v", c2.Object, k2.Object)
	}
	reuse := selfPolicy
	reuse.ReuseKey = true
	_, err = r.CreateCertificate(bg, "v", "web", reuse, vault.CertParams{})
	must(t, err)
	k3, _ := r.GetKey(bg, "v", "web", "")
	if !slices.Equal(k3.PublicJWK().X, k2.PublicJWK().X) || k3.ID == k2.ID {
		t.Fatalf("reuse_key made a new key")
	}
	if vs, _, err := r.Certificates().ListVersions(bg, "v", "web", "", 10); err != nil || len(vs) != 3 {
		t.Fatalf("versions %d %v", len(vs), err)
	}
	if l, _, err := r.Certificates().List(bg, "v", "", 10); err != nil || len(l) != 1 || l[0].ID != k3.ID {
		t.Fatalf("list %v", err)
	}
}

func TestCreateCertificateErrors(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	_, err := r.CreateKey(bg, "v", "plain", vault.KeyParams{Kty: "EC"})
	must(t, err)
	for _, tc := range []struct {
		name string
		p    certs.Policy
		want error
	}{
		{"bad_name", selfPolicy, vault.ErrBadParameter},
		{"plain", selfPolicy, vault.ErrAlreadyExists}, // a key that no certificate manages holds the name
		{"c", certs.Policy{KeyType: "DSA", Subject: "CN=x"}, vault.ErrBadParameter},
		{"c", certs.Policy{KeyType: "EC", Subject: "CN=x", ContentType: "text/plain"}, vault.ErrBadParameter},
	} {
		_, err := r.CreateCertificate(bg, "v", tc.name, tc.p, vault.CertParams{})
		wantErr(t, err, tc.want)
	}
	_, err = r.CreateCertificate(bg, "nope", "c", selfPolicy, vault.CertParams{})
	wantErr(t, err, vault.ErrVaultNotFound)
	_, err = r.GetCertificateOperation(bg, "v", "c")
	wantErr(t, err, vault.ErrNoOperation)
	_, err = r.GetCertificateOperation(bg, "v", "bad_name")
	wantErr(t, err, vault.ErrBadParameter)
	_, err = r.GetCertificate(bg, "v", "c", "")
	wantErr(t, err, vault.ErrNotFound)

	// An issuer Coffer does not have fails the operation, and keeps the policy.
	other := selfPolicy
	other.IssuerName = "DigiCert"
	op, err := r.CreateCertificate(bg, "v", "c", other, vault.CertParams{})
	must(t, err)
	if op.Status != "failed" || op.ErrorCode != "BadParameter" || !strings.Contains(op.ErrorMessage, "DigiCert") {
		t.Fatalf("named issuer %+v", op)
	}
	if p, err := r.GetCertificatePolicy(bg, "v", "c"); err != nil || p.IssuerName != "DigiCert" {
		t.Fatalf("policy of a failed issuance %+v %v", p, err)
	}
	_, err = r.GetCertificate(bg, "v", "c", "")
	wantErr(t, err, vault.ErrNotFound)
	_, err = r.Certificates().Delete(bg, "v", "c")
	wantErr(t, err, vault.ErrNotFound)
	_, err = r.Certificates().Backup(bg, "v", "c")
	wantErr(t, err, vault.ErrNotFound)
}

// TestMergeCertificate: an "Unknown" issuer waits for a certificate signed elsewhere;
// merging it completes the operation and makes the first version.
func TestMergeCertificate(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	unknown := selfPolicy
	unknown.IssuerName = "Unknown"
	op, err := r.CreateCertificate(bg, "v", "ext", unknown, vault.CertParams{Tags: map[string]string{"from": "create"}, Enabled: ptr(true)})
	must(t, err)
	if op.Status != "inProgress" || op.Key != nil {
		t.Fatalf("pending %+v", op)
	}
	if got, _ := r.GetCertificateOperation(bg, "v", "ext"); got.Status != "inProgress" || got.Key != nil {
		t.Fatalf("pending operation read %+v", got)
	}
	_, err = r.GetCertificate(bg, "v", "ext", "")
	wantErr(t, err, vault.ErrNotFound)
	// A head without a version has nothing to show; listing passes over it.
	if l, _, err := r.Certificates().List(bg, "v", "", 10); err != nil || len(l) != 0 {
		t.Fatalf("list while pending: %d %v", len(l), err)
	}

	// A certificate for another key is refused.
	strangerKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	strangerCSR, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, strangerKey)
	must(t, err)
	stranger, _ := signCSR(t, strangerCSR, t0)
	_, err = r.MergeCertificate(bg, "v", "ext", [][]byte{stranger}, vault.CertParams{})
	wantErr(t, err, vault.ErrBadParameter)
	_, err = r.MergeCertificate(bg, "v", "ext", [][]byte{[]byte("junk")}, vault.CertParams{})
	wantErr(t, err, vault.ErrBadParameter)

	leaf, ca := signCSR(t, op.CSR, t0)
	c, err := r.MergeCertificate(bg, "v", "ext", [][]byte{ca, leaf}, vault.CertParams{})
	must(t, err)
	if !slices.Equal(c.CER, leaf) || len(c.Chain) != 1 || !slices.Equal(c.Chain[0], ca) || c.Tags["from"] != "create" || c.Object.Versions != 1 || c.Object.Name != "ext" {
		t.Fatalf("merged %+v", c.CertificateVersion)
	}
	if got, _ := r.GetCertificateOperation(bg, "v", "ext"); got.Status != "completed" {
		t.Fatalf("operation after merge %+v", got)
	}
	if _, err := r.GetSecret(bg, "v", "ext", c.ID); err != nil {
		t.Fatalf("backing secret: %v", err)
	}
	_, err = r.MergeCertificate(bg, "v", "ext", [][]byte{leaf}, vault.CertParams{})
	wantErr(t, err, vault.ErrBadParameter) // nothing pending any more
	_, err = r.MergeCertificate(bg, "v", "none", [][]byte{leaf}, vault.CertParams{})
	wantErr(t, err, vault.ErrNoOperation)
}

func TestCertificateOperationCancelAndDelete(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	unknown := selfPolicy
	unknown.IssuerName = "Unknown"
	op, err := r.CreateCertificate(bg, "v", "c", unknown, vault.CertParams{})
	must(t, err)
	got, err := r.CancelCertificateOperation(bg, "v", "c")
	must(t, err)
	if got.Status != "cancelled" || !got.CancellationRequested || got.Key != nil {
		t.Fatalf("cancelled %+v", got)
	}
	leaf, _ := signCSR(t, op.CSR, t0)
	_, err = r.MergeCertificate(bg, "v", "c", [][]byte{leaf}, vault.CertParams{})
	wantErr(t, err, vault.ErrBadParameter)
	del, err := r.DeleteCertificateOperation(bg, "v", "c")
	must(t, err)
	if del.RequestID != op.RequestID || del.Key != nil {
		t.Fatalf("deleted %+v", del)
	}
	_, err = r.GetCertificateOperation(bg, "v", "c")
	wantErr(t, err, vault.ErrNoOperation)
	_, err = r.DeleteCertificateOperation(bg, "v", "c")
	wantErr(t, err, vault.ErrNoOperation)
	_, err = r.CancelCertificateOperation(bg, "v", "c")
	wantErr(t, err, vault.ErrNoOperation)
	_, err = r.CancelCertificateOperation(bg, "nope", "c")
	wantErr(t, err, vault.ErrVaultNotFound)
	_, err = r.DeleteCertificateOperation(bg, "nope", "c")
	wantErr(t, err, vault.ErrVaultNotFound)
}

func TestImportCertificate(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	// A PEM bundle made by a self-signed issuance elsewhere.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "imported"}, NotBefore: t0, NotAfter: t0.AddDate(0, 6, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	leaf, _ := x509.ParseCertificate(der)
	pemValue, err := certs.EncodeSecret(certs.ContentTypePEM, key, []*x509.Certificate{leaf})
	must(t, err)

	c, err := r.ImportCertificate(bg, "v", "imp", pemValue, "", nil, vault.CertParams{Enabled: ptr(false)})
	must(t, err)
	if !slices.Equal(c.CER, der) || c.Enabled || c.Policy().Subject != "CN=imported" || c.Policy().ContentType != certs.ContentTypePEM {
		t.Fatalf("imported %+v policy %+v", c.CertificateVersion, c.Policy())
	}
	if s, err := r.GetSecret(bg, "v", "imp", ""); !errors.Is(err, vault.ErrDisabled) {
		t.Fatalf("the backing secret of a disabled certificate reads: %+v %v", s.SecretVersion, err)
	}
	// With a policy: its sections win, the subject comes from the certificate.
	p := certs.Policy{ContentType: certs.ContentTypePEM, LifetimeActions: []certs.LifetimeAction{{DaysBeforeExpiry: 10, Action: "EmailContacts"}}}
	c2, err := r.ImportCertificate(bg, "v", "imp", pemValue, "", &p, vault.CertParams{})
	must(t, err)
	pol := c2.Policy()
	if pol.Subject != "CN=imported" || pol.IssuerName != "Unknown" || len(pol.LifetimeActions) != 1 || pol.LifetimeActions[0].Action != "EmailContacts" || c2.Object.Versions != 2 {
		t.Fatalf("imported with a policy %+v", pol)
	}
	for _, tc := range []struct {
		name, value string
		p           *certs.Policy
		want        error
	}{
		{"bad_name", pemValue, nil, vault.ErrBadParameter},
		{"x", "not a certificate", nil, vault.ErrBadParameter},
		{"x", pemValue, &certs.Policy{ContentType: "text/plain"}, vault.ErrBadParameter},
		{"x", pemValue, &certs.Policy{KeyType: "DSA"}, vault.ErrBadParameter},
	} {
		_, err := r.ImportCertificate(bg, "v", tc.name, tc.value, "", tc.p, vault.CertParams{})
		wantErr(t, err, tc.want)
	}
	_, err = r.SetSecret(bg, "v", "plain", vault.SecretParams{Value: "x"})
	must(t, err)
	_, err = r.ImportCertificate(bg, "v", "plain", pemValue, "", nil, vault.CertParams{})
	wantErr(t, err, vault.ErrAlreadyExists)
	_, err = r.ImportCertificate(bg, "nope", "x", pemValue, "", nil, vault.CertParams{})
	wantErr(t, err, vault.ErrVaultNotFound)
}

// TestImportPolicyKeyFromCertificate: the policy an import records describes the key
// imported: the key properties a policy leaves out come from the certificate's key, and
// ones that contradict it are refused.
func TestImportPolicyKeyFromCertificate(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	pemOf := func(key crypto.Signer) string {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "imported"}, NotBefore: t0, NotAfter: t0.AddDate(0, 6, 0)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		must(t, err)
		leaf, _ := x509.ParseCertificate(der)
		v, err := certs.EncodeSecret(certs.ContentTypePEM, key, []*x509.Certificate{leaf})
		must(t, err)
		return v
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must(t, err)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 3072)
	must(t, err)
	ec, rsa3072 := pemOf(ecKey), pemOf(rsaKey)
	pem := func(p certs.Policy) *certs.Policy { p.ContentType = certs.ContentTypePEM; return &p }
	for i, tc := range []struct {
		value  string
		policy *certs.Policy
		want   string // kty/crv or kty/size recorded
	}{
		{ec, pem(certs.Policy{}), "EC P-384 384"},
		{ec, pem(certs.Policy{KeyType: "ec"}), "EC P-384 384"},
		{ec, pem(certs.Policy{KeyType: "EC-HSM"}), "EC-HSM P-384 384"},
		{ec, pem(certs.Policy{Curve: "P-384"}), "EC P-384 0"},
		{ec, pem(certs.Policy{KeySize: 384}), "EC P-384 384"},
		{rsa3072, pem(certs.Policy{}), "RSA  3072"},
		{rsa3072, pem(certs.Policy{KeyType: "RSA"}), "RSA  3072"},
		{rsa3072, pem(certs.Policy{KeySize: 3072}), "RSA  3072"},
	} {
		c, err := r.ImportCertificate(bg, "v", fmt.Sprintf("c%d", i), tc.value, "", tc.policy, vault.CertParams{})
		must(t, err)
		p := c.Policy()
		if got := fmt.Sprintf("%s %s %d", p.KeyType, p.Curve, p.KeySize); got != tc.want {
			t.Errorf("%d: recorded %s, want %s", i, got, tc.want)
		}
	}
	for i, tc := range []struct {
		value  string
		policy *certs.Policy
	}{
		{ec, pem(certs.Policy{KeyType: "RSA"})},
		{ec, pem(certs.Policy{KeyType: "EC", Curve: "P-256"})},
		{ec, pem(certs.Policy{KeySize: 2048})},
		{rsa3072, pem(certs.Policy{KeyType: "EC"})},
		{rsa3072, pem(certs.Policy{Curve: "P-256"})},
		{rsa3072, pem(certs.Policy{KeySize: 2048})},
	} {
		_, err := r.ImportCertificate(bg, "v", fmt.Sprintf("x%d", i), tc.value, "", tc.policy, vault.CertParams{})
		wantErr(t, err, vault.ErrBadParameter)
	}
}

func TestUpdateCertificate(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	_, err := r.CreateCertificate(bg, "v", "c", selfPolicy, vault.CertParams{})
	must(t, err)
	first, err := r.GetCertificate(bg, "v", "c", "")
	must(t, err)
	h.advance(time.Hour)
	u, err := r.UpdateCertificate(bg, "v", "c", first.ID, vault.CertParams{Enabled: ptr(false), Tags: map[string]string{"x": "y"}}, nil)
	must(t, err)
	if u.Enabled || u.Tags["x"] != "y" || !u.Updated.Equal(h.s.Now()) || !u.Created.Equal(t0) {
		t.Fatalf("updated %+v", u.CertificateVersion)
	}
	// Its key and secret versions follow the enabled flag.
	if k, err := r.GetKey(bg, "v", "c", first.ID); err != nil || k.Enabled {
		t.Fatalf("key %+v %v", k.KeyVersion, err)
	}
	_, err = r.GetSecret(bg, "v", "c", first.ID)
	wantErr(t, err, vault.ErrDisabled)
	_, err = r.UpdateCertificate(bg, "v", "c", "", vault.CertParams{Enabled: ptr(true)}, nil)
	must(t, err)
	if s, err := r.GetSecret(bg, "v", "c", ""); err != nil || !s.Enabled {
		t.Fatalf("secret after enabling %v", err)
	}
	for _, tc := range []struct {
		name, version string
		cp            vault.CertParams
		want          error
	}{
		{"c", "0123456789abcdef0123456789abcdef", vault.CertParams{}, vault.ErrNotFound},
		{"missing", "", vault.CertParams{}, vault.ErrNotFound},
		{"bad_name", "", vault.CertParams{}, vault.ErrBadParameter},
		{"c", "", vault.CertParams{Tags: map[string]string{strings.Repeat("k", 513): "v"}}, vault.ErrBadParameter},
	} {
		_, err := r.UpdateCertificate(bg, "v", tc.name, tc.version, tc.cp, nil)
		wantErr(t, err, tc.want)
	}
}

// TestUpdateCertificateWithPolicy: an update with a policy changes the policy, the
// attributes and the tags together, or, when any part is refused, nothing.
func TestUpdateCertificateWithPolicy(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	_, err := r.CreateCertificate(bg, "v", "c", selfPolicy, vault.CertParams{Tags: map[string]string{"a": "b"}})
	must(t, err)
	six := func(p *certs.Policy) { p.ValidityMonths = 6 }
	for _, tc := range []struct {
		what    string
		version string
		cp      vault.CertParams
		policy  func(*certs.Policy)
		want    error
	}{
		{"unknown version", "0123456789abcdef0123456789abcdef", vault.CertParams{Enabled: ptr(false)}, six, vault.ErrNotFound},
		{"bad tags", "", vault.CertParams{Tags: map[string]string{strings.Repeat("k", 513): "v"}}, six, vault.ErrBadParameter},
		{"bad policy", "", vault.CertParams{Enabled: ptr(false), Tags: map[string]string{"x": "y"}}, func(p *certs.Policy) { p.KeyType = "DSA" }, vault.ErrBadParameter},
	} {
		_, err := r.UpdateCertificate(bg, "v", "c", tc.version, tc.cp, tc.policy)
		wantErr(t, err, tc.want)
		c, err := r.GetCertificate(bg, "v", "c", "")
		must(t, err)
		if p := c.Policy(); p.ValidityMonths != 12 || p.KeyType != "EC" || !c.Enabled || !maps.Equal(c.Tags, map[string]string{"a": "b"}) {
			t.Errorf("%s: a refused update left validity %d, kty %s, enabled %v, tags %v", tc.what, p.ValidityMonths, p.KeyType, c.Enabled, c.Tags)
		}
	}
	h.advance(time.Hour)
	c, err := r.UpdateCertificate(bg, "v", "c", "", vault.CertParams{Enabled: ptr(false), Tags: map[string]string{"x": "y"}}, six)
	must(t, err)
	if p := c.Policy(); p.ValidityMonths != 6 || !p.Updated.Equal(h.s.Now()) || c.Enabled || c.Tags["x"] != "y" {
		t.Fatalf("updated %+v, %+v", p, c.CertificateVersion)
	}
	if p, err := r.GetCertificatePolicy(bg, "v", "c"); err != nil || p.ValidityMonths != 6 {
		t.Fatalf("read back %+v %v", p, err)
	}
}

func TestCertificatePolicy(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	_, err := r.CreateCertificate(bg, "v", "c", selfPolicy, vault.CertParams{})
	must(t, err)
	h.advance(time.Hour)
	p, err := r.UpdateCertificatePolicy(bg, "v", "c", func(p *certs.Policy) { p.ValidityMonths = 6; p.DNSNames = []string{"example.com"} })
	must(t, err)
	if p.ValidityMonths != 6 || !slices.Equal(p.DNSNames, []string{"example.com"}) || !p.Created.Equal(t0) || !p.Updated.Equal(h.s.Now()) {
		t.Fatalf("policy %+v", p)
	}
	if got, err := r.GetCertificatePolicy(bg, "v", "c"); err != nil || got.ValidityMonths != 6 {
		t.Fatalf("read back %+v %v", got, err)
	}
	_, err = r.UpdateCertificatePolicy(bg, "v", "c", func(p *certs.Policy) { p.KeyType = "DSA" })
	wantErr(t, err, vault.ErrBadParameter)
	if got, _ := r.GetCertificatePolicy(bg, "v", "c"); got.KeyType != "EC" {
		t.Fatalf("a refused update was stored: %+v", got)
	}
	_, err = r.UpdateCertificatePolicy(bg, "v", "missing", func(*certs.Policy) {})
	wantErr(t, err, vault.ErrNotFound)
	_, err = r.UpdateCertificatePolicy(bg, "v", "bad_name", func(*certs.Policy) {})
	wantErr(t, err, vault.ErrBadParameter)
	_, err = r.GetCertificatePolicy(bg, "v", "bad_name")
	wantErr(t, err, vault.ErrBadParameter)
	_, err = r.GetCertificatePolicy(bg, "v", "missing")
	wantErr(t, err, vault.ErrNotFound)
}

// TestCertificateRenewal: the policy's AutoRenew falls due on the vault clock and the
// sweeper issues a new version with a new key, its secret and key beside it; an
// EmailContacts action acts without a version; a changed policy's old entry is dropped.
func TestCertificateRenewal(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	p := selfPolicy
	p.ValidityMonths = 1
	p.LifetimeActions = []certs.LifetimeAction{{DaysBeforeExpiry: 10, Action: "AutoRenew"}}
	_, err := r.CreateCertificate(bg, "v", "c", p, vault.CertParams{Tags: map[string]string{"keep": "me"}})
	must(t, err)
	first, err := r.GetCertificate(bg, "v", "c", "")
	must(t, err)
	due := first.Expires.AddDate(0, 0, -10)
	h.advance(due.Sub(h.s.Now()) - time.Second)
	if n := h.sweep(); n != 0 {
		t.Fatalf("renewed early (%d)", n)
	}
	h.advance(time.Second)
	if n := h.sweep(); n != 1 {
		t.Fatalf("renewal acted %d times", n)
	}
	c, err := r.GetCertificate(bg, "v", "c", "")
	must(t, err)
	if c.ID == first.ID || c.Object.Versions != 2 || !c.Created.Equal(due) || c.Tags["keep"] != "me" || !c.Expires.After(first.Expires) {
		t.Fatalf("renewed %+v", c.CertificateVersion)
	}
	k, err := r.GetKey(bg, "v", "c", "")
	must(t, err)
	s, err := r.GetSecret(bg, "v", "c", "")
	must(t, err)
	if k.ID != c.ID || s.ID != c.ID || k.Object.Versions != 2 {
		t.Fatalf("backing versions %s %s", k.ID, s.ID)
	}

	// Switch to EmailContacts: the entry made for AutoRenew is stale.
	_, err = r.UpdateCertificatePolicy(bg, "v", "c", func(p *certs.Policy) {
		p.LifetimeActions = []certs.LifetimeAction{{DaysBeforeExpiry: 5, Action: "EmailContacts"}}
	})
	must(t, err)
	h.advance(c.Expires.AddDate(0, 0, -10).Sub(h.s.Now()))
	if n := h.sweep(); n != 0 {
		t.Fatalf("a stale renewal acted (%d)", n)
	}
	h.advance(5 * 24 * time.Hour)
	if n := h.sweep(); n != 1 {
		t.Fatalf("notice acted %d times", n)
	}
	if got, _ := r.GetCertificate(bg, "v", "c", ""); got.Object.Versions != 2 {
		t.Fatalf("a notice made a version: %+v", got.Object)
	}
}

// TestCertificateRenewalSkipped: a deleted certificate, one in a deleted vault, and one
// whose issuer is not Self are not renewed; recovering the certificate schedules again.
func TestCertificateRenewalSkipped(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 60, false)
	h.vault("w", 60, false)
	r := h.s.Internal()
	p := selfPolicy
	p.ValidityMonths = 1
	p.LifetimeActions = []certs.LifetimeAction{{DaysBeforeExpiry: 20, Action: "AutoRenew"}}
	for _, v := range []string{"v", "w"} {
		_, err := r.CreateCertificate(bg, v, "c", p, vault.CertParams{})
		must(t, err)
	}
	_, err := r.Certificates().Delete(bg, "v", "c")
	must(t, err)
	_, _, err = r.DeleteVault(bg, "w")
	must(t, err)
	h.advance(15 * 24 * time.Hour)
	if n := h.sweep(); n != 0 {
		t.Fatalf("renewed a deleted certificate (%d)", n)
	}
	_, err = r.Certificates().Recover(bg, "v", "c")
	must(t, err)
	if n := h.sweep(); n != 1 {
		t.Fatalf("after recover: %d", n)
	}
	if c, _ := r.GetCertificate(bg, "v", "c", ""); c.Object.Versions != 2 {
		t.Fatalf("not renewed after recover: %+v", c.Object)
	}

	// An "Unknown" issuer cannot be renewed here: the action only tells.
	unknown := p
	unknown.IssuerName = "Unknown"
	_, err = r.UpdateCertificatePolicy(bg, "v", "c", func(q *certs.Policy) { *q = unknown })
	must(t, err)
	c, _ := r.GetCertificate(bg, "v", "c", "")
	h.advance(c.Expires.AddDate(0, 0, -20).Sub(h.s.Now()))
	if n := h.sweep(); n != 1 {
		t.Fatalf("unknown issuer: %d", n)
	}
	if got, _ := r.GetCertificate(bg, "v", "c", ""); got.Object.Versions != 2 {
		t.Fatalf("renewed with an Unknown issuer: %+v", got.Object)
	}
}

// TestDamagedCertificatePolicy: a stored policy that does not decode fails the operations
// that need it, changing nothing, instead of going on with an empty policy.
func TestDamagedCertificatePolicy(t *testing.T) {
	h := newHarness(t)
	h.unchecked = true // the damage is on purpose; the store check must report it
	h.vault("v", 7, false)
	r := h.s.Internal()
	_, err := r.CreateCertificate(bg, "v", "c", selfPolicy, vault.CertParams{})
	must(t, err)
	_, err = r.Certificates().Delete(bg, "v", "c")
	must(t, err)
	must(t, h.st.Update(bg, func(tx storage.Tx) error {
		b, err := tx.Get("v/v/certificate/deleted/c")
		if err != nil {
			return err
		}
		var head map[string]any
		if err := json.Unmarshal(b, &head); err != nil {
			return err
		}
		head["policy"] = []int{1, 2}
		b, _ = json.Marshal(head)
		return tx.Put("v/v/certificate/deleted/c", b)
	}))
	if _, err := r.Certificates().Recover(bg, "v", "c"); err == nil {
		t.Fatal("recovered with a policy that does not decode")
	}
	if _, err := r.Certificates().GetDeleted(bg, "v", "c"); err != nil {
		t.Fatalf("the failed recover changed the certificate: %v", err)
	}
	if p := h.check(); !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, "policy") }) {
		t.Fatalf("store check: %q", p)
	}
}

// uncompressedX is the X coordinate of a P-256 public key, 32 bytes, as a JWK holds it.
func uncompressedX(t *testing.T, pub *ecdsa.PublicKey) []byte {
	t.Helper()
	b, err := pub.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	return b[1 : 1+32]
}
