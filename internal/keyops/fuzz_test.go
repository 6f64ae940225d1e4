package keyops_test

import (
	"errors"
	"testing"

	"github.com/coffer/coffer/internal/keyops"
)

// FuzzImport feeds arbitrary members to Import: it must return a key or an ErrInvalid error,
// never panic, and a key it returns must round-trip through Private().
func FuzzImport(f *testing.F) {
	rsaJ := testKey(f, "rsa").Private()
	ecJ := testKey(f, "ec384").Private()
	f.Add("RSA", "", rsaJ.N, rsaJ.E, rsaJ.D, rsaJ.P, rsaJ.Q, rsaJ.DP, rsaJ.DQ, rsaJ.QI, []byte(nil), []byte(nil), []byte(nil))
	f.Add("RSA-HSM", "", rsaJ.N, rsaJ.E, rsaJ.D, rsaJ.P, rsaJ.Q, []byte(nil), []byte(nil), []byte(nil), []byte(nil), []byte(nil), []byte(nil))
	f.Add("EC", "P-384", []byte(nil), []byte(nil), ecJ.D, []byte(nil), []byte(nil), []byte(nil), []byte(nil), []byte(nil), ecJ.X, ecJ.Y, []byte(nil))
	f.Add("EC", "P-256", []byte(nil), []byte(nil), []byte{1}, []byte(nil), []byte(nil), []byte(nil), []byte(nil), []byte(nil), []byte{1}, []byte{2}, []byte(nil))
	f.Add("oct", "", []byte(nil), []byte(nil), []byte(nil), []byte(nil), []byte(nil), []byte(nil), []byte(nil), []byte(nil), []byte(nil), []byte(nil), make([]byte, 32))
	f.Add("RSA", "", []byte{0xff, 0xff}, []byte{3}, []byte{1}, []byte{1}, []byte{1}, []byte(nil), []byte(nil), []byte(nil), []byte(nil), []byte(nil), []byte(nil))
	f.Fuzz(func(t *testing.T, kty, crv string, n, e, d, p, q, dp, dq, qi, x, y, k []byte) {
		j := keyops.JWK{Kty: kty, Crv: crv, N: n, E: e, D: d, P: p, Q: q, DP: dp, DQ: dq, QI: qi, X: x, Y: y, K: k}
		key, err := keyops.Import(j)
		if err != nil {
			if !errors.Is(err, keyops.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		again, err := keyops.Import(key.Private())
		if err != nil {
			t.Fatalf("re-import of Private(): %v", err)
		}
		if !jwkEqual(again.Private(), key.Private()) {
			t.Fatal("Private() does not round-trip")
		}
	})
}

// FuzzDecrypt feeds arbitrary ciphertexts, ivs, aad and tags to Decrypt and UnwrapKey with
// every algorithm: an error or a result, never a panic, and only ErrInvalid errors.
func FuzzDecrypt(f *testing.F) {
	oct := testKey(f, "oct256")
	ct, iv, tag, _ := oct.Encrypt("A256GCM", []byte("seed"), nil, []byte("aad"))
	f.Add(uint8(0), ct, iv, []byte("aad"), tag)
	ct, iv, _, _ = oct.Encrypt("A256CBCPAD", []byte("seed"), nil, nil)
	f.Add(uint8(2), ct, iv, []byte(nil), []byte(nil))
	w, _ := oct.WrapKey("A256KW", make([]byte, 32))
	f.Add(uint8(3), w, []byte(nil), []byte(nil), []byte(nil))
	w, _ = oct.WrapKey("CKM_AES_KEY_WRAP_PAD", []byte("seed"))
	f.Add(uint8(5), w, []byte(nil), []byte(nil), []byte(nil))
	ct, _, _, _ = testKey(f, "rsa").Encrypt("RSA-OAEP", []byte("seed"), nil, nil)
	f.Add(uint8(6), ct, []byte(nil), []byte(nil), []byte(nil))
	f.Add(uint8(1), make([]byte, 16), make([]byte, 16), []byte(nil), []byte(nil))
	type target struct {
		key, alg string
		wrap     bool
	}
	targets := []target{
		{"oct256", "A256GCM", false}, {"oct256", "A256CBC", false}, {"oct256", "A256CBCPAD", false},
		{"oct256", "A256KW", true}, {"oct256", "CKM_AES_KEY_WRAP", true}, {"oct256", "CKM_AES_KEY_WRAP_PAD", true},
		{"rsa", "RSA-OAEP", false}, {"rsa", "RSA-OAEP-256", true}, {"rsa", "RSA1_5", false},
		{"ec256", "A256GCM", false},
	}
	f.Fuzz(func(t *testing.T, which uint8, ct, iv, aad, tag []byte) {
		tg := targets[int(which)%len(targets)]
		k := testKey(t, tg.key)
		var err error
		if tg.wrap {
			_, err = k.UnwrapKey(tg.alg, ct)
		} else {
			_, err = k.Decrypt(tg.alg, ct, iv, aad, tag)
		}
		if err != nil && !errors.Is(err, keyops.ErrInvalid) {
			t.Fatalf("%s: error %v does not wrap ErrInvalid", tg.alg, err)
		}
	})
}
