package keyops_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/coffer/coffer/internal/keyops"
)

// keys are generated once per test binary: RSA generation is slow.
var (
	keysOnce sync.Once
	keySet   map[string]*keyops.Key
)

// testKey returns a shared key by name: rsa (2048), ec256, ec384, ec521, oct128, oct192, oct256.
func testKey(t testing.TB, name string) *keyops.Key {
	t.Helper()
	keysOnce.Do(func() {
		keySet = map[string]*keyops.Key{}
		for _, g := range []struct {
			name, kty string
			size      int
			crv       string
		}{
			{"rsa", "RSA", 2048, ""},
			{"ec256", "EC", 0, "P-256"},
			{"ec384", "EC-HSM", 0, "P-384"},
			{"ec521", "EC", 0, "P-521"},
			{"oct128", "oct", 128, ""},
			{"oct192", "oct-HSM", 192, ""},
			{"oct256", "oct", 256, ""},
		} {
			k, err := keyops.Generate(g.kty, g.size, 0, g.crv)
			if err != nil {
				panic(g.name + ": " + err.Error())
			}
			keySet[g.name] = k
		}
	})
	k := keySet[name]
	if k == nil {
		t.Fatalf("no test key %q", name)
	}
	return k
}

func digest(n int) []byte {
	d := make([]byte, n)
	for i := range d {
		d[i] = byte(i*7 + 1)
	}
	return d
}

// wantInvalid fails unless err wraps ErrInvalid and its text contains want.
func wantInvalid(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want ErrInvalid containing %q", want)
	}
	if !errors.Is(err, keyops.ErrInvalid) {
		t.Fatalf("error %q does not wrap ErrInvalid", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not contain %q", err, want)
	}
}

func TestGenerate(t *testing.T) {
	tests := []struct {
		name      string
		kty       string
		size, exp int
		crv       string
		wantErr   string
		wantSize  int
		wantCurve string
		wantOps   []string
	}{
		{name: "ok/rsa-default", kty: "RSA", wantSize: 2048, wantOps: []string{"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"}},
		{name: "ok/rsa-hsm-65537", kty: "RSA-HSM", size: 2048, exp: 65537, wantSize: 2048},
		{name: "ok/rsa-3072", kty: "RSA", size: 3072, wantSize: 3072},
		{name: "ok/rsa-4096", kty: "RSA", size: 4096, wantSize: 4096},
		{name: "ok/ec-default", kty: "EC", wantSize: 256, wantCurve: "P-256", wantOps: []string{"sign", "verify"}},
		{name: "ok/ec-hsm-p384", kty: "EC-HSM", crv: "P-384", wantSize: 384, wantCurve: "P-384"},
		{name: "ok/ec-p521-size-matches", kty: "EC", crv: "P-521", size: 521, wantSize: 521, wantCurve: "P-521"},
		{name: "ok/oct-default", kty: "oct", wantSize: 256, wantOps: []string{"encrypt", "decrypt", "wrapKey", "unwrapKey"}},
		{name: "ok/oct-hsm-128", kty: "oct-HSM", size: 128, wantSize: 128},
		{name: "ok/oct-192", kty: "oct", size: 192, wantSize: 192},
		{name: "fail/unknown-kty", kty: "DSA", wantErr: "use one of RSA, RSA-HSM, EC, EC-HSM, oct, oct-HSM"},
		{name: "fail/kty-case", kty: "rsa", wantErr: `key type "rsa" is not valid`},
		{name: "fail/empty-kty", kty: "", wantErr: "is not valid"},
		{name: "fail/rsa-1024", kty: "RSA", size: 1024, wantErr: "RSA key size 1024 is not valid; use 2048, 3072 or 4096"},
		{name: "fail/rsa-exp-3", kty: "RSA", exp: 3, wantErr: "public exponent 3 is not supported; use 65537"},
		{name: "fail/rsa-crv", kty: "RSA", crv: "P-256", wantErr: "crv applies to EC keys only"},
		{name: "fail/ec-p256k", kty: "EC", crv: "P-256K", wantErr: "P-256K is not supported by this server"},
		{name: "fail/ec-unknown-curve", kty: "EC", crv: "P-224", wantErr: `curve "P-224" is not valid; use P-256, P-384, P-521`},
		{name: "fail/ec-size-mismatch", kty: "EC", crv: "P-256", size: 384, wantErr: "key size 384 does not match curve P-256"},
		{name: "fail/ec-exponent", kty: "EC", exp: 65537, wantErr: "public_exponent applies to RSA keys only"},
		{name: "fail/oct-size", kty: "oct", size: 512, wantErr: "oct key size 512 is not valid; use 128, 192 or 256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && tc.size == 4096 {
				t.Skip("slow in -short")
			}
			k, err := keyops.Generate(tc.kty, tc.size, tc.exp, tc.crv)
			if tc.wantErr != "" {
				wantInvalid(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.Kty() != tc.kty || k.Size() != tc.wantSize || k.Curve() != tc.wantCurve {
				t.Errorf("got kty %s size %d curve %q, want %s %d %q", k.Kty(), k.Size(), k.Curve(), tc.kty, tc.wantSize, tc.wantCurve)
			}
			if tc.wantOps != nil && strings.Join(k.DefaultOps(), ",") != strings.Join(tc.wantOps, ",") {
				t.Errorf("DefaultOps = %v, want %v", k.DefaultOps(), tc.wantOps)
			}
			// Every generated key works: a sign or encrypt round trip.
			switch tc.kty {
			case "RSA", "RSA-HSM":
				sig, err := k.Sign("PS256", digest(32))
				if err != nil {
					t.Fatal(err)
				}
				if ok, err := k.Verify("PS256", digest(32), sig); !ok || err != nil {
					t.Fatalf("verify = %v, %v", ok, err)
				}
			}
		})
	}
}

// TestPublicJWK proves the public encoding: the members rebuild standard library public keys
// that verify the key's signatures and encrypt to it, and no private member is present.
func TestPublicJWK(t *testing.T) {
	t.Run("ok/rsa", func(t *testing.T) {
		k := testKey(t, "rsa")
		j := k.Public()
		if !bytes.Equal(j.E, []byte{1, 0, 1}) {
			t.Fatalf("e = %x, want 010001", j.E)
		}
		if len(j.N) != 256 || j.N[0] == 0 {
			t.Fatalf("n is %d bytes, first %x: want 256 bytes, no leading zero", len(j.N), j.N[0])
		}
		if j.Kty != "RSA" || j.D != nil || j.P != nil || j.Q != nil || j.DP != nil || j.DQ != nil || j.QI != nil || j.K != nil {
			t.Fatalf("public JWK has private members or wrong kty: %+v", j.Kty)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(j.N), E: int(new(big.Int).SetBytes(j.E).Int64())}
		for _, alg := range []struct {
			name string
			h    crypto.Hash
			pss  bool
		}{{"RS256", crypto.SHA256, false}, {"RS384", crypto.SHA384, false}, {"RS512", crypto.SHA512, false},
			{"PS256", crypto.SHA256, true}, {"PS384", crypto.SHA384, true}, {"PS512", crypto.SHA512, true}} {
			d := digest(alg.h.Size())
			sig, err := k.Sign(alg.name, d)
			if err != nil {
				t.Fatal(err)
			}
			if alg.pss {
				err = rsa.VerifyPSS(pub, alg.h, d, sig, &rsa.PSSOptions{SaltLength: alg.h.Size()})
			} else {
				err = rsa.VerifyPKCS1v15(pub, alg.h, d, sig)
			}
			if err != nil {
				t.Errorf("%s: local verification with the public JWK: %v", alg.name, err)
			}
		}
		// Encrypt locally with the public JWK (as SDKs do), decrypt with the key.
		msg := []byte("local encryption")
		ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, msg, nil)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := k.Decrypt("RSA-OAEP-256", ct, nil, nil, nil)
		if err != nil || !bytes.Equal(pt, msg) {
			t.Fatalf("decrypt of a locally encrypted value = %q, %v", pt, err)
		}
	})
	for _, tc := range []struct {
		key, alg string
		curve    elliptic.Curve
		size     int
		h        crypto.Hash
	}{
		{"ec256", "ES256", elliptic.P256(), 32, crypto.SHA256},
		{"ec384", "ES384", elliptic.P384(), 48, crypto.SHA384},
		{"ec521", "ES512", elliptic.P521(), 66, crypto.SHA512},
	} {
		t.Run("ok/"+tc.key, func(t *testing.T) {
			k := testKey(t, tc.key)
			j := k.Public()
			if len(j.X) != tc.size || len(j.Y) != tc.size {
				t.Fatalf("x, y are %d, %d bytes, want %d", len(j.X), len(j.Y), tc.size)
			}
			if j.Crv != k.Curve() || j.D != nil {
				t.Fatalf("crv %q, d present %v", j.Crv, j.D != nil)
			}
			pub, err := ecdsa.ParseUncompressedPublicKey(tc.curve, append(append([]byte{4}, j.X...), j.Y...))
			if err != nil {
				t.Fatal(err)
			}
			d := digest(tc.h.Size())
			sig, err := k.Sign(tc.alg, d)
			if err != nil {
				t.Fatal(err)
			}
			if len(sig) != 2*tc.size {
				t.Fatalf("signature is %d bytes, want %d (raw r||s)", len(sig), 2*tc.size)
			}
			r := new(big.Int).SetBytes(sig[:tc.size])
			s := new(big.Int).SetBytes(sig[tc.size:])
			if !ecdsa.Verify(pub, d, r, s) {
				t.Fatalf("local verification with the public JWK failed")
			}
		})
	}
	t.Run("ok/oct-kty-only", func(t *testing.T) {
		j := testKey(t, "oct192").Public()
		if !jwkEqual(j, keyops.JWK{Kty: "oct-HSM"}) {
			t.Fatalf("oct public JWK = %+v, want kty only", j)
		}
	})
}

func TestValidOps(t *testing.T) {
	if err := keyops.ValidOps([]string{"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey", "import", "export"}); err != nil {
		t.Fatal(err)
	}
	if err := keyops.ValidOps(nil); err != nil {
		t.Fatal(err)
	}
	wantInvalid(t, keyops.ValidOps([]string{"sign", "wrapkey"}), `key operation "wrapkey" is not valid (did you mean "wrapKey"?`)
	wantInvalid(t, keyops.ValidOps([]string{"delete"}), "use encrypt, decrypt, sign, verify, wrapKey, unwrapKey, import, export")

	for in, want := range map[string]string{"wrapkey": "wrapKey", "UNWRAPKEY": "unwrapKey", "sign": "sign", "verify": "verify", "encrypt": "encrypt", "Decrypt": "decrypt", "release": ""} {
		if got := keyops.OpFor(in); got != want {
			t.Errorf("OpFor(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestInvalidKinds: a client error matches the kind it was made with and no other, and
// says what it was given.
func TestInvalidKinds(t *testing.T) {
	other := errors.New("other: invalid request")
	err := keyops.Invalid(other, "bad %s", keyops.Quote("a-very-long-name", 6))
	if !errors.Is(err, other) || errors.Is(err, keyops.ErrInvalid) || err.Error() != `bad "a-very..."` {
		t.Fatalf("Invalid(other) = %q; Is(other) %v, Is(ErrInvalid) %v", err, errors.Is(err, other), errors.Is(err, keyops.ErrInvalid))
	}
	if q := keyops.Quote("short", 6); q != `"short"` {
		t.Fatalf("Quote = %s", q)
	}
}
