package vault_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/vault"
)

// TestCheckStoreAffects: each problem says what it affects — the vault and object a key
// is about, or the deployment's own record — so that `coffer check` can tell an operator
// which secret a damaged key costs; keys other owners keep are left to them.
func TestCheckStoreAffects(t *testing.T) {
	h := newHarness(t)
	h.unchecked = true
	ctx := context.Background()
	h.vault("v", 7, false)
	_, err := h.s.Internal().SetSecret(ctx, "v", "victim", vault.SecretParams{Value: "x"})
	must(t, err)
	// A flipped key byte: the head's key changes, so its sealed value no longer opens
	// (the barrier seals each value with its key), and its versions have no head.
	must(t, h.raw.Update(ctx, func(tx storage.Tx) error {
		b, err := tx.Get("v/v/secret/live/victim")
		if err != nil {
			return err
		}
		if err := tx.Delete("v/v/secret/live/victim"); err != nil {
			return err
		}
		if err := tx.Put("v/v/secret/live/victil", b); err != nil {
			return err
		}
		return tx.Put("sys/tenant", []byte("another owner's record"))
	}))
	check := func(foreign func(string) bool) []vault.Problem {
		t.Helper()
		p, err := vault.CheckStore(ctx, h.st, h.raw, vault.CheckOptions{Now: h.s.Now(), Foreign: foreign})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	affects := func(ps []vault.Problem, text, what string) bool {
		return slices.ContainsFunc(ps, func(p vault.Problem) bool { return strings.Contains(p.Text, text) && p.Affects() == what })
	}
	ps := check(nil)
	for _, want := range []struct{ text, affects string }{
		{"does not open under the barrier", "vault v, secret victil"},
		{"orphaned versions", "vault v, secret victim"},
		{"does not open under the barrier", "the record sys/tenant"},
	} {
		if !affects(ps, want.text, want.affects) {
			t.Errorf("no problem %q affecting %q in %v", want.text, want.affects, ps)
		}
	}
	ps = check(func(k string) bool { return k == "sys/tenant" })
	if slices.ContainsFunc(ps, func(p vault.Problem) bool { return p.Key == "sys/tenant" }) || len(ps) != 2 {
		t.Errorf("with sys/tenant foreign: %v", ps)
	}
}
