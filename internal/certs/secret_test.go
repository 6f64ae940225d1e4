package certs_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/coffer/coffer/internal/certs"
	"github.com/coffer/coffer/internal/keyops"
)

// testChain returns a leaf for key signed by a test CA, and the chain leaf first.
func testChain(t testing.TB, key crypto.Signer) []*x509.Certificate {
	t.Helper()
	ca := newTestCA(t)
	kty := "RSA"
	if _, ok := key.(*ecdsa.PrivateKey); ok {
		kty = "EC"
	}
	leaf := must(x509.ParseCertificate(ca.sign(t, must(certs.CSR(certs.Policy{KeyType: kty, Subject: "CN=leaf"}, key)))))
	return []*x509.Certificate{leaf, ca.cert}
}

func equalKeys(a crypto.PublicKey, b crypto.PublicKey) bool {
	return a.(interface{ Equal(crypto.PublicKey) bool }).Equal(b)
}

func sameChain(t *testing.T, want, got []*x509.Certificate) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("chain of %d certificates; want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(want[i].Raw, got[i].Raw) {
			t.Errorf("certificate %d differs", i)
		}
	}
}

func TestEncodeSecretPKCS12(t *testing.T) {
	chain := testChain(t, rsaKey())
	v, err := certs.EncodeSecret("application/x-pkcs12", rsaKey(), chain)
	if err != nil {
		t.Fatal(err)
	}
	der, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		t.Fatalf("value is not standard base64: %v", err)
	}
	priv, leaf, cas, err := pkcs12.DecodeChain(der, "")
	if err != nil {
		t.Fatalf("DecodeChain with the empty password: %v", err)
	}
	if !rsaKey().Equal(priv) {
		t.Error("PKCS #12 key differs")
	}
	sameChain(t, chain, append([]*x509.Certificate{leaf}, cas...))

	// Not exportable: certificates only.
	v, err = certs.EncodeSecret("application/x-pkcs12", nil, chain)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pkcs12.DecodeTrustStore(must(base64.StdEncoding.DecodeString(v)), "")
	if err != nil {
		t.Fatalf("DecodeTrustStore: %v", err)
	}
	sameChain(t, chain, got)
}

// TestEncodeSecretOpenSSL checks that OpenSSL 3 (without the legacy provider) reads the
// PKCS #12 with an empty password, when openssl is installed.
func TestEncodeSecretOpenSSL(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	for _, key := range []crypto.Signer{rsaKey(), ecKey()} {
		chain := testChain(t, key)
		v := must(certs.EncodeSecret("application/x-pkcs12", key, chain))
		f := filepath.Join(t.TempDir(), "cert.pfx")
		if err := os.WriteFile(f, must(base64.StdEncoding.DecodeString(v)), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "pkcs12", "-in", f, "-passin", "pass:", "-nodes").CombinedOutput()
		if err != nil {
			t.Fatalf("openssl pkcs12: %v\n%s", err, out)
		}
		if n := strings.Count(string(out), "BEGIN CERTIFICATE"); n != 2 || !strings.Contains(string(out), "BEGIN PRIVATE KEY") {
			t.Errorf("openssl read %d certificates and key %v:\n%s", n, strings.Contains(string(out), "PRIVATE KEY"), out)
		}
	}
}

func TestEncodeSecretPEM(t *testing.T) {
	chain := testChain(t, ecKey())
	v, err := certs.EncodeSecret("application/x-pem-file", ecKey(), chain)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(v, "\r") || !strings.HasPrefix(v, "-----BEGIN PRIVATE KEY-----\n") {
		t.Errorf("PEM does not start with a PRIVATE KEY block or has \\r:\n%s", v)
	}
	var types []string
	rest := []byte(v)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		types = append(types, b.Type)
		switch b.Type {
		case "PRIVATE KEY":
			if k := must(x509.ParsePKCS8PrivateKey(b.Bytes)); !ecKey().Equal(k) {
				t.Error("PEM key differs")
			}
		case "CERTIFICATE":
			if i := len(types) - 2; i >= len(chain) || !bytes.Equal(b.Bytes, chain[i].Raw) {
				t.Errorf("certificate block %d is not chain[%d]", len(types), i)
			}
		}
	}
	if got := strings.Join(types, ","); got != "PRIVATE KEY,CERTIFICATE,CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		t.Errorf("blocks %s, rest %q; want PRIVATE KEY,CERTIFICATE,CERTIFICATE", got, rest)
	}

	v = must(certs.EncodeSecret("application/x-pem-file", nil, chain))
	if strings.Contains(v, "PRIVATE KEY") || strings.Count(v, "BEGIN CERTIFICATE") != 2 {
		t.Errorf("non-exportable PEM:\n%s", v)
	}
}

func TestEncodeSecretRefusals(t *testing.T) {
	chain := testChain(t, rsaKey())
	_, err := certs.EncodeSecret("text/plain", rsaKey(), chain)
	wantInvalid(t, err, `"text/plain"`)
	if _, err := certs.EncodeSecret("application/x-pkcs12", rsaKey2(), chain); err == nil {
		t.Error("a key that does not match the leaf was accepted")
	}
	if _, err := certs.EncodeSecret("application/x-pkcs12", rsaKey(), nil); err == nil {
		t.Error("an empty chain was accepted")
	}
}

func pemBlock(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func certsPEM(chain ...*x509.Certificate) string {
	var s string
	for _, c := range chain {
		s += pemBlock("CERTIFICATE", c.Raw)
	}
	return s
}

// smallRSAChain is a certificate for a 1024-bit RSA key: parseable, but not a Key Vault size.
func smallRSA(t *testing.T) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	k := must(rsa.GenerateKey(rand.Reader, 1024))
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "small"}, NotBefore: now, NotAfter: now.Add(time.Hour)}
	return k, must(x509.ParseCertificate(must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k))))
}

func TestParseImport(t *testing.T) {
	rsaChain := testChain(t, rsaKey())
	ecChain := testChain(t, ecKey())
	b64 := base64.StdEncoding.EncodeToString
	pfx := func(enc *pkcs12.Encoder, key crypto.Signer, chain []*x509.Certificate, pwd string) string {
		return b64(must(enc.Encode(key, chain[0], chain[1:], pwd)))
	}
	pkcs8 := func(k crypto.Signer) string { return pemBlock("PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(k))) }
	sec1 := pemBlock("EC PRIVATE KEY", must(x509.MarshalECPrivateKey(ecKey())))
	pkcs1 := pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey()))
	withPwd := pfx(pkcs12.Modern2023, rsaKey(), rsaChain, "s3cret")
	small, smallCert := smallRSA(t)
	edPub, edPriv := must2(ed25519.GenerateKey(rand.Reader))
	_ = edPub

	tests := []struct {
		name, value, pwd, ct string
		key                  crypto.Signer
		chain                []*x509.Certificate
		detected             string
		want                 []string // error fragments; nil for success
	}{
		{name: "ok/pfx-with-password", value: withPwd, pwd: "s3cret", key: rsaKey(), chain: rsaChain, detected: "application/x-pkcs12"},
		{name: "ok/pfx-empty-password-as-encoded", value: must(certs.EncodeSecret("application/x-pkcs12", ecKey(), ecChain)), key: ecKey(), chain: ecChain, detected: "application/x-pkcs12"},
		{name: "ok/pfx-legacy-rc2-with-policy", value: pfx(pkcs12.LegacyRC2, rsaKey(), rsaChain, "pw"), pwd: "pw", ct: "application/x-pkcs12", key: rsaKey(), chain: rsaChain, detected: "application/x-pkcs12"},
		{name: "ok/pfx-base64-wrapped", value: strings.Join(splitEvery(withPwd, 64), "\r\n"), pwd: "s3cret", key: rsaKey(), chain: rsaChain, detected: "application/x-pkcs12"},
		{name: "ok/pem-pkcs8-key-first", value: pkcs8(rsaKey()) + certsPEM(rsaChain...), key: rsaKey(), chain: rsaChain, detected: "application/x-pem-file"},
		{name: "ok/pem-cert-first-pkcs1-with-policy", value: certsPEM(rsaChain...) + pkcs1, ct: "application/x-pem-file", key: rsaKey(), chain: rsaChain, detected: "application/x-pem-file"},
		{name: "ok/pem-sec1-with-params-and-text", value: "Bag Attributes\n    friendlyName: x\n" + pemBlock("EC PARAMETERS", []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}) + sec1 + certsPEM(ecChain...),
			key: ecKey(), chain: ecChain, detected: "application/x-pem-file"},
		{name: "ok/pem-ca-before-leaf", value: certsPEM(ecChain[1], ecChain[0]) + pkcs8(ecKey()), key: ecKey(), chain: ecChain, detected: "application/x-pem-file"},
		{name: "ok/pem-password-ignored", value: pkcs8(ecKey()) + certsPEM(ecChain...), pwd: "unused", key: ecKey(), chain: ecChain, detected: "application/x-pem-file"},

		{name: "fail/pfx-wrong-password", value: withPwd, pwd: "not-it", want: []string{"the PFX password is wrong"}},
		{name: "fail/pfx-password-missing", value: withPwd, want: []string{"the PFX password is wrong", "pwd"}},
		{name: "fail/pfx-without-key", value: b64(must(pkcs12.Modern2023.EncodeTrustStore(rsaChain, ""))), want: []string{"the PFX has no private key"}},
		{name: "fail/pfx-with-pem-policy", value: withPwd, pwd: "s3cret", ct: "application/x-pem-file", want: []string{"Property policy has invalid value", "a PFX", "must be application/x-pkcs12"}},
		{name: "fail/pem-with-pkcs12-policy", value: pkcs8(rsaKey()) + certsPEM(rsaChain...), ct: "application/x-pkcs12", want: []string{"Property policy has invalid value", "PEM text", "must be application/x-pem-file"}},
		{name: "fail/unknown-policy-content-type", value: withPwd, ct: "text/plain", want: []string{"Property policy has invalid value", `"text/plain"`}},
		{name: "fail/garbage", value: "hello, world!", want: []string{"neither PEM text nor the base64 of a PFX"}},
		{name: "fail/empty", value: "", want: []string{"neither PEM text nor the base64 of a PFX"}},
		{name: "fail/base64-not-pfx", value: b64([]byte("hello")), want: []string{"neither PEM text nor a readable PFX"}},
		{name: "fail/pem-no-key", value: certsPEM(rsaChain...), want: []string{"the PEM text has no private key"}},
		{name: "fail/pem-no-certificate", value: pkcs8(rsaKey()), want: []string{"the PEM text has no certificate"}},
		{name: "fail/pem-only-garbage-blocks", value: "-----BEGIN nonsense", want: []string{"neither a readable PFX"}},
		{name: "fail/key-matches-no-certificate", value: pkcs8(rsaKey2()) + certsPEM(rsaChain...), want: []string{"the private key does not match any certificate"}},
		{name: "fail/pfx-key-matches-no-certificate", value: b64(must(pkcs12.Modern2023.Encode(rsaKey2(), rsaChain[0], nil, ""))), want: []string{"the private key does not match any certificate"}},
		{name: "fail/two-keys", value: pkcs8(rsaKey()) + pkcs1 + certsPEM(rsaChain...), want: []string{"more than one private key"}},
		{name: "fail/encrypted-key", value: pemBlock("ENCRYPTED PRIVATE KEY", []byte{1}) + certsPEM(rsaChain...), want: []string{"is encrypted"}},
		{name: "fail/legacy-encrypted-key", value: string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: []byte{1}})) + certsPEM(rsaChain...), want: []string{"is encrypted"}},
		{name: "fail/bad-key-block", value: pemBlock("PRIVATE KEY", []byte("junk")) + certsPEM(rsaChain...), want: []string{"PEM block 1 (PRIVATE KEY) is not a valid private key"}},
		{name: "fail/bad-certificate-block", value: pkcs8(rsaKey()) + pemBlock("CERTIFICATE", []byte("junk")), want: []string{"PEM block 2 (CERTIFICATE) is not a valid X.509 certificate"}},
		{name: "fail/unknown-block", value: pkcs8(rsaKey()) + pemBlock("PUBLIC KEY", []byte{1}) + certsPEM(rsaChain...), want: []string{`type "PUBLIC KEY"`}},
		{name: "fail/rsa-1024", value: pkcs8(small) + certsPEM(smallCert), want: []string{"1024-bit RSA key", "2048, 3072 or 4096"}},
		{name: "fail/ed25519", value: pkcs8(edPriv) + certsPEM(rsaChain...), want: []string{"Ed25519"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, chain, detected, err := certs.ParseImport(tt.value, tt.pwd, tt.ct)
			if tt.want != nil {
				wantInvalid(t, err, tt.want...)
				if strings.Contains(err.Error(), tt.pwd) && tt.pwd != "" {
					t.Errorf("error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseImport: %v", err)
			}
			if !equalKeys(tt.key.Public(), key.Public()) {
				t.Error("imported key differs")
			}
			sameChain(t, tt.chain, chain)
			if detected != tt.detected {
				t.Errorf("detected %q; want %q", detected, tt.detected)
			}
		})
	}
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

func splitEvery(s string, n int) []string {
	var out []string
	for len(s) > n {
		out, s = append(out, s[:n]), s[n:]
	}
	return append(out, s)
}

// TestImportRoundTrip: what EncodeSecret writes, ParseImport reads, for both content types.
func TestImportRoundTrip(t *testing.T) {
	for _, ct := range []string{"application/x-pkcs12", "application/x-pem-file"} {
		for _, key := range []crypto.Signer{rsaKey(), ecKey()} {
			chain := testChain(t, key)
			v := must(certs.EncodeSecret(ct, key, chain))
			k, got, detected, err := certs.ParseImport(v, "", ct)
			if err != nil {
				t.Fatalf("%s: ParseImport: %v", ct, err)
			}
			if detected != ct || !equalKeys(key.Public(), k.Public()) {
				t.Errorf("%s: detected %q, key equal %v", ct, detected, equalKeys(key.Public(), k.Public()))
			}
			sameChain(t, chain, got)
		}
	}
}

func TestKeyFromSigner(t *testing.T) {
	for _, tt := range []struct {
		name, kty, wantKty string
		key                crypto.Signer
	}{
		{"ok/rsa", "", "RSA", rsaKey()},
		{"ok/rsa-hsm", "RSA-HSM", "RSA-HSM", rsaKey()},
		{"ok/ec", "", "EC", ecKey()},
		{"ok/ec-384-hsm", "EC-HSM", "EC-HSM", ec384()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k, err := certs.KeyFromSigner(tt.key, tt.kty)
			if err != nil {
				t.Fatal(err)
			}
			if k.Kty() != tt.wantKty || !equalKeys(tt.key.Public(), k.Signer().Public()) {
				t.Errorf("kty %q (want %q), same key %v", k.Kty(), tt.wantKty, equalKeys(tt.key.Public(), k.Signer().Public()))
			}
		})
	}
	_, err := certs.KeyFromSigner(rsaKey(), "EC")
	wantInvalid(t, err, `"EC"`, "RSA")
	_, err = certs.KeyFromSigner(ecKey(), "oct")
	wantInvalid(t, err, `"oct"`)
}

// TestKeyopsSigner issues with a key generated by keyops, through its Signer accessor.
func TestKeyopsSigner(t *testing.T) {
	p := certs.Policy{KeyType: "EC", Curve: "P-384", Subject: "CN=keyops"}
	if err := p.Normalize(); err != nil {
		t.Fatal(err)
	}
	kty, size, crv := certs.KeyParams(p)
	k, err := keyops.Generate(kty, size, 0, crv)
	if err != nil {
		t.Fatal(err)
	}
	der, err := certs.SelfSigned(p, k.Signer(), now)
	if err != nil {
		t.Fatal(err)
	}
	c := must(x509.ParseCertificate(der))
	if !equalKeys(k.Signer().Public(), c.PublicKey) {
		t.Error("certificate key is not the keyops key")
	}
	oct := must(keyops.Generate("oct", 256, 0, ""))
	if oct.Signer() != nil {
		t.Error("an oct key has a Signer")
	}
}

// TestEmptyPasswordPFXAlwaysImports: with the empty password the work check tries both of
// its encodings, and the wrong one decrypts to well-padded noise about once in 256; that
// noise must not refuse a sound file (it did, about twice in a thousand).
func TestEmptyPasswordPFXAlwaysImports(t *testing.T) {
	key := ecKey()
	chain := testChain(t, key)
	for i := range 1000 {
		v := must(certs.EncodeSecret("application/x-pkcs12", key, chain))
		if _, _, _, err := certs.ParseImport(v, "", "application/x-pkcs12"); err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
	}
}
