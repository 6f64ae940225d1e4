package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// TestRC2 checks the cipher against RC2's published test vectors, both ways.
func TestRC2(t *testing.T) {
	for _, v := range []struct {
		key   string
		t1    int
		plain string
		ct    string
	}{
		{"0000000000000000", 63, "0000000000000000", "ebb773f993278eff"},
		{"ffffffffffffffff", 64, "ffffffffffffffff", "278b27e42e2f0d49"},
		{"3000000000000000", 64, "1000000000000001", "30649edf9be7d2c2"},
		{"88", 64, "0000000000000000", "61a8a244adacccf0"},
		{"88bca90e90875a", 64, "0000000000000000", "6ccf4308974c267f"},
		{"88bca90e90875a7f0f79c384627bafb2", 64, "0000000000000000", "1a807d272bbe5db1"},
		{"88bca90e90875a7f0f79c384627bafb2", 128, "0000000000000000", "2269552ab0f85ca6"},
		{"88bca90e90875a7f0f79c384627bafb216f80a6f85920584c42fceb0be255daf1e", 129, "0000000000000000", "5b78d3a43dfff1f1"},
	} {
		key, _ := hex.DecodeString(v.key)
		plain, _ := hex.DecodeString(v.plain)
		c := newRC2(key, v.t1)
		got := make([]byte, 8)
		c.Encrypt(got, plain)
		if hex.EncodeToString(got) != v.ct {
			t.Errorf("key %s, %d bits: encrypts to %x, want %s", v.key, v.t1, got, v.ct)
		}
		c.Decrypt(got, got)
		if !bytes.Equal(got, plain) {
			t.Errorf("key %s, %d bits: decrypts to %x, want %s", v.key, v.t1, got, v.plain)
		}
	}
}

// TestPKCS12KDF checks PKCS #12's key derivation against known keys,
// including one where a block of I gets a leading zero byte.
func TestPKCS12KDF(t *testing.T) {
	pw, _ := pfxPasswords("sesame")
	if got := pkcs12KDF(pw[0], []byte("\xff\xff\xff\xff\xff\xff\xff\xff"), 2048, 1, 24); hex.EncodeToString(got) != "7cd9fd3e2b3be7691a44e3bef0f9ea0fb9b897d4e325d9d1" {
		t.Errorf("sesame: %x", got)
	}
	if got := pkcs12KDF([]byte{0, 0}, []byte("\xf3\x7e\x05\xb5\x18\x32\x4b\x4b"), 2048, 1, 24); hex.EncodeToString(got) != "00f759ff47d14dd03665d5943cb3c4a39a2555c02aed66e1" {
		t.Errorf("leading zero: %x", got)
	}
}

// TestWrongPasswordWellPadded: about one wrong password in 256 decrypts an encrypted safe
// to noise that happens to be well padded. It must still be answered as a wrong password,
// not as an unreadable file (this once made an import test fail about one run in 256).
func TestWrongPasswordWellPadded(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "padded"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pfx, err := pkcs12.Modern2023.Encode(key, cert, nil, "s3cret")
	if err != nil {
		t.Fatal(err)
	}

	var outer p12PFX
	var content []byte
	var safes []p12ContentInfo
	if unmarshalAll(pfx, &outer) != nil || unmarshalAll(outer.AuthSafe.Content.Bytes, &content) != nil || unmarshalAll(content, &safes) != nil {
		t.Fatal("cannot read the PFX made for the test")
	}
	var enc *p12EncryptedData
	for _, s := range safes {
		if s.ContentType.Equal(oidEncryptedData) {
			enc = new(p12EncryptedData)
			if err := unmarshalAll(s.Content.Bytes, enc); err != nil {
				t.Fatal(err)
			}
		}
	}
	if enc == nil {
		t.Fatal("the PFX made for the test has no encrypted safe")
	}
	for i := range 20000 {
		pw := fmt.Sprintf("wrong-%d", i)
		forms, _ := pfxPasswords(pw)
		if _, err := openSafe(enc.EncryptedContentInfo.ContentEncryptionAlgorithm, enc.EncryptedContentInfo.EncryptedContent, forms); err != nil {
			continue // badly padded: the usual wrong password
		}
		_, _, err := parsePFX(base64.StdEncoding.EncodeToString(pfx), pw)
		if err == nil || !strings.Contains(err.Error(), "the PFX password is wrong") {
			t.Fatalf("password %q decrypts to well-padded noise; answered %v, want the PFX password is wrong", pw, err)
		}
		t.Logf("%q decrypts to well-padded noise after %d tries; answered %q", pw, i+1, err)
		return
	}
	t.Fatal("no wrong password gave a well-padded decryption in 20000 tries")
}
