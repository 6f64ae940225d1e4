package keyops_test

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/keyops"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKeyWrapVectors checks AES key wrap against the test vectors of RFC 3394 (section 4)
// and RFC 5649 (section 6): wrapping is deterministic, so the known KEK and key data must
// give the known ciphertext, and back.
func TestKeyWrapVectors(t *testing.T) {
	const kek = "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"
	const data = "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F"
	tests := []struct {
		name, alg, kek, data, want string
	}{
		{"ok/rfc3394-4.1-128kek-128data", "A128KW", kek[:32], data[:32], "1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5"},
		{"ok/rfc3394-4.2-192kek-128data", "A192KW", kek[:48], data[:32], "96778B25AE6CA435 F92B5B97C050AED2 468AB8A17AD84E5D"},
		{"ok/rfc3394-4.3-256kek-128data", "A256KW", kek, data[:32], "64E8C3F9CE0F5BA2 63E9777905818A2A 93C8191E7D6E8AE7"},
		{"ok/rfc3394-4.4-192kek-192data", "A192KW", kek[:48], data[:48], "031D33264E15D332 68F24EC260743EDC E1C6C7DDEE725A93 6BA814915C6762D2"},
		{"ok/rfc3394-4.5-256kek-192data", "A256KW", kek, data[:48], "A8F9BC1612C68B3F F6E6F4FBE30E71E4 769C8B80A32CB895 8CD5D17D6B254DA1"},
		{"ok/rfc3394-4.6-256kek-256data", "A256KW", kek, data, "28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21"},
		{"ok/rfc3394-4.6-as-CKM_AES_KEY_WRAP", "CKM_AES_KEY_WRAP", kek, data, "28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21"},
		{"ok/rfc5649-6-20-bytes", "CKM_AES_KEY_WRAP_PAD", "5840df6e29b02af1 ab493b705bf16ea1 ae8338f4dcc176a8",
			"c37b7e6492584340 bed1220780894115 5068f738", "138bdeaa9b8fa7fc 61f97742e72248ee 5ae6ae5360d1ae6a 5f54f373fa543b6a"},
		{"ok/rfc5649-6-7-bytes", "CKM_AES_KEY_WRAP_PAD", "5840df6e29b02af1 ab493b705bf16ea1 ae8338f4dcc176a8",
			"466f7250617369", "afbeb0f07dfbf541 9200f2ccb50bb24f"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := keyops.Import(keyops.JWK{Kty: "oct", K: unhex(t, tc.kek)})
			if err != nil {
				t.Fatal(err)
			}
			want := unhex(t, tc.want)
			got, err := k.WrapKey(tc.alg, unhex(t, tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("wrap = %X\nwant   %X", got, want)
			}
			back, err := k.UnwrapKey(tc.alg, want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back, unhex(t, tc.data)) {
				t.Fatalf("unwrap = %X, want %s", back, tc.data)
			}
		})
	}
}

// TestKeyWrapPadLengthChecks: an RFC 5649 ciphertext whose length indicator or padding is wrong
// must not unwrap, even though the AES layer decrypts.
func TestKeyWrapPadLengthChecks(t *testing.T) {
	k, err := keyops.Import(keyops.JWK{Kty: "oct", K: unhex(t, "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8")})
	if err != nil {
		t.Fatal(err)
	}
	// RFC 3394 wrapping of an 8-byte-aligned input under the RFC 5649 IV but a lying length:
	// build it by wrapping 16 bytes with KWP, then unwrapping with plain KW must fail (IV differs).
	w, err := k.WrapKey("CKM_AES_KEY_WRAP_PAD", bytes.Repeat([]byte{7}, 16))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.UnwrapKey("CKM_AES_KEY_WRAP", w); err == nil {
		t.Fatal("a KWP ciphertext unwrapped as KW")
	}
	w, err = k.WrapKey("CKM_AES_KEY_WRAP", bytes.Repeat([]byte{7}, 16))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.UnwrapKey("CKM_AES_KEY_WRAP_PAD", w); err == nil {
		t.Fatal("a KW ciphertext unwrapped as KWP")
	}
}
