package identity_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

// TestCheckRecords: a sound identity state has no problem; a lost administrator, a
// signing key that does not parse, a principal under another id each are one, naming
// what they affect.
func TestCheckRecords(t *testing.T) {
	st := storagetest.NewMemory()
	s := open(t, st, clock.NewFake(t0))
	admin := "sys/principals/" + s.AdminCredentials().ClientID
	check := func() []identity.Problem {
		t.Helper()
		var keys []string
		for _, k := range st.Keys() {
			if identity.OwnsKey(k) {
				keys = append(keys, k)
			}
		}
		var ps []identity.Problem
		if err := st.View(t.Context(), func(tx storage.Tx) error { ps = identity.CheckRecords(tx, keys); return nil }); err != nil {
			t.Fatal(err)
		}
		return ps
	}
	if ps := check(); len(ps) != 0 {
		t.Fatalf("a sound state: %v", ps)
	}
	for _, tc := range []struct {
		name, key string
		damage    func()
		affects   string
	}{
		{"administrator-lost", admin, func() { st.DeleteRaw(admin) }, "the administrator"},
		{"signing-key", "sys/token-keys", func() {
			st.SetRaw("sys/token-keys", []byte(`{"keys":[{"kid":"k","alg":"ES256","privateKeyPem":"not a key"}]}`))
		}, "the token-signing keys"},
		{"principal-moved", "sys/principals/someone-else", func() { st.SetRaw("sys/principals/someone-else", st.Raw(admin)) }, "principal someone-else"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			saved := map[string][]byte{}
			for _, k := range st.Keys() {
				saved[k] = st.Raw(k)
			}
			defer func() {
				for _, k := range st.Keys() {
					st.DeleteRaw(k)
				}
				for k, v := range saved {
					st.SetRaw(k, v)
				}
			}()
			tc.damage()
			ps := check()
			if !slices.ContainsFunc(ps, func(p identity.Problem) bool { return p.Key == tc.key && strings.HasPrefix(p.Affects, tc.affects) }) {
				t.Errorf("no problem at %s affecting %q: %+v", tc.key, tc.affects, ps)
			}
		})
	}
}
