package server_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/coffer/coffer/internal/testenv"
)

func waitCompleted(t *testing.T, c *azcertificates.Client, name string) azcertificates.CertificateOperation {
	t.Helper()
	op, err := c.GetCertificateOperation(t.Context(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *op.Status != "completed" || !strings.HasSuffix(*op.Target, "/certificates/"+name) {
		t.Fatalf("operation %s: %+v", *op.Status, op.CertificateOperation)
	}
	return op.CertificateOperation
}

// createCertificate asks for certificate name of policy p, issued by issuer.
func createCertificate(t *testing.T, c *azcertificates.Client, name, issuer string, p azcertificates.CertificatePolicy) (azcertificates.CreateCertificateResponse, error) {
	p.IssuerParameters = &azcertificates.IssuerParameters{Name: to.Ptr(issuer)}
	return c.CreateCertificate(t.Context(), name, azcertificates.CreateCertificateParameters{CertificatePolicy: &p}, nil)
}

// selfSigned creates self-signed certificate name of policy p and waits until it is
// issued.
func selfSigned(t *testing.T, c *azcertificates.Client, name string, p azcertificates.CertificatePolicy) azcertificates.CreateCertificateResponse {
	t.Helper()
	created, err := createCertificate(t, c, name, "Self", p)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	waitCompleted(t, c, name)
	return created
}

func TestCertificatesSelfSigned(t *testing.T) {
	st := testenv.NewStack(t)
	c := st.Certificates(t, "default")
	ctx := t.Context()

	created := selfSigned(t, c, "web", azcertificates.CertificatePolicy{
		X509CertificateProperties: &azcertificates.X509CertificateProperties{
			Subject: to.Ptr("CN=web.example.com, O=Coffer"),
			SubjectAlternativeNames: &azcertificates.SubjectAlternativeNames{
				DNSNames: []*string{to.Ptr("web.example.com"), to.Ptr("www.example.com")}, Emails: []*string{to.Ptr("ops@example.com")}},
			EnhancedKeyUsage: []*string{to.Ptr("1.3.6.1.5.5.7.3.1")},
			ValidityInMonths: to.Ptr[int32](6),
		},
		KeyProperties:    &azcertificates.KeyProperties{KeyType: to.Ptr(azcertificates.KeyTypeRSA), KeySize: to.Ptr[int32](2048), Exportable: to.Ptr(true)},
		SecretProperties: &azcertificates.SecretProperties{ContentType: to.Ptr("application/x-pkcs12")},
	})
	if created.ID == nil || len(created.CSR) == 0 {
		t.Fatalf("create answered %+v", created.CertificateOperation)
	}

	got, err := c.GetCertificate(ctx, "web", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(got.CER)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "web.example.com" || !slices.Equal(cert.DNSNames, []string{"web.example.com", "www.example.com"}) ||
		!slices.Equal(cert.EmailAddresses, []string{"ops@example.com"}) || !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Fatalf("certificate fields: %v %v %v %v", cert.Subject, cert.DNSNames, cert.EmailAddresses, cert.ExtKeyUsage)
	}
	if d := cert.NotAfter.Sub(cert.NotBefore); d < 170*24*time.Hour || d > 200*24*time.Hour {
		t.Fatalf("validity %v", d)
	}
	ver := got.ID.Version()
	if got.KID == nil || got.SID == nil || !strings.HasSuffix(string(*got.KID), "/keys/web/"+ver) || !strings.HasSuffix(string(*got.SID), "/secrets/web/"+ver) {
		t.Fatalf("kid/sid: %v %v", got.KID, got.SID)
	}

	// The secret is the PKCS#12 (standard base64, empty password) with the private key.
	sc := st.Secrets(t, "default")
	sec, err := sc.GetSecret(ctx, "web", "", nil)
	if err != nil || *sec.ContentType != "application/x-pkcs12" || sec.Managed == nil || !*sec.Managed {
		t.Fatalf("secret: %v %+v", err, sec.Secret)
	}
	pfx, err := base64.StdEncoding.DecodeString(*sec.Value)
	if err != nil {
		t.Fatal(err)
	}
	priv, leaf, _, err := pkcs12.DecodeChain(pfx, "")
	if err != nil || !leaf.Equal(cert) {
		t.Fatalf("pkcs12: %v", err)
	}
	// The key signs through the keys API, and the certificate verifies it.
	kc := st.Keys(t, "default")
	digest := sha256.Sum256([]byte("signed by the certificate's key"))
	sig, err := kc.Sign(ctx, "web", ver, azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Value: digest[:]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig.Result); err != nil {
		t.Fatalf("signature does not verify with the certificate: %v", err)
	}
	if !priv.(*rsa.PrivateKey).PublicKey.Equal(cert.PublicKey) {
		t.Fatal("PKCS#12 key does not match")
	}

	// The key and secret are managed: direct changes are refused, naming the certificate.
	_, err = sc.SetSecret(ctx, "web", azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil)
	re := wantCode(t, err, 403, "Forbidden")
	_ = re
	_, err = kc.DeleteKey(ctx, "web", nil)
	wantCode(t, err, 403, "Forbidden")

	// Policy.
	pol, err := c.GetCertificatePolicy(ctx, "web", nil)
	if err != nil || *pol.X509CertificateProperties.ValidityInMonths != 6 || *pol.IssuerParameters.Name != "Self" {
		t.Fatalf("policy: %v", err)
	}

	// Lifecycle: delete takes the key and secret along, recover brings them back.
	del, err := c.DeleteCertificate(ctx, "web", nil)
	if err != nil || del.ScheduledPurgeDate == nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = sc.GetSecret(ctx, "web", "", nil)
	wantCode(t, err, 404, "SecretNotFound")
	if _, err := sc.GetDeletedSecret(ctx, "web", nil); err != nil {
		t.Fatalf("backing secret not soft-deleted: %v", err)
	}
	if d := listDeleted(t, sc); len(d) != 0 {
		t.Fatalf("backing secret listed as deleted: %v", d)
	}
	if _, err := c.RecoverDeletedCertificate(ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kc.GetKey(ctx, "web", ver, nil); err != nil {
		t.Fatalf("key after recover: %v", err)
	}
	blob, err := c.BackupCertificate(ctx, "web", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.DeleteCertificate(ctx, "web", nil)
	if _, err := c.PurgeDeletedCertificate(ctx, "web", nil); err != nil {
		t.Fatal(err)
	}
	_, err = sc.GetDeletedSecret(ctx, "web", nil)
	wantCode(t, err, 404, "SecretNotFound")
	if _, err := c.RestoreCertificate(ctx, azcertificates.RestoreCertificateParameters{CertificateBackup: blob.Value}, nil); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if s, err := sc.GetSecret(ctx, "web", ver, nil); err != nil || *s.Value != *sec.Value {
		t.Fatalf("secret after restore: %v", err)
	}
}

func TestCertificatesPEMAutoRenew(t *testing.T) {
	st := testenv.NewStack(t)
	c := st.Certificates(t, "default")
	ctx := t.Context()
	selfSigned(t, c, "ecpem", azcertificates.CertificatePolicy{
		X509CertificateProperties: &azcertificates.X509CertificateProperties{Subject: to.Ptr("CN=ec"), ValidityInMonths: to.Ptr[int32](1)},
		KeyProperties:             &azcertificates.KeyProperties{KeyType: to.Ptr(azcertificates.KeyTypeEC), Curve: to.Ptr(azcertificates.CurveNameP256)},
		SecretProperties:          &azcertificates.SecretProperties{ContentType: to.Ptr("application/x-pem-file")},
		LifetimeActions: []*azcertificates.LifetimeAction{{
			Trigger: &azcertificates.LifetimeActionTrigger{LifetimePercentage: to.Ptr[int32](80)},
			Action:  &azcertificates.LifetimeActionType{ActionType: to.Ptr(azcertificates.CertificatePolicyActionAutoRenew)},
		}},
	})
	sec, err := st.Secrets(t, "default").GetSecret(ctx, "ecpem", "", nil)
	if err != nil || *sec.ContentType != "application/x-pem-file" || !strings.HasPrefix(*sec.Value, "-----BEGIN PRIVATE KEY-----") ||
		!strings.Contains(*sec.Value, "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("PEM secret: %v", err)
	}
	first, _ := c.GetCertificate(ctx, "ecpem", "", nil)
	st.ShiftTime(t, 20*24*time.Hour)
	wantSweep(t, st, 0, "renewed early")
	st.ShiftTime(t, 6*24*time.Hour)
	wantSweep(t, st, 1, "auto-renew")
	second, err := c.GetCertificate(ctx, "ecpem", "", nil)
	if err != nil || second.ID.Version() == first.ID.Version() {
		t.Fatalf("no new version: %v", err)
	}
}

func TestCertificatesMergeAndImport(t *testing.T) {
	st := testenv.NewStack(t)
	c := st.Certificates(t, "default")
	ctx := t.Context()

	// Unknown issuer: pending with a CSR, then merge a certificate signed by a CA of ours.
	op, err := createCertificate(t, c, "ext", "Unknown", azcertificates.CertificatePolicy{
		X509CertificateProperties: &azcertificates.X509CertificateProperties{Subject: to.Ptr("CN=ext.example.com")},
	})
	if err != nil || *op.Status != "inProgress" {
		t.Fatalf("create: %v", err)
	}
	csr, err := x509.ParseCertificateRequest(op.CSR)
	if err != nil || csr.CheckSignature() != nil {
		t.Fatalf("csr: %v", err)
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: csr.Subject, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(12 * time.Hour)}
	leafDER, _ := x509.CreateCertificate(rand.Reader, leafTmpl, ca, csr.PublicKey, caKey)
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	wrongDER, _ := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &otherKey.PublicKey, caKey)
	_, err = c.MergeCertificate(ctx, "ext", azcertificates.MergeCertificateParameters{X509Certificates: [][]byte{wrongDER}}, nil)
	wantCode(t, err, 400, "BadParameter")
	merged, err := c.MergeCertificate(ctx, "ext", azcertificates.MergeCertificateParameters{X509Certificates: [][]byte{leafDER, caDER}}, nil)
	if err != nil || string(merged.CER) != string(leafDER) {
		t.Fatalf("merge: %v", err)
	}
	waitCompleted(t, c, "ext")

	// Import a PKCS#12 with a password, and a PEM bundle.
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "imported"}, DNSNames: []string{"imported.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	imported, _ := x509.ParseCertificate(der)
	pfx, err := pkcs12.Modern.Encode(key, imported, nil, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ImportCertificate(ctx, "pfx", azcertificates.ImportCertificateParameters{Base64EncodedCertificate: to.Ptr(base64.StdEncoding.EncodeToString(pfx)), Password: to.Ptr("wrong")}, nil)
	wantCode(t, err, 400, "BadParameter")
	im, err := c.ImportCertificate(ctx, "pfx", azcertificates.ImportCertificateParameters{Base64EncodedCertificate: to.Ptr(base64.StdEncoding.EncodeToString(pfx)), Password: to.Ptr("s3cret")}, nil)
	if err != nil || string(im.CER) != string(der) {
		t.Fatalf("import pfx: %v", err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})) + string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	_, err = c.ImportCertificate(ctx, "pem", azcertificates.ImportCertificateParameters{Base64EncodedCertificate: to.Ptr(pemText),
		CertificatePolicy: &azcertificates.CertificatePolicy{SecretProperties: &azcertificates.SecretProperties{ContentType: to.Ptr("application/x-pem-file")}}}, nil)
	if err != nil {
		t.Fatalf("import pem: %v", err)
	}
	_, err = c.ImportCertificate(ctx, "garbage", azcertificates.ImportCertificateParameters{Base64EncodedCertificate: to.Ptr("not a certificate")}, nil)
	wantCode(t, err, 400, "BadParameter")

	// Listing shows the three certificates.
	var names []string
	for _, page := range pages(t, c.NewListCertificatePropertiesPager(nil)) {
		for _, it := range page.Value {
			names = append(names, it.ID.Name())
		}
	}
	if !slices.Equal(names, []string{"ext", "pem", "pfx"}) {
		t.Fatalf("list: %v", names)
	}
}
