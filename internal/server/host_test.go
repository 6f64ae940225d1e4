package server

import "testing"

func TestVaultOfHost(t *testing.T) {
	s := &Server{cfg: Config{VaultDomain: "localhost"}}
	cases := []struct {
		host, vault string
		isVault     bool
	}{
		{"default.localhost:8443", "default", true},
		{"MyVault.LOCALHOST", "myvault", true},
		{"a.b.localhost:1", "", true},
		{"localhost:8443", "", false},
		{"127.0.0.1:8443", "", false},
		{"[::1]:8443", "", false},
		{"example.com", "", false},
		{".localhost", "", false},
	}
	for _, tc := range cases {
		v, ok := s.vaultOfHost(tc.host)
		if v != tc.vault || ok != tc.isVault {
			t.Errorf("%s: %q %v", tc.host, v, ok)
		}
	}
}

func FuzzVaultOfHost(f *testing.F) {
	s := &Server{cfg: Config{VaultDomain: "localhost"}}
	for _, h := range []string{"v.localhost:8443", "localhost", "[::1]:1", "a.b.localhost", ""} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h string) {
		v, ok := s.vaultOfHost(h)
		if !ok && v != "" {
			t.Fatal("name without a vault host")
		}
	})
}
