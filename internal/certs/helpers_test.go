package certs_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer/coffer/internal/certs"
)

// Keys are generated once per test binary: RSA generation is slow.
var (
	rsaKey  = sync.OnceValue(func() *rsa.PrivateKey { return must(rsa.GenerateKey(rand.Reader, 2048)) })
	rsaKey2 = sync.OnceValue(func() *rsa.PrivateKey { return must(rsa.GenerateKey(rand.Reader, 2048)) })
	ecKey   = sync.OnceValue(func() *ecdsa.PrivateKey { return must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)) })
	ec384   = sync.OnceValue(func() *ecdsa.PrivateKey { return must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader)) })
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func ptr[T any](v T) *T { return &v }

// wantInvalid fails unless err wraps ErrInvalid and its text holds every fragment.
func wantInvalid(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want ErrInvalid with %q", fragments)
	}
	if !errors.Is(err, certs.ErrInvalid) {
		t.Fatalf("error %q does not wrap ErrInvalid", err)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not say %q", err, f)
		}
	}
}

// signer returns the test key for a key type name.
func signer(kind string) crypto.Signer {
	switch kind {
	case "rsa":
		return rsaKey()
	case "ec":
		return ecKey()
	case "ec384":
		return ec384()
	}
	panic("unknown key " + kind)
}

// wantNormalized checks that p is normalized: Normalize accepts it and changes nothing.
func wantNormalized(t *testing.T, p certs.Policy) {
	t.Helper()
	again := p
	if err := again.Normalize(); err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	if d := cmp.Diff(p, again); d != "" {
		t.Errorf("Normalize changed the policy (-before +after):\n%s", d)
	}
}
