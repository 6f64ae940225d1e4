package server

import (
	"net"
	"strings"
	"testing"
)

// FuzzClassifyHost checks the Host parser against what routing relies on, whatever the
// bytes: a vault is only ever the one its name spells (with any case, a port and one
// trailing dot), the bare address is never a name under the vault domain, and case or the
// fully qualified form never changes the answer.
func FuzzClassifyHost(f *testing.F) {
	s := &Server{cfg: Config{VaultDomain: "localhost"}}
	for _, h := range []string{
		"", "localhost", "localhost.", "localhost:8443", "localhost.:8443", "127.0.0.1:8443", "[::1]:8443", "[::1]",
		"[fe80::1%25eth0]:8443", "vone.localhost", "vone.localhost.", "VONE.LOCALHOST.:8443", "vone.localhost:",
		".localhost", "..localhost", "vone..localhost", "vone.localhost..", "vone.localhost :8443", "vone.localhost:abc",
		"vone.localhost:8443:8443", "a.b.localhost", "x_y.localhost", "v.localhost", "-ab.localhost", "ab-.localhost",
		"vone.localhost%2e", "vone.localhost!", "[::1", "::1", "vone.localhostx", "vonelocalhost", "example.com.",
		"vault.example.com:443", strings.Repeat("a", 64) + ".localhost", strings.Repeat("a.", 130) + "localhost",
		"vone.localhost\x00", "[fe90::%82 0]:0000", "[fe80::1%eth0]", "[fe80::1%25]", "vone.local\u0127host", "[::ffff:127.0.0.1]:1", "1.2.3.4.localhost",
	} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h string) {
		kind, name := s.classifyHost(h)
		hostPart := h
		if hp, _, err := net.SplitHostPort(h); err == nil {
			hostPart = hp
		}
		bare := strings.ToLower(strings.TrimSuffix(hostPart, "."))
		switch kind {
		case hostVault:
			if !strings.HasSuffix(bare, ".localhost") {
				t.Fatalf("%q: a vault host not under the vault domain", h)
			}
			if name != "" {
				if bare != name+".localhost" {
					t.Fatalf("%q: named vault %q", h, name)
				}
				for _, form := range []string{name + ".LOCALHOST.", name + ".localhost.:443", vaultHostForm(h)} {
					if k, n := s.classifyHost(form); k != hostVault || n != name {
						t.Fatalf("%q names %q, but %q names %v %q", h, name, form, k, n)
					}
				}
			}
		case hostBare:
			if h != "" && strings.HasSuffix(bare, ".localhost") {
				t.Fatalf("%q: a name under the vault domain taken as the bare address", h)
			}
			if strings.ContainsAny(h, " \t\r\n\x00/\\@?#") {
				t.Fatalf("%q: a Host with a character no host has taken as the bare address", h)
			}
		case hostInvalid:
			if name != "" {
				t.Fatalf("%q: invalid, yet named vault %q", h, name)
			}
		default:
			t.Fatalf("%q: kind %v", h, kind)
		}
		if k, n := s.classifyHost(strings.ToUpper(h)); strings.ToLower(strings.ToUpper(h)) == strings.ToLower(h) && (k != kind || n != name) {
			t.Fatalf("%q is %v %q but in upper case %v %q", h, kind, name, k, n)
		}
	})
}
