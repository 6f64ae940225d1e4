package certs_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/coffer/coffer/internal/certs"
)

// The PKCS #12 structures the tests take apart and put together again. Raw values
// keep what a test does not change byte for byte.
type (
	tPFX struct {
		Version  int
		AuthSafe tContentInfo
		MacData  tMacData `asn1:"optional"`
	}
	tContentInfo struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
	}
	tMacData struct {
		Mac struct {
			Algorithm pkix.AlgorithmIdentifier
			Digest    []byte
		}
		MacSalt    []byte
		Iterations *big.Int `asn1:"optional"`
	}
	tEncryptedData struct {
		Version int
		Info    struct {
			ContentType asn1.ObjectIdentifier
			Algorithm   pkix.AlgorithmIdentifier
			Content     []byte `asn1:"tag:0,optional"`
		}
	}
	tSafeBag struct {
		ID         asn1.ObjectIdentifier
		Value      asn1.RawValue
		Attributes asn1.RawValue `asn1:"optional"`
	}
	tEncryptedKey struct {
		Algorithm pkix.AlgorithmIdentifier
		Data      []byte
	}
	tCertBag struct {
		ID   asn1.ObjectIdentifier
		Cert []byte `asn1:"tag:0,explicit"`
	}
	tPBEParams struct {
		Salt       []byte
		Iterations *big.Int
	}
	tPBES2Params struct {
		KDF, Scheme pkix.AlgorithmIdentifier
	}
	tPBKDF2Params struct {
		Salt       asn1.RawValue
		Iterations *big.Int
		KeyLength  int                      `asn1:"optional"`
		PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
	}
)

var (
	tOIDData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	tOIDEncryptedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	tOIDShroudedKey   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	tOIDCertBag       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	tOIDX509Cert      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
	tOIDPBES2         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	tOIDPBKDF2        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	tOIDPBMAC1        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}
	tOIDHMACSHA256    = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	tOIDAES256CBC     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

func mustUnmarshal(t *testing.T, der []byte, v any) {
	t.Helper()
	if rest, err := asn1.Unmarshal(der, v); err != nil || len(rest) != 0 {
		t.Fatalf("asn1: %v (%d bytes left)", err, len(rest))
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// explicit0 is the [0] EXPLICIT wrapper of a content or bag value.
func explicit0(der []byte) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: der}
}

// setCount sets the iteration count of a PKCS #12 PBE, PBES2 or PBKDF2 algorithm.
func setCount(t *testing.T, alg *pkix.AlgorithmIdentifier, n *big.Int) {
	t.Helper()
	switch {
	case alg.Algorithm.Equal(tOIDPBES2), alg.Algorithm.Equal(tOIDPBMAC1):
		var p tPBES2Params // PBMAC1's parameters have the same shape: a KDF and a scheme
		mustUnmarshal(t, alg.Parameters.FullBytes, &p)
		setCount(t, &p.KDF, n)
		alg.Parameters.FullBytes = mustMarshal(t, p)
	case alg.Algorithm.Equal(tOIDPBKDF2):
		var p tPBKDF2Params
		mustUnmarshal(t, alg.Parameters.FullBytes, &p)
		p.Iterations = n
		alg.Parameters.FullBytes = mustMarshal(t, p)
	default: // pbeWithSHAAnd…
		var p tPBEParams
		mustUnmarshal(t, alg.Parameters.FullBytes, &p)
		p.Iterations = n
		alg.Parameters.FullBytes = mustMarshal(t, p)
	}
}

// pfxParts is a PFX taken apart: its MAC and its safes, each a list of bags when it is a
// plain data safe.
type pfxParts struct {
	pfx   tPFX
	safes []tContentInfo
}

func splitPFX(t *testing.T, der []byte) *pfxParts {
	t.Helper()
	var p pfxParts
	mustUnmarshal(t, der, &p.pfx)
	var content []byte
	mustUnmarshal(t, p.pfx.AuthSafe.Content.Bytes, &content)
	mustUnmarshal(t, content, &p.safes)
	return &p
}

func (p *pfxParts) join(t *testing.T) []byte {
	t.Helper()
	p.pfx.AuthSafe.Content = explicit0(mustMarshal(t, mustMarshal(t, p.safes)))
	return mustMarshal(t, p.pfx)
}

// editBags changes the bags of every plain data safe.
func (p *pfxParts) editBags(t *testing.T, edit func([]tSafeBag) []tSafeBag) {
	t.Helper()
	for i, s := range p.safes {
		if !s.ContentType.Equal(tOIDData) {
			continue
		}
		var data []byte
		mustUnmarshal(t, s.Content.Bytes, &data)
		var bags []tSafeBag
		mustUnmarshal(t, data, &bags)
		p.safes[i].Content = explicit0(mustMarshal(t, mustMarshal(t, edit(bags))))
	}
}

// editEncrypted changes the algorithm of every encrypted safe (its contents stay as they are).
func (p *pfxParts) editEncrypted(t *testing.T, edit func(*pkix.AlgorithmIdentifier)) {
	t.Helper()
	for i, s := range p.safes {
		if !s.ContentType.Equal(tOIDEncryptedData) {
			continue
		}
		var ed tEncryptedData
		mustUnmarshal(t, s.Content.Bytes, &ed)
		edit(&ed.Info.Algorithm)
		p.safes[i].Content = explicit0(mustMarshal(t, ed))
	}
}

// keyCount sets the iteration count of a shrouded key bag.
func keyCount(t *testing.T, bag tSafeBag, n *big.Int) tSafeBag {
	t.Helper()
	var k tEncryptedKey
	mustUnmarshal(t, bag.Value.Bytes, &k)
	setCount(t, &k.Algorithm, n)
	bag.Value = explicit0(mustMarshal(t, k))
	return bag
}

// hiddenKeyPFX is a PFX without a MAC, for the empty password, whose one safe is encrypted
// (PBES2, AES-256, 2048 rounds of PBKDF2-SHA256) and holds the leaf's certificate and the
// key, a shrouded key bag with keyRounds: the key's count can only be read by opening the
// safe.
func hiddenKeyPFX(t *testing.T, keyRounds *big.Int) []byte {
	t.Helper()
	chain := testChain(t, ecKey())
	made := splitPFX(t, must(pkcs12.Modern2023.Encode(ecKey(), chain[0], nil, "")))
	var keyBag tSafeBag
	made.editBags(t, func(bags []tSafeBag) []tSafeBag {
		keyBag = bags[0]
		return bags
	})
	if !keyBag.ID.Equal(tOIDShroudedKey) {
		t.Fatalf("go-pkcs12 wrote a %v bag where the shrouded key was expected", keyBag.ID)
	}
	if keyRounds != nil {
		keyBag = keyCount(t, keyBag, keyRounds)
	}
	certBag := tSafeBag{ID: tOIDCertBag, Value: explicit0(mustMarshal(t, tCertBag{ID: tOIDX509Cert, Cert: chain[0].Raw}))}
	plain := mustMarshal(t, []tSafeBag{certBag, keyBag})

	salt, iv := make([]byte, 16), make([]byte, aes.BlockSize)
	rand.Read(salt)
	rand.Read(iv)
	key := must(pbkdf2.Key(sha256.New, "", salt, 2048, 32))
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	plain = append(plain, bytes.Repeat([]byte{byte(pad)}, pad)...)
	cipher.NewCBCEncrypter(must(aes.NewCipher(key)), iv).CryptBlocks(plain, plain)
	kdf := tPBKDF2Params{Salt: asn1.RawValue{FullBytes: mustMarshal(t, salt)}, Iterations: big.NewInt(2048),
		PRF: pkix.AlgorithmIdentifier{Algorithm: tOIDHMACSHA256, Parameters: asn1.NullRawValue}}
	scheme := tPBES2Params{
		KDF:    pkix.AlgorithmIdentifier{Algorithm: tOIDPBKDF2, Parameters: asn1.RawValue{FullBytes: mustMarshal(t, kdf)}},
		Scheme: pkix.AlgorithmIdentifier{Algorithm: tOIDAES256CBC, Parameters: asn1.RawValue{FullBytes: mustMarshal(t, iv)}},
	}
	var ed tEncryptedData
	ed.Info.ContentType = tOIDData
	ed.Info.Algorithm = pkix.AlgorithmIdentifier{Algorithm: tOIDPBES2, Parameters: asn1.RawValue{FullBytes: mustMarshal(t, scheme)}}
	ed.Info.Content = plain
	p := &pfxParts{pfx: tPFX{Version: 3, AuthSafe: tContentInfo{ContentType: tOIDData}}}
	p.safes = []tContentInfo{{ContentType: tOIDEncryptedData, Content: explicit0(mustMarshal(t, ed))}}
	return p.join(t)
}

// parseQuickly runs ParseImport and fails the test if it has not answered within a second
// (a refused PFX is refused before any key is derived, in well under a millisecond).
func parseQuickly(t *testing.T, der []byte, password string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, _, _, err := certs.ParseImport(base64.StdEncoding.EncodeToString(der), password, "")
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Second):
		t.Fatal("ParseImport still runs after a second: the PFX's key derivations were not bounded before they started")
		return nil
	}
}

// TestParseImportBoundsPFXIterations: a PFX whose MAC, encrypted safe or private key asks
// for more key-derivation iterations than MaxPFXIterations, or for more than four times
// that in all, is refused before any key is derived; a PFX at the bound imports.
func TestParseImportBoundsPFXIterations(t *testing.T) {
	chain := testChain(t, ecKey())
	made := func(enc *pkcs12.Encoder) []byte { return must(enc.Encode(ecKey(), chain[0], chain[1:], "pw")) }
	hundredMillion := big.NewInt(100_000_000)
	huge := new(big.Int).Lsh(big.NewInt(1), 70)

	for _, tc := range []struct {
		name     string
		der      func(t *testing.T) []byte
		password string
		want     []string
	}{
		{"mac", func(t *testing.T) []byte {
			p := splitPFX(t, made(pkcs12.LegacyDES))
			p.pfx.MacData.Iterations = hundredMillion
			return p.join(t)
		}, "pw", []string{"100000000 key-derivation iterations for its MAC", "at most 600000"}},
		{"mac-2^31-1", func(t *testing.T) []byte {
			p := splitPFX(t, made(pkcs12.Modern2023))
			p.pfx.MacData.Iterations = big.NewInt(1<<31 - 1)
			return p.join(t)
		}, "pw", []string{"2147483647 key-derivation iterations for its MAC"}},
		{"mac-too-large-for-an-int", func(t *testing.T) []byte {
			p := splitPFX(t, made(pkcs12.Modern2023))
			p.pfx.MacData.Iterations = huge
			return p.join(t)
		}, "pw", []string{"more than 9223372036854775807 key-derivation iterations for its MAC"}},
		{"pbmac1", func(t *testing.T) []byte {
			p := splitPFX(t, made(pkcs12.Modern2026))
			setCount(t, &p.pfx.MacData.Mac.Algorithm, hundredMillion)
			return p.join(t)
		}, "pw", []string{"100000000 key-derivation iterations for its MAC"}},
		{"encrypted-safe-pkcs12-pbe", func(t *testing.T) []byte {
			p := splitPFX(t, made(pkcs12.LegacyRC2))
			p.editEncrypted(t, func(a *pkix.AlgorithmIdentifier) { setCount(t, a, hundredMillion) })
			return p.join(t)
		}, "pw", []string{"100000000 key-derivation iterations for its encrypted contents"}},
		{"encrypted-safe-pbes2", func(t *testing.T) []byte {
			p := splitPFX(t, made(pkcs12.Modern2023))
			p.editEncrypted(t, func(a *pkix.AlgorithmIdentifier) { setCount(t, a, hundredMillion) })
			return p.join(t)
		}, "pw", []string{"100000000 key-derivation iterations for its encrypted contents"}},
		{"key-pkcs12-pbe", func(t *testing.T) []byte {
			p := splitPFX(t, made(pkcs12.LegacyDES))
			p.editBags(t, func(bags []tSafeBag) []tSafeBag { return []tSafeBag{keyCount(t, bags[0], hundredMillion)} })
			return p.join(t)
		}, "pw", []string{"100000000 key-derivation iterations for its private key"}},
		{"key-pbes2", func(t *testing.T) []byte {
			p := splitPFX(t, made(pkcs12.Modern2023))
			p.editBags(t, func(bags []tSafeBag) []tSafeBag { return []tSafeBag{keyCount(t, bags[0], huge)} })
			return p.join(t)
		}, "pw", []string{"more than 9223372036854775807 key-derivation iterations for its private key"}},
		{"key-inside-the-encrypted-safe", func(t *testing.T) []byte {
			return hiddenKeyPFX(t, hundredMillion)
		}, "", []string{"100000000 key-derivation iterations for its private key"}},
		{"many-keys-under-the-bound", func(t *testing.T) []byte {
			p := splitPFX(t, made(pkcs12.Modern2023))
			p.editBags(t, func(bags []tSafeBag) []tSafeBag {
				k := keyCount(t, bags[0], big.NewInt(certs.MaxPFXIterations))
				return []tSafeBag{k, k, k, k, k}
			})
			return p.join(t)
		}, "pw", []string{"more than 2400000 key-derivation iterations in all"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := parseQuickly(t, tc.der(t), tc.password)
			wantInvalid(t, err, tc.want...)
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Errorf("refused after %v; want well under a second", d)
			}
		})
	}

	t.Run("ok/key-inside-the-encrypted-safe", func(t *testing.T) {
		key, got, _, err := certs.ParseImport(base64.StdEncoding.EncodeToString(hiddenKeyPFX(t, nil)), "", "")
		if err != nil {
			t.Fatal(err)
		}
		if !equalKeys(key.Public(), ecKey().Public()) || len(got) != 1 || !equalKeys(got[0].PublicKey, ecKey().Public()) {
			t.Error("a different key or certificate came out")
		}
	})
	t.Run("ok/at-the-bound", func(t *testing.T) {
		der := must(pkcs12.Modern2023.WithIterations(certs.MaxPFXIterations).Encode(ecKey(), chain[0], chain[1:], "pw"))
		if _, _, _, err := certs.ParseImport(base64.StdEncoding.EncodeToString(der), "pw", ""); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("fail/wrong-password-seen-by-the-check", func(t *testing.T) {
		// The check opens the certificate safe before go-pkcs12 looks at the MAC: a wrong
		// password is still called a wrong password.
		for _, enc := range []*pkcs12.Encoder{pkcs12.LegacyRC2, pkcs12.LegacyDES, pkcs12.Modern2023} {
			_, _, _, err := certs.ParseImport(base64.StdEncoding.EncodeToString(made(enc)), "not-it", "")
			wantInvalid(t, err, "the PFX password is wrong")
		}
	})
}

// TestParseImportOpenSSLPFX: PFX files written by the openssl command line (when installed)
// import, with the defaults of OpenSSL 3 and, when its legacy provider is there, with the
// RC2 and 3DES of OpenSSL 1.x.
func TestParseImportOpenSSLPFX(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	chain := testChain(t, rsaKey())
	keyFile, certFile := filepath.Join(dir, "key.pem"), filepath.Join(dir, "chain.pem")
	if err := os.WriteFile(keyFile, pemKey(t, rsaKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, []byte(certsPEM(chain...)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		args   []string
		legacy bool // needs the legacy provider
	}{
		{"openssl3-defaults", nil, false},
		{"openssl3-600000-iterations", []string{"-iter", "600000"}, false},
		{"legacy-rc2-40", []string{"-legacy"}, true},
		{"legacy-3des", []string{"-legacy", "-certpbe", "PBE-SHA1-3DES"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".pfx")
			args := append([]string{"pkcs12", "-export", "-inkey", keyFile, "-in", certFile, "-passout", "pass:s3cret", "-out", out}, tc.args...)
			if msg, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
				if tc.legacy {
					t.Skipf("openssl without the legacy provider: %v\n%s", err, msg)
				}
				t.Fatalf("openssl: %v\n%s", err, msg)
			}
			der := must(os.ReadFile(out))
			key, got, _, err := certs.ParseImport(base64.StdEncoding.EncodeToString(der), "s3cret", "application/x-pkcs12")
			if err != nil {
				t.Fatal(err)
			}
			if !equalKeys(key.Public(), rsaKey().Public()) {
				t.Error("another key came out")
			}
			sameChain(t, chain, got)
		})
	}
}

func pemKey(t *testing.T, key any) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: must(x509.MarshalPKCS8PrivateKey(key))})
}
