package identity_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

// FuzzVerify feeds arbitrary bearer tokens to Verify: it must return ErrInvalidToken (or
// succeed for a genuine token), never panic. Seeds: testdata/fuzz/FuzzVerify plus tokens
// made at run time.
func FuzzVerify(f *testing.F) {
	s := open(f, storagetest.NewMemory(), clock.NewFake(t0))
	good := getToken(f, s, s.AdminCredentials(), "https://localhost:8443/.default")
	parts := strings.Split(good, ".")
	for _, seed := range []string{
		good,
		good + ".",
		parts[0] + "." + parts[1] + ".",
		parts[0] + ".." + parts[2],
		"." + parts[1] + "." + parts[2],
		"eyJhbGciOiJub25lIn0.e30.",
		"eyJhbGciOiJFUzI1NiIsImtpZCI6MX0.e30.AAAA",
		"eyJhbGciOiJFUzI1NiJ9.eyJleHAiOiJ4In0.AAAA",
		"a.b.c",
		"",
		"...",
		"Bearer " + good,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := s.Verify(t.Context(), tok, identity.DataPlane)
		if err != nil {
			if !errors.Is(err, identity.ErrInvalidToken) {
				t.Fatalf("Verify error %v is not ErrInvalidToken", err)
			}
			return
		}
		if p.ClientID != s.AdminCredentials().ClientID {
			t.Fatalf("Verify accepted %q for %+v", tok, p)
		}
	})
}

// BenchmarkVerifyCacheHit measures Verify for a token already verified once: the cost of
// every authenticated request after a client's first.
func BenchmarkVerifyCacheHit(b *testing.B) {
	s := open(b, storagetest.NewMemory(), clock.Real{})
	tok := getToken(b, s, s.AdminCredentials(), "https://localhost:8443/.default")
	ctx := b.Context()
	if _, err := s.Verify(ctx, tok, identity.DataPlane); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Verify(ctx, tok, identity.DataPlane); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifyMiss measures a full verification (signature, claims, principal lookup).
func BenchmarkVerifyMiss(b *testing.B) {
	s, err := identity.Open(b.Context(), storagetest.NewMemory(), identity.Options{
		PublicURL: mustURL(b, publicURL), VaultDomain: "localhost", Clock: clock.Real{}, CacheSize: 1,
	})
	if err != nil {
		b.Fatal(err)
	}
	tokA := getToken(b, s, s.AdminCredentials(), "https://localhost:8443/.default")
	tokB := getToken(b, s, s.AdminCredentials(), "https://localhost:9443/.default")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tok := tokA
		if i%2 == 1 {
			tok = tokB // a cache of one entry: alternating tokens always miss
		}
		if _, err := s.Verify(b.Context(), tok, identity.DataPlane); err != nil {
			b.Fatal(err)
		}
	}
}
