package authz_test

import (
	"testing"

	"github.com/coffer/coffer/internal/authz"
)

func TestDecide(t *testing.T) {
	pols := []authz.Policy{
		{ObjectID: "reader", Permissions: authz.Permissions{Secrets: []string{"Get", "list"}}},
		{ObjectID: "keyadmin", Permissions: authz.Permissions{Keys: []string{"all"}}},
	}
	cases := []struct {
		name string
		p    authz.Principal
		perm string
		want bool
	}{
		{"ok/admin", authz.Principal{ObjectID: "x", Admin: true}, "secrets/purge", true},
		{"ok/granted-any-case", authz.Principal{ObjectID: "READER"}, "secrets/get", true},
		{"fail/not-granted", authz.Principal{ObjectID: "reader"}, "secrets/purge", false},
		{"fail/other-kind", authz.Principal{ObjectID: "reader"}, "keys/get", false},
		{"ok/all", authz.Principal{ObjectID: "keyadmin"}, "keys/sign", true},
		{"fail/unknown-principal", authz.Principal{ObjectID: "nobody"}, "secrets/get", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, why := authz.Decide(tc.p, pols, tc.perm); got != tc.want || why == "" {
				t.Fatalf("got %v (%s)", got, why)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	if err := (authz.Permissions{Secrets: []string{"get", "PURGE"}, Keys: []string{"wrapkey"}}).Check(); err != nil {
		t.Fatal(err)
	}
	if err := (authz.Permissions{Secrets: []string{"sign"}}).Check(); err == nil {
		t.Fatal("secrets sign accepted")
	}
}
