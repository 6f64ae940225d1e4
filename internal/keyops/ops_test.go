package keyops_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/coffer/coffer/internal/keyops"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, tc := range []struct{ key, alg string }{
		{"rsa", "RS256"}, {"rsa", "RS384"}, {"rsa", "RS512"},
		{"rsa", "PS256"}, {"rsa", "PS384"}, {"rsa", "PS512"},
		{"ec256", "ES256"}, {"ec384", "ES384"}, {"ec521", "ES512"},
	} {
		t.Run("ok/"+tc.key+"/"+tc.alg, func(t *testing.T) {
			k := testKey(t, tc.key)
			n := map[string]int{"256": 32, "384": 48, "512": 64}[tc.alg[2:]]
			d := digest(n)
			sig, err := k.Sign(tc.alg, d)
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := k.Verify(tc.alg, d, sig); !ok || err != nil {
				t.Fatalf("Verify = %v, %v; want true", ok, err)
			}
			// A different digest, a flipped bit, a cut signature, an empty one: false, no error.
			other := bytes.Clone(d)
			other[0] ^= 1
			bad := bytes.Clone(sig)
			bad[len(bad)/2] ^= 0x10
			for name, c := range map[string]struct{ d, sig []byte }{
				"other-digest": {other, sig},
				"flipped-bit":  {d, bad},
				"cut":          {d, sig[:len(sig)-1]},
				"empty":        {d, nil},
				"zeros":        {d, make([]byte, len(sig))},
			} {
				if ok, err := k.Verify(tc.alg, c.d, c.sig); ok || err != nil {
					t.Errorf("%s: Verify = %v, %v; want false, nil", name, ok, err)
				}
			}
		})
	}
	t.Run("ok/rsa/pkcs1-sig-is-not-pss", func(t *testing.T) {
		k := testKey(t, "rsa")
		sig, _ := k.Sign("RS256", digest(32))
		if ok, err := k.Verify("PS256", digest(32), sig); ok || err != nil {
			t.Fatalf("Verify = %v, %v; want false, nil", ok, err)
		}
	})
}

func TestEncryptDecryptRoundTrip(t *testing.T) {
	type rt struct {
		key, alg string
		sizes    []int
		aad      []byte
	}
	cases := []rt{
		{"rsa", "RSA-OAEP", []int{0, 1, 32, 214}, nil},
		{"rsa", "RSA-OAEP-256", []int{1, 32, 190}, nil},
		{"rsa", "RSA1_5", []int{1, 32, 245}, nil},
	}
	for _, b := range []string{"128", "192", "256"} {
		key := "oct" + b
		cases = append(cases,
			rt{key, "A" + b + "GCM", []int{0, 1, 16, 1000}, nil},
			rt{key, "A" + b + "GCM", []int{5}, []byte("additional data")},
			rt{key, "A" + b + "CBC", []int{0, 16, 64}, nil},
			rt{key, "A" + b + "CBCPAD", []int{0, 1, 15, 16, 17, 100}, nil},
		)
	}
	for _, tc := range cases {
		for _, n := range tc.sizes {
			t.Run(fmt.Sprintf("ok/%s/%s/%d-bytes/aad-%v", tc.key, tc.alg, n, tc.aad != nil), func(t *testing.T) {
				k := testKey(t, tc.key)
				pt := digest(n)
				ct, iv, tag, err := k.Encrypt(tc.alg, pt, nil, tc.aad)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case tc.key == "rsa":
					if len(ct) != 256 || iv != nil || tag != nil {
						t.Fatalf("RSA: ct %d bytes, iv %x, tag %x", len(ct), iv, tag)
					}
				case bytes.HasSuffix([]byte(tc.alg), []byte("GCM")):
					if len(iv) != 12 || len(tag) != 16 || len(ct) != n {
						t.Fatalf("GCM: iv %d, tag %d, ct %d bytes", len(iv), len(tag), len(ct))
					}
				default:
					if len(iv) != 16 || tag != nil {
						t.Fatalf("CBC: iv %d bytes, tag %x", len(iv), tag)
					}
				}
				if n >= 8 && bytes.Contains(ct, pt) {
					t.Fatal("ciphertext contains the plaintext")
				}
				got, err := k.Decrypt(tc.alg, ct, iv, tc.aad, tag)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, pt) {
					t.Fatalf("decrypt = %x, want %x", got, pt)
				}
			})
		}
	}
	for _, tc := range []struct {
		name, key, alg, plain string
		ivLen                 int
	}{
		{"ok/gcm-caller-iv", "oct256", "A256GCM", "x", 12},
		{"ok/cbc-caller-iv", "oct128", "A128CBCPAD", "hello", 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := testKey(t, tc.key)
			iv := digest(tc.ivLen)
			ct, ivOut, tag, err := k.Encrypt(tc.alg, []byte(tc.plain), iv, nil)
			if err != nil || !bytes.Equal(ivOut, iv) {
				t.Fatalf("iv out %x, err %v; want the caller's iv", ivOut, err)
			}
			if pt, err := k.Decrypt(tc.alg, ct, iv, nil, tag); err != nil || string(pt) != tc.plain {
				t.Fatalf("decrypt = %q, %v", pt, err)
			}
		})
	}
	t.Run("ok/gcm-fresh-iv-each-time", func(t *testing.T) {
		k := testKey(t, "oct256")
		_, iv1, _, _ := k.Encrypt("A256GCM", []byte("x"), nil, nil)
		_, iv2, _, _ := k.Encrypt("A256GCM", []byte("x"), nil, nil)
		if bytes.Equal(iv1, iv2) {
			t.Fatal("two encryptions used the same iv")
		}
	})
}

func TestDecryptFailures(t *testing.T) {
	oct := testKey(t, "oct256")
	ct, iv, tag, err := oct.Encrypt("A256GCM", []byte("secret"), nil, []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte) []byte { b = bytes.Clone(b); b[0] ^= 1; return b }
	const notDecrypted = "the ciphertext could not be decrypted with this key and algorithm"
	t.Run("fail/gcm-wrong-tag", func(t *testing.T) {
		_, err := oct.Decrypt("A256GCM", ct, iv, []byte("aad"), flip(tag))
		wantInvalid(t, err, notDecrypted)
	})
	t.Run("fail/gcm-wrong-aad", func(t *testing.T) {
		_, err := oct.Decrypt("A256GCM", ct, iv, []byte("AAD"), tag)
		wantInvalid(t, err, notDecrypted)
	})
	t.Run("fail/gcm-wrong-iv", func(t *testing.T) {
		_, err := oct.Decrypt("A256GCM", ct, flip(iv), []byte("aad"), tag)
		wantInvalid(t, err, notDecrypted)
	})
	t.Run("fail/gcm-tampered", func(t *testing.T) {
		_, err := oct.Decrypt("A256GCM", flip(ct), iv, []byte("aad"), tag)
		wantInvalid(t, err, notDecrypted)
	})
	t.Run("fail/gcm-other-key", func(t *testing.T) {
		other, _ := keyops.Generate("oct", 256, 0, "")
		_, err := other.Decrypt("A256GCM", ct, iv, []byte("aad"), tag)
		wantInvalid(t, err, notDecrypted)
	})
	t.Run("fail/cbcpad-bad-padding", func(t *testing.T) {
		// A block ending in 0x00 encrypted without padding is never valid PKCS #7.
		ct, iv, _, err := oct.Encrypt("A256CBC", make([]byte, 16), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = oct.Decrypt("A256CBCPAD", ct, iv, nil, nil)
		wantInvalid(t, err, notDecrypted)
	})
	t.Run("fail/rsa-other-key", func(t *testing.T) {
		other, _ := keyops.Import(testKey(t, "rsa").Private())
		ct, _, _, err := other.Encrypt("RSA-OAEP", []byte("x"), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		ct[10] ^= 0xff
		for _, alg := range []string{"RSA-OAEP", "RSA-OAEP-256", "RSA1_5"} {
			_, err = testKey(t, "rsa").Decrypt(alg, ct, nil, nil, nil)
			wantInvalid(t, err, notDecrypted)
		}
	})
	t.Run("fail/rsa-oaep-hash-mismatch", func(t *testing.T) {
		k := testKey(t, "rsa")
		ct, _, _, _ := k.Encrypt("RSA-OAEP", []byte("x"), nil, nil)
		_, err := k.Decrypt("RSA-OAEP-256", ct, nil, nil, nil)
		wantInvalid(t, err, notDecrypted)
	})
}

func TestWrapUnwrapRoundTrip(t *testing.T) {
	type rt struct {
		key, alg string
		sizes    []int
	}
	cases := []rt{
		{"rsa", "RSA-OAEP", []int{16, 32, 214}},
		{"rsa", "RSA-OAEP-256", []int{16, 32, 190}},
		{"rsa", "RSA1_5", []int{16, 32, 245}},
	}
	for _, b := range []string{"128", "192", "256"} {
		key := "oct" + b
		cases = append(cases,
			rt{key, "A" + b + "KW", []int{16, 24, 32, 64}},
			rt{key, "CKM_AES_KEY_WRAP", []int{16, 40}},
			rt{key, "CKM_AES_KEY_WRAP_PAD", []int{1, 7, 8, 9, 20, 32, 33}},
		)
	}
	for _, tc := range cases {
		for _, n := range tc.sizes {
			t.Run(fmt.Sprintf("ok/%s/%s/%d-bytes", tc.key, tc.alg, n), func(t *testing.T) {
				k := testKey(t, tc.key)
				in := digest(n)
				w, err := k.WrapKey(tc.alg, in)
				if err != nil {
					t.Fatal(err)
				}
				got, err := k.UnwrapKey(tc.alg, w)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, in) {
					t.Fatalf("unwrap = %x, want %x", got, in)
				}
				if tc.key != "rsa" {
					bad := bytes.Clone(w)
					bad[len(bad)-1] ^= 1
					_, err := k.UnwrapKey(tc.alg, bad)
					wantInvalid(t, err, "the wrapped key could not be unwrapped with this key and algorithm")
				}
			})
		}
	}
}

// TestRefusals is the table of requests that do not fit: algorithm × key type × operation,
// sizes and shapes. Each must be ErrInvalid with a message saying what is wrong.
func TestRefusals(t *testing.T) {
	tests := []struct {
		name, key, op, alg string
		in, iv, aad, tag   []byte
		want               string
	}{
		// sign / verify
		{name: "fail/sign/rsa-with-ES256", key: "rsa", op: "sign", alg: "ES256", in: digest(32),
			want: "algorithm ES256 is not valid for an RSA key; use RS256, RS384, RS512, PS256, PS384, PS512"},
		{name: "fail/sign/ec256-with-ES384", key: "ec256", op: "sign", alg: "ES384", in: digest(48),
			want: "algorithm ES384 needs a P-384 key; this key is P-256, use ES256"},
		{name: "fail/sign/ec521-with-ES256", key: "ec521", op: "sign", alg: "ES256", in: digest(32),
			want: "this key is P-521, use ES512"},
		{name: "fail/sign/ec256-with-PS256", key: "ec256", op: "sign", alg: "PS256", in: digest(32),
			want: "algorithm PS256 is not valid for an EC key; use ES256"},
		{name: "fail/sign/ec256-with-ES256K", key: "ec256", op: "sign", alg: "ES256K", in: digest(32),
			want: "P-256K is not supported by this server"},
		{name: "fail/sign/oct-with-RS256", key: "oct256", op: "sign", alg: "RS256", in: digest(32),
			want: "an oct (AES) key cannot sign or verify"},
		{name: "fail/sign/oct-with-HS256", key: "oct256", op: "sign", alg: "HS256", in: digest(32),
			want: "HS256, HS384, HS512 are Managed HSM only"},
		{name: "fail/sign/rsa-with-HS256", key: "rsa", op: "sign", alg: "HS256", in: digest(32),
			want: "algorithm HS256 (HMAC) is available on Managed HSM only"},
		{name: "fail/sign/rsa-with-RSNULL", key: "rsa", op: "sign", alg: "RSNULL", in: digest(32),
			want: "RSNULL is reserved"},
		{name: "fail/sign/unknown-alg", key: "rsa", op: "sign", alg: "rs256", in: digest(32),
			want: `signature algorithm "rs256" is not valid; for an RSA key use RS256`},
		{name: "fail/sign/rsa-digest-20", key: "rsa", op: "sign", alg: "RS256", in: digest(20),
			want: "the digest for RS256 must be 32 bytes (the SHA-256 hash of the message), got 20"},
		{name: "fail/sign/pss-digest-32-for-PS512", key: "rsa", op: "sign", alg: "PS512", in: digest(32),
			want: "the digest for PS512 must be 64 bytes"},
		{name: "fail/sign/ec384-digest-32", key: "ec384", op: "sign", alg: "ES384", in: digest(32),
			want: "the digest for ES384 must be 48 bytes"},
		{name: "fail/sign/empty-digest", key: "ec256", op: "sign", alg: "ES256", in: nil,
			want: "must be 32 bytes (the SHA-256 hash of the message), got 0"},
		{name: "fail/verify/rsa-digest-len", key: "rsa", op: "verify", alg: "PS384", in: digest(32),
			want: "the digest for PS384 must be 48 bytes"},
		{name: "fail/verify/ec-wrong-curve", key: "ec384", op: "verify", alg: "ES512", in: digest(64),
			want: "algorithm ES512 needs a P-521 key; this key is P-384, use ES384"},
		{name: "fail/verify/oct", key: "oct128", op: "verify", alg: "HS256", in: digest(32),
			want: "cannot sign or verify"},
		// encrypt / decrypt
		{name: "fail/encrypt/rsa-oaep256-too-long", key: "rsa", op: "encrypt", alg: "RSA-OAEP-256", in: digest(191),
			want: "the plaintext for RSA-OAEP-256 with a 2048-bit key must be at most 190 bytes, got 191"},
		{name: "fail/encrypt/rsa-oaep-too-long", key: "rsa", op: "encrypt", alg: "RSA-OAEP", in: digest(215),
			want: "must be at most 214 bytes, got 215"},
		{name: "fail/encrypt/rsa1_5-too-long", key: "rsa", op: "encrypt", alg: "RSA1_5", in: digest(246),
			want: "must be at most 245 bytes, got 246"},
		{name: "fail/encrypt/rsa-with-aad", key: "rsa", op: "encrypt", alg: "RSA-OAEP", in: digest(4), aad: []byte("a"),
			want: "iv and aad do not apply to RSA-OAEP"},
		{name: "fail/encrypt/rsa-with-A256GCM", key: "rsa", op: "encrypt", alg: "A256GCM", in: digest(4),
			want: "algorithm A256GCM is not valid for an RSA key; use RSA-OAEP, RSA-OAEP-256, RSA1_5"},
		{name: "fail/encrypt/ec", key: "ec256", op: "encrypt", alg: "RSA-OAEP", in: digest(4),
			want: "an EC key cannot encrypt and decrypt; EC keys only sign and verify"},
		{name: "fail/encrypt/oct-with-RSA-OAEP", key: "oct256", op: "encrypt", alg: "RSA-OAEP", in: digest(4),
			want: "algorithm RSA-OAEP is not valid for an oct (AES) key; use A256GCM, A256CBC, A256CBCPAD"},
		{name: "fail/encrypt/oct128-with-A256GCM", key: "oct128", op: "encrypt", alg: "A256GCM", in: digest(4),
			want: "algorithm A256GCM needs a 256-bit key; this key is 128 bits, use A128GCM, A128CBC, A128CBCPAD"},
		{name: "fail/encrypt/oct-with-A256KW", key: "oct256", op: "encrypt", alg: "A256KW", in: digest(16),
			want: "algorithm A256KW is for wrapKey and unwrapKey; for encrypt and decrypt use A256GCM"},
		{name: "fail/encrypt/gcm-iv-8", key: "oct256", op: "encrypt", alg: "A256GCM", in: digest(4), iv: digest(8),
			want: "the iv for A256GCM must be 12 bytes, got 8"},
		{name: "fail/encrypt/cbc-not-multiple", key: "oct192", op: "encrypt", alg: "A192CBC", in: digest(17),
			want: "the plaintext for A192CBC must be a multiple of 16 bytes, got 17; use A192CBCPAD"},
		{name: "fail/encrypt/cbc-with-aad", key: "oct192", op: "encrypt", alg: "A192CBCPAD", in: digest(17), aad: []byte("a"),
			want: "aad does not apply to A192CBCPAD"},
		{name: "fail/encrypt/cbc-iv-12", key: "oct192", op: "encrypt", alg: "A192CBCPAD", in: digest(17), iv: digest(12),
			want: "the iv for A192CBCPAD must be 16 bytes, got 12"},
		{name: "fail/encrypt/unknown-alg", key: "oct256", op: "encrypt", alg: "A256CTR", in: digest(4),
			want: `algorithm "A256CTR" is not valid for encrypt and decrypt; for an oct (AES) key use A256GCM, A256CBC, A256CBCPAD`},
		{name: "fail/encrypt/empty-alg", key: "rsa", op: "encrypt", alg: "", in: digest(4),
			want: `algorithm "" is not valid`},
		{name: "fail/decrypt/gcm-short-tag", key: "oct256", op: "decrypt", alg: "A256GCM", in: digest(4), iv: digest(12), tag: digest(12),
			want: "the tag for A256GCM must be 16 bytes, got 12"},
		{name: "fail/decrypt/gcm-no-iv", key: "oct256", op: "decrypt", alg: "A256GCM", in: digest(4), tag: digest(16),
			want: "the iv for A256GCM must be 12 bytes, got 0"},
		{name: "fail/decrypt/cbc-no-iv", key: "oct256", op: "decrypt", alg: "A256CBC", in: digest(16),
			want: "the iv for A256CBC must be 16 bytes, got 0"},
		{name: "fail/decrypt/cbc-with-tag", key: "oct256", op: "decrypt", alg: "A256CBC", in: digest(16), iv: digest(16), tag: digest(16),
			want: "aad and tag do not apply to A256CBC"},
		{name: "fail/decrypt/cbc-ragged", key: "oct256", op: "decrypt", alg: "A256CBCPAD", in: digest(20), iv: digest(16),
			want: "must be a non-empty multiple of 16 bytes, got 20"},
		{name: "fail/decrypt/rsa-wrong-length", key: "rsa", op: "decrypt", alg: "RSA-OAEP", in: digest(10),
			want: "the ciphertext for RSA-OAEP with a 2048-bit key must be 256 bytes, got 10"},
		{name: "fail/decrypt/rsa-garbage", key: "rsa", op: "decrypt", alg: "RSA-OAEP-256", in: digest(256),
			want: "the ciphertext could not be decrypted with this key and algorithm"},
		{name: "fail/decrypt/rsa-with-tag", key: "rsa", op: "decrypt", alg: "RSA1_5", in: digest(256), tag: digest(16),
			want: "iv, aad and tag do not apply to RSA1_5"},
		// wrapKey / unwrapKey
		{name: "fail/wrap/oct256-with-A128KW", key: "oct256", op: "wrap", alg: "A128KW", in: digest(16),
			want: "algorithm A128KW needs a 128-bit key; this key is 256 bits, use A256KW, CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD"},
		{name: "fail/wrap/kw-20-bytes", key: "oct256", op: "wrap", alg: "A256KW", in: digest(20),
			want: "the key to wrap with A256KW must be at least 16 bytes and a multiple of 8, got 20; use CKM_AES_KEY_WRAP_PAD"},
		{name: "fail/wrap/kw-8-bytes", key: "oct128", op: "wrap", alg: "CKM_AES_KEY_WRAP", in: digest(8),
			want: "at least 16 bytes and a multiple of 8, got 8"},
		{name: "fail/wrap/kwp-empty", key: "oct128", op: "wrap", alg: "CKM_AES_KEY_WRAP_PAD", in: nil,
			want: "must not be empty"},
		{name: "fail/wrap/oct-with-A256GCM", key: "oct256", op: "wrap", alg: "A256GCM", in: digest(16),
			want: "algorithm A256GCM is for encrypt and decrypt; for wrapKey and unwrapKey use A256KW"},
		{name: "fail/wrap/ec", key: "ec384", op: "wrap", alg: "A256KW", in: digest(16),
			want: "an EC key cannot wrapKey and unwrapKey"},
		{name: "fail/wrap/rsa-with-A256KW", key: "rsa", op: "wrap", alg: "A256KW", in: digest(16),
			want: "algorithm A256KW is not valid for an RSA key; use RSA-OAEP, RSA-OAEP-256, RSA1_5"},
		{name: "fail/wrap/rsa-too-long", key: "rsa", op: "wrap", alg: "RSA-OAEP-256", in: digest(200),
			want: "the key to wrap for RSA-OAEP-256 with a 2048-bit key must be at most 190 bytes, got 200"},
		{name: "fail/wrap/unknown-alg", key: "oct128", op: "wrap", alg: "A128KWP", in: digest(16),
			want: `algorithm "A128KWP" is not valid for wrapKey and unwrapKey; for an oct (AES) key use A128KW, CKM_AES_KEY_WRAP, CKM_AES_KEY_WRAP_PAD`},
		{name: "fail/unwrap/kw-short", key: "oct128", op: "unwrap", alg: "A128KW", in: digest(16),
			want: "the wrapped key for A128KW must be at least 24 bytes and a multiple of 8, got 16"},
		{name: "fail/unwrap/kwp-ragged", key: "oct128", op: "unwrap", alg: "CKM_AES_KEY_WRAP_PAD", in: digest(20),
			want: "at least 16 bytes and a multiple of 8, got 20"},
		{name: "fail/unwrap/kw-garbage", key: "oct128", op: "unwrap", alg: "A128KW", in: digest(24),
			want: "the wrapped key could not be unwrapped with this key and algorithm"},
		{name: "fail/unwrap/kwp-garbage", key: "oct128", op: "unwrap", alg: "CKM_AES_KEY_WRAP_PAD", in: digest(16),
			want: "could not be unwrapped"},
		{name: "fail/unwrap/rsa-wrong-length", key: "rsa", op: "unwrap", alg: "RSA-OAEP", in: digest(255),
			want: "the wrapped key for RSA-OAEP with a 2048-bit key must be 256 bytes, got 255"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := testKey(t, tc.key)
			var err error
			switch tc.op {
			case "sign":
				_, err = k.Sign(tc.alg, tc.in)
			case "verify":
				_, err = k.Verify(tc.alg, tc.in, make([]byte, 64))
			case "encrypt":
				_, _, _, err = k.Encrypt(tc.alg, tc.in, tc.iv, tc.aad)
			case "decrypt":
				_, err = k.Decrypt(tc.alg, tc.in, tc.iv, tc.aad, tc.tag)
			case "wrap":
				_, err = k.WrapKey(tc.alg, tc.in)
			case "unwrap":
				_, err = k.UnwrapKey(tc.alg, tc.in)
			default:
				t.Fatalf("unknown op %q", tc.op)
			}
			wantInvalid(t, err, tc.want)
		})
	}
}
