package keyops_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"math/big"
	"testing"

	"github.com/coffer/coffer/internal/keyops"
)

// TestImportRoundTrip imports Private() of each key and checks the imported key is the same key:
// same public members, same private members, and each verifies or decrypts the other's output.
func TestImportRoundTrip(t *testing.T) {
	for _, name := range []string{"rsa", "ec256", "ec384", "ec521", "oct128", "oct192", "oct256"} {
		t.Run("ok/"+name, func(t *testing.T) {
			orig := testKey(t, name)
			imp, err := keyops.Import(orig.Private())
			if err != nil {
				t.Fatal(err)
			}
			if imp.Kty() != orig.Kty() || imp.Size() != orig.Size() || imp.Curve() != orig.Curve() {
				t.Fatalf("imported %s/%d/%s, want %s/%d/%s", imp.Kty(), imp.Size(), imp.Curve(), orig.Kty(), orig.Size(), orig.Curve())
			}
			if !jwkEqual(imp.Private(), orig.Private()) || !jwkEqual(imp.Public(), orig.Public()) {
				t.Fatal("imported key's JWK differs from the original's")
			}
			switch {
			case name == "rsa" || name[:2] == "ec":
				alg := map[string]string{"rsa": "PS256", "ec256": "ES256", "ec384": "ES384", "ec521": "ES512"}[name]
				d := digest(map[string]int{"PS256": 32, "ES256": 32, "ES384": 48, "ES512": 64}[alg])
				sig, err := imp.Sign(alg, d)
				if err != nil {
					t.Fatal(err)
				}
				if ok, err := orig.Verify(alg, d, sig); !ok || err != nil {
					t.Fatalf("original does not verify the imported key's signature: %v, %v", ok, err)
				}
			default:
				w, err := imp.WrapKey("CKM_AES_KEY_WRAP_PAD", []byte("data key"))
				if err != nil {
					t.Fatal(err)
				}
				if got, err := orig.UnwrapKey("CKM_AES_KEY_WRAP_PAD", w); err != nil || string(got) != "data key" {
					t.Fatalf("original unwrap = %q, %v", got, err)
				}
			}
		})
	}
	t.Run("ok/rsa-without-crt", func(t *testing.T) {
		j := testKey(t, "rsa").Private()
		j.DP, j.DQ, j.QI = nil, nil, nil
		k, err := keyops.Import(j)
		if err != nil {
			t.Fatal(err)
		}
		if !jwkEqual(k.Private(), testKey(t, "rsa").Private()) {
			t.Fatal("CRT values were not recomputed")
		}
	})
	t.Run("ok/hsm-kty-kept", func(t *testing.T) {
		j := testKey(t, "ec256").Private()
		j.Kty = "EC-HSM"
		k, err := keyops.Import(j)
		if err != nil || k.Kty() != "EC-HSM" || k.Public().Kty != "EC-HSM" {
			t.Fatalf("kty %q, err %v", k.Kty(), err)
		}
	})
	t.Run("ok/ec-short-coordinates", func(t *testing.T) {
		// Some encoders drop leading zeros; find a key with a short coordinate or scalar.
		for i := 0; i < 2000; i++ {
			k, _ := keyops.Generate("EC", 0, 0, "P-256")
			j := k.Private()
			if j.X[0] != 0 && j.Y[0] != 0 && j.D[0] != 0 {
				continue
			}
			j.X, j.Y, j.D = trim(j.X), trim(j.Y), trim(j.D)
			imp, err := keyops.Import(j)
			if err != nil {
				t.Fatal(err)
			}
			if !jwkEqual(imp.Private(), k.Private()) {
				t.Fatal("short members did not import as the same key")
			}
			return
		}
		t.Skip("no key with a leading zero byte in 2000 tries")
	})
}

func trim(b []byte) []byte { return bytes.TrimLeft(b, "\x00") }

func jwkEqual(a, b keyops.JWK) bool {
	eq := func(x, y []byte) bool { return bytes.Equal(x, y) }
	return a.Kty == b.Kty && a.Crv == b.Crv && eq(a.N, b.N) && eq(a.E, b.E) && eq(a.D, b.D) &&
		eq(a.P, b.P) && eq(a.Q, b.Q) && eq(a.DP, b.DP) && eq(a.DQ, b.DQ) && eq(a.QI, b.QI) &&
		eq(a.X, b.X) && eq(a.Y, b.Y) && eq(a.K, b.K)
}

func TestImportRefusals(t *testing.T) {
	rsaJ := func(edit func(*keyops.JWK)) keyops.JWK {
		j := testKey(t, "rsa").Private()
		edit(&j)
		return j
	}
	ecJ := func(edit func(*keyops.JWK)) keyops.JWK {
		j := testKey(t, "ec256").Private()
		edit(&j)
		return j
	}
	other256 := testKey(t, "ec256").Private() // replaced below by a different key's d
	if k, err := keyops.Generate("EC", 0, 0, "P-256"); err == nil {
		other256 = k.Private()
	}
	inc := func(b []byte) []byte { // b+2 as a big-endian integer, same length
		v := new(big.Int).SetBytes(b)
		v.Add(v, big.NewInt(2))
		return v.FillBytes(make([]byte, len(b)))
	}
	tests := []struct {
		name string
		jwk  keyops.JWK
		want string
	}{
		{"fail/no-kty", keyops.JWK{K: make([]byte, 32)}, "the key has no kty"},
		{"fail/unknown-kty", keyops.JWK{Kty: "OKP"}, `key type "OKP" is not valid; use one of RSA, RSA-HSM, EC, EC-HSM, oct, oct-HSM`},
		// RSA
		{"fail/rsa-missing-d", rsaJ(func(j *keyops.JWK) { j.D = nil }), "an RSA key import needs the private members d, p and q"},
		{"fail/rsa-missing-q", rsaJ(func(j *keyops.JWK) { j.Q = nil }), "needs the private members d, p and q"},
		{"fail/rsa-public-only", testKey(t, "rsa").Public(), "needs the private members d, p and q"},
		{"fail/rsa-missing-n", rsaJ(func(j *keyops.JWK) { j.N = nil }), "an RSA key needs n and e"},
		{"fail/rsa-wrong-d", rsaJ(func(j *keyops.JWK) { j.D = inc(j.D) }), "the RSA private key is inconsistent"},
		{"fail/rsa-wrong-p", rsaJ(func(j *keyops.JWK) { j.P = inc(j.P) }), "the RSA private key is inconsistent"},
		{"fail/rsa-wrong-e", rsaJ(func(j *keyops.JWK) { j.E = []byte{1, 0, 3} }), "the RSA private key is inconsistent"},
		{"fail/rsa-wrong-dp", rsaJ(func(j *keyops.JWK) { j.DP = inc(j.DP) }), "dp, dq or qi does not match d, p and q"},
		{"fail/rsa-wrong-qi", rsaJ(func(j *keyops.JWK) { j.QI = inc(j.QI) }), "dp, dq or qi does not match"},
		{"fail/rsa-partial-crt", rsaJ(func(j *keyops.JWK) { j.DQ = nil }), "dp, dq and qi go together"},
		{"fail/rsa-even-e", rsaJ(func(j *keyops.JWK) { j.E = []byte{1, 0, 0} }), "e must be odd, at least 3"},
		{"fail/rsa-huge-e", rsaJ(func(j *keyops.JWK) { j.E = []byte{1, 0, 0, 0, 1} }), "e is too large"},
		{"fail/rsa-1024", keyops.JWK{Kty: "RSA", N: append([]byte{0x80}, make([]byte, 127)...), E: []byte{1, 0, 1}, D: []byte{1}, P: []byte{1}, Q: []byte{1}},
			"RSA modulus n of 1024 bits is not supported; use 2048, 3072 or 4096 bits"},
		{"fail/rsa-long-d", rsaJ(func(j *keyops.JWK) { j.D = append([]byte{1}, j.N...) }), "RSA member d is longer than the modulus"},
		// EC
		{"fail/ec-missing-d", ecJ(func(j *keyops.JWK) { j.D = nil }), "an EC key import needs the private member d"},
		{"fail/ec-public-only", testKey(t, "ec384").Public(), "needs the private member d"},
		{"fail/ec-missing-crv", ecJ(func(j *keyops.JWK) { j.Crv = "" }), "an EC key needs crv; use P-256, P-384, P-521"},
		{"fail/ec-p256k", ecJ(func(j *keyops.JWK) { j.Crv = "P-256K" }), "P-256K is not supported by this server"},
		{"fail/ec-missing-y", ecJ(func(j *keyops.JWK) { j.Y = nil }), "an EC key needs x and y"},
		{"fail/ec-off-curve", ecJ(func(j *keyops.JWK) { j.Y = inc(j.Y) }), "the point (x, y) is not on curve P-256"},
		{"fail/ec-wrong-curve", ecJ(func(j *keyops.JWK) { j.Crv = "P-384" }), "not on curve P-384"},
		{"fail/ec-mismatched-d", ecJ(func(j *keyops.JWK) { j.D = other256.D }), "d does not match the point (x, y)"},
		{"fail/ec-d-zero", ecJ(func(j *keyops.JWK) { j.D = make([]byte, 32) }), "d is not valid for P-256"},
		{"fail/ec-d-too-large", ecJ(func(j *keyops.JWK) { j.D = bytes.Repeat([]byte{0xff}, 32) }), "d is not valid for P-256"},
		{"fail/ec-x-too-long", ecJ(func(j *keyops.JWK) { j.X = append([]byte{1}, j.X...) }), "EC members x, y and d for P-256 must be 32 bytes"},
		// oct
		{"fail/oct-missing-k", keyops.JWK{Kty: "oct"}, "an oct key import needs k"},
		{"fail/oct-k-20", keyops.JWK{Kty: "oct-HSM", K: make([]byte, 20)}, "oct key k must be 16, 24 or 32 bytes (AES-128, -192, -256), got 20"},
		{"fail/oct-k-64", keyops.JWK{Kty: "oct", K: make([]byte, 64)}, "got 64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := keyops.Import(tc.jwk)
			if k != nil {
				t.Fatal("got a key")
			}
			wantInvalid(t, err, tc.want)
			// No member of the key shows in the message.
			for _, m := range [][]byte{tc.jwk.D, tc.jwk.P, tc.jwk.Q, tc.jwk.K} {
				if len(m) >= 8 && bytes.Contains([]byte(err.Error()), []byte(hex.EncodeToString(m[:8]))) {
					t.Fatal("message contains key material")
				}
			}
		})
	}
}

// TestImportForeignEC imports a key made by crypto/ecdsa directly, as a client would send it.
func TestImportForeignEC(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pt, _ := priv.PublicKey.Bytes()
	d, _ := priv.Bytes()
	k, err := keyops.Import(keyops.JWK{Kty: "EC", Crv: "P-384", X: pt[1:49], Y: pt[49:], D: d})
	if err != nil {
		t.Fatal(err)
	}
	dg := digest(48)
	sig, err := k.Sign("ES384", dg)
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.Verify(&priv.PublicKey, dg, new(big.Int).SetBytes(sig[:48]), new(big.Int).SetBytes(sig[48:])) {
		t.Fatal("signature of the imported key does not verify with the original public key")
	}
}
