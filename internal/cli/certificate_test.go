package cli_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/coffer/coffer/internal/testenv"
)

// selfSigned makes a certificate and its key for import tests.
func selfSigned(t *testing.T, cn string) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return k, c
}

// TestCertificateLifecycle drives every certificate command: create (self-signed, with
// the default policy and with a policy file), get-default-policy, show, list, versions,
// download, import (PEM and PFX), pending show and merge of a CSR signed here, backup,
// delete with the help for deleted certificates, recover, purge and restore.
func TestCertificateLifecycle(t *testing.T) {
	cleanEnv(t)
	st := testenv.NewStack(t)
	login(t, st)
	dir := t.TempDir()
	vn := []string{"--vault-name", "default"}
	cert := func(args ...string) result {
		return coffer(t, append(append([]string{"certificate"}, args...), vn...)...)
	}

	pol := jsonOut[map[string]any](t, coffer(t, "certificate", "get-default-policy").ok(t))
	if at(pol, "issuerParameters.name") != "Self" || at(pol, "x509CertificateProperties.subject") != "CN=CLIGetDefaultPolicy" {
		t.Fatalf("default policy %v", pol)
	}

	op := jsonOut[map[string]any](t, cert("create", "--name", "web").ok(t))
	if keysOf(op) != "cancellationRequested,csr,error,id,issuerParameters,name,requestId,status,statusDetails,target" ||
		op["status"] != "completed" || op["name"] != "web" || at(op, "issuerParameters.name") != "Self" {
		t.Fatalf("create printed %v", op)
	}
	c := jsonOut[map[string]any](t, cert("show", "-n", "web").ok(t))
	if got := keysOf(c); got != "attributes,cer,contentType,id,kid,name,pending,policy,sid,tags,x509Thumbprint,x509ThumbprintHex" {
		t.Fatalf("show keys %s", got)
	}
	base := st.Server.VaultURL("default") + "certificates/web/"
	der := b64dec(t, c["cer"])
	sum := sha1.Sum(der)
	if at(c, "policy.secretProperties.contentType") != "application/x-pkcs12" || at(c, "pending.id") != base+"pending" || at(c, "policy.id") != base+"policy" ||
		at(c, "policy.x509CertificateProperties.subject") != "CN=CLIGetDefaultPolicy" || at(c, "policy.keyProperties.keySize") != float64(2048) ||
		c["x509ThumbprintHex"] != strings.ToUpper(hex.EncodeToString(sum[:])) || !strings.HasPrefix(c["kid"].(string), st.Server.VaultURL("default")+"keys/web/") ||
		!azDate.MatchString(at(c, "attributes.expires").(string)) {
		t.Fatalf("show %v", c)
	}

	// A policy in az's form from a file: PEM content, EC key, a subject of our own.
	pol["x509CertificateProperties"].(map[string]any)["subject"] = "CN=api.example"
	pol["secretProperties"] = map[string]any{"contentType": "application/x-pem-file"}
	pol["keyProperties"] = map[string]any{"keyType": "EC", "curve": "P-256", "exportable": true, "reuseKey": false}
	os.WriteFile(filepath.Join(dir, "policy.json"), []byte(jsonString(pol)), 0o600)
	cert("create", "-n", "api", "--policy", "@"+filepath.Join(dir, "policy.json")).ok(t)
	cert("download", "-n", "api", "--file", filepath.Join(dir, "api.crt")).ok(t)
	b, _ := os.ReadFile(filepath.Join(dir, "api.crt"))
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("download wrote %q", b)
	}
	if x, err := x509.ParseCertificate(blk.Bytes); err != nil || x.Subject.CommonName != "api.example" {
		t.Fatalf("downloaded certificate: %v %v", err, x)
	}
	cert("download", "-n", "api", "-f", filepath.Join(dir, "api.der"), "-e", "DER").ok(t)
	cert("download", "-n", "api", "-f", filepath.Join(dir, "api.der")).fails(t, "already exists")
	cert("create", "-n", "bad", "--policy", `{"nothing": 1}`).usage(t, "--policy names no").hinted(t)

	// Import PEM and PFX.
	k, x := selfSigned(t, "imported.example")
	p8, _ := x509.MarshalPKCS8PrivateKey(k)
	pemFile := filepath.Join(dir, "imp.pem")
	os.WriteFile(pemFile, append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: x.Raw})...), 0o600)
	c = jsonOut[map[string]any](t, cert("import", "-n", "imp-pem", "--file", pemFile).ok(t))
	if at(c, "policy.secretProperties.contentType") != "application/x-pem-file" || !strings.EqualFold(c["x509ThumbprintHex"].(string), hex.EncodeToString(sha1Of(x.Raw))) {
		t.Fatalf("import pem %v", c)
	}
	pfx, err := pkcs12.Modern.Encode(k, x, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "imp.pfx"), pfx, 0o600)
	if c := jsonOut[map[string]any](t, cert("import", "-n", "imp-pfx", "-f", filepath.Join(dir, "imp.pfx"), "--password", "pw").ok(t)); at(c, "policy.secretProperties.contentType") != "application/x-pkcs12" {
		t.Fatalf("import pfx %v", c)
	}

	items := jsonOut[[]map[string]any](t, cert("list").ok(t))
	if len(items) != 4 || keysOf(items[0]) != "attributes,id,name,subject,tags,x509Thumbprint,x509ThumbprintHex" {
		t.Fatalf("list %v", items)
	}
	cert("create", "-n", "web").ok(t)
	if got := jsonOut[[]map[string]any](t, cert("list-versions", "-n", "web").ok(t)); len(got) != 2 {
		t.Fatalf("list-versions %v", got)
	}

	// A pending certificate: its CSR signed here, then merged.
	op = jsonOut[map[string]any](t, cert("create", "-n", "csr", "--policy",
		`{"issuerParameters":{"name":"Unknown"},"keyProperties":{"keyType":"RSA","keySize":2048},"x509CertificateProperties":{"subject":"CN=csr.example","validityInMonths":6}}`).ok(t))
	if op["status"] != "inProgress" || op["csr"] == nil {
		t.Fatalf("pending create %v", op)
	}
	if op := jsonOut[map[string]any](t, cert("pending", "show", "-n", "csr").ok(t)); op["csr"] == nil || op["name"] != "csr" {
		t.Fatalf("pending show %v", op)
	}
	csr, err := x509.ParseCertificateRequest(b64dec(t, op["csr"]))
	if err != nil {
		t.Fatal(err)
	}
	signed, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(9), Subject: csr.Subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour)}, x, csr.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "signed.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: signed}), 0o600)
	if c := jsonOut[map[string]any](t, cert("pending", "merge", "-n", "csr", "--file", filepath.Join(dir, "signed.pem")).ok(t)); c["x509Thumbprint"] != base64.StdEncoding.EncodeToString(sha1Of(signed)) {
		t.Fatalf("merge %v", c)
	}
	cert("show", "-n", "csr").ok(t)

	// Delete, and the help for the deleted certificate.
	backup := filepath.Join(dir, "web.bak")
	cert("backup", "-n", "web", "-f", backup).ok(t)
	r := cert("delete", "-n", "web").ok(t)
	d := jsonOut[map[string]any](t, r)
	if keysOf(d) != "attributes,cer,contentType,deletedDate,id,kid,name,pending,policy,recoveryId,scheduledPurgeDate,sid,tags,x509Thumbprint,x509ThumbprintHex" ||
		d["recoveryId"] != st.Server.VaultURL("default")+"deletedcertificates/web" {
		t.Fatalf("delete %v", d)
	}
	if !strings.Contains(r.err, "coffer certificate recover --vault-name default --name web") {
		t.Fatalf("delete stderr %q", r.err)
	}
	for _, args := range [][]string{{"show", "-n", "web"}, {"download", "-n", "web", "-f", filepath.Join(dir, "x.crt")}} {
		wantDeletedHints(t, cert(args...).notFound(t, `certificate "web" in vault "default" is deleted`), "certificate", "default", "web", true)
	}
	wantDeletedHints(t, cert("create", "-n", "web").conflict(t, `the name "web" is held by a deleted certificate`), "certificate", "default", "web", true)
	wantDeletedHints(t, cert("import", "-n", "web", "-f", pemFile).conflict(t, `the name "web" is held by a deleted certificate`), "certificate", "default", "web", true)
	if got := jsonOut[[]map[string]any](t, cert("list-deleted").ok(t)); len(got) != 1 || got[0]["name"] != "web" ||
		keysOf(got[0]) != "attributes,deletedDate,id,name,recoveryId,scheduledPurgeDate,tags,x509Thumbprint,x509ThumbprintHex" {
		t.Fatalf("list-deleted %v", got)
	}
	cert("show-deleted", "-n", "web").ok(t)
	cert("show-deleted", "-n", "api").notFound(t, "is not deleted").hinted(t)
	if c := jsonOut[map[string]any](t, cert("recover", "-n", "web").ok(t)); c["name"] != "web" {
		t.Fatalf("recover %v", c)
	}
	coffer(t, "secret", "show", "--vault-name", "default", "-n", "web").ok(t)
	cert("delete", "-n", "web").ok(t)
	if r := cert("purge", "-n", "web", "--yes").ok(t); r.out != "" {
		t.Fatalf("purge printed %q", r.out)
	}
	cert("show-deleted", "-n", "web").notFound(t, "no deleted certificate")
	if c := jsonOut[map[string]any](t, cert("restore", "-f", backup).ok(t)); c["name"] != "web" {
		t.Fatalf("restore %v", c)
	}
	if got := jsonOut[[]map[string]any](t, cert("list-versions", "-n", "web").ok(t)); len(got) != 2 {
		t.Fatalf("versions after restore %v", got)
	}
}

func sha1Of(b []byte) []byte {
	s := sha1.Sum(b)
	return s[:]
}

// TestCertificateCreateDisabled: --disabled reaches the service; the certificate comes
// out disabled.
func TestCertificateCreateDisabled(t *testing.T) {
	cleanEnv(t)
	st := testenv.NewStack(t)
	login(t, st)
	coffer(t, "certificate", "create", "--vault-name", "default", "--name", "off", "--disabled").ok(t)
	got := jsonOut[map[string]any](t, coffer(t, "certificate", "show", "--vault-name", "default", "--name", "off").ok(t))
	if at(got, "attributes.enabled") != false {
		t.Fatalf("certificate created with --disabled: %v", got["attributes"])
	}
}
