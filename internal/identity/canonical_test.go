package identity_test

import (
	"crypto/elliptic"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

var (
	p256N    = elliptic.P256().Params().N
	halfN    = new(big.Int).Rsh(p256N, 1)
	b64      = base64.RawURLEncoding
	dataAuds = "https://localhost:8443/.default"
)

// sigS is the s of a token's ES256 signature.
func sigS(t *testing.T, tok string) *big.Int {
	t.Helper()
	sig, err := b64.DecodeString(tok[strings.LastIndexByte(tok, '.')+1:])
	if err != nil || len(sig) != 64 {
		t.Fatalf("signature: %v (%d bytes)", err, len(sig))
	}
	return new(big.Int).SetBytes(sig[32:])
}

// twin replaces a token's signature (r, s) by (r, n−s), which verifies as well.
func twin(t *testing.T, tok string) string {
	t.Helper()
	i := strings.LastIndexByte(tok, '.')
	sig, _ := b64.DecodeString(tok[i+1:])
	new(big.Int).Sub(p256N, new(big.Int).SetBytes(sig[32:])).FillBytes(sig[32:])
	return tok[:i+1] + b64.EncodeToString(sig)
}

// TestTokensHaveOneForm: every token Coffer issues has a low s (s ≤ n/2); its twin with
// n−s, and spellings of it whose base64url carries stray bits, are refused. A token of an
// earlier version (without the low-s mark in its header) is still accepted until it
// expires, with either s.
func TestTokensHaveOneForm(t *testing.T) {
	s := open(t, storagetest.NewMemory(), clock.NewFake(t0))
	admin := s.AdminCredentials()
	refused := func(t *testing.T, tok, why string) {
		t.Helper()
		if _, err := s.Verify(t.Context(), tok, identity.DataPlane); !errors.Is(err, identity.ErrInvalidToken) {
			t.Errorf("%s: Verify = %v, want ErrInvalidToken", why, err)
		}
	}
	accepted := func(t *testing.T, tok, why string) {
		t.Helper()
		if _, err := s.Verify(t.Context(), tok, identity.DataPlane); err != nil {
			t.Errorf("%s: Verify = %v", why, err)
		}
	}

	t.Run("issued-low-s", func(t *testing.T) {
		// ECDSA's s is high half the time: 40 tokens all low is no accident.
		for range 40 {
			tok := getToken(t, s, admin, dataAuds)
			if sigS(t, tok).Cmp(halfN) > 0 {
				t.Fatal("Coffer issued a token with a high s")
			}
			if h := jwtHeader(t, tok); h["lowS"] != true {
				t.Fatalf("header %v lacks the low-s mark", h)
			}
		}
	})
	t.Run("fail/high-s-twin", func(t *testing.T) {
		tok := getToken(t, s, admin, dataAuds)
		accepted(t, tok, "the token as issued")
		refused(t, twin(t, tok), "its twin with n−s")
	})
	t.Run("fail/stray-base64-bits", func(t *testing.T) {
		tok := getToken(t, s, admin, dataAuds)
		parts := strings.Split(tok, ".")
		for i, p := range parts {
			// The last character of a segment whose length is not a multiple of 4 holds
			// bits past the data: setting one spells the same bytes differently.
			if len(p)%4 == 0 {
				continue
			}
			last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", p[len(p)-1])
			alt := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last|1]
			if alt == p[len(p)-1] {
				alt = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last&^1]
			}
			spelled := append([]string{}, parts...)
			spelled[i] = p[:len(p)-1] + string(alt)
			if b, err := b64.DecodeString(spelled[i]); err != nil || string(b) != string(must(b64.DecodeString(p))) {
				t.Fatalf("segment %d: the respelling is not the same bytes", i)
			}
			refused(t, strings.Join(spelled, "."), "segment "+string(rune('0'+i))+" respelled")
		}
	})
	t.Run("ok/earlier-version-tokens", func(t *testing.T) {
		tok := getToken(t, s, admin, dataAuds)
		unmark := func(h map[string]any) { delete(h, "lowS") }
		accepted(t, s.ReSign(tok, unmark, true), "an unmarked token with a high s")
		accepted(t, s.ReSign(tok, unmark, false), "an unmarked token with a low s")
		refused(t, s.ReSign(tok, func(map[string]any) {}, true), "a marked token with a high s")
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
