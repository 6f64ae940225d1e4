package pki_test

import (
	"slices"
	"testing"

	"github.com/coffer/coffer/internal/pki"
)

func TestServerSANs(t *testing.T) {
	tests := []struct {
		name               string
		publicHost, domain string
		wantDNS, wantIPs   []string
	}{
		{
			name: "ok/defaults", publicHost: "127.0.0.1", domain: "localhost",
			wantDNS: []string{"localhost", "*.localhost"},
			wantIPs: []string{"127.0.0.1", "::1"},
		},
		{
			name: "ok/dns-public-host", publicHost: "Coffer.Example.com", domain: "Vault.Example.com",
			wantDNS: []string{"localhost", "*.localhost", "coffer.example.com", "vault.example.com", "*.vault.example.com"},
			wantIPs: []string{"127.0.0.1", "::1"},
		},
		{
			name: "ok/ip-public-host", publicHost: "192.0.2.7", domain: "localhost",
			wantDNS: []string{"localhost", "*.localhost"},
			wantIPs: []string{"127.0.0.1", "::1", "192.0.2.7"},
		},
		{
			name: "ok/bracketed-ipv6", publicHost: "[2001:db8::1]", domain: "localhost",
			wantDNS: []string{"localhost", "*.localhost"},
			wantIPs: []string{"127.0.0.1", "::1", "2001:db8::1"},
		},
		{
			name: "ok/host-with-port", publicHost: "[2001:db8::1]:8443", domain: "localhost",
			wantDNS: []string{"localhost", "*.localhost"},
			wantIPs: []string{"127.0.0.1", "::1", "2001:db8::1"},
		},
		{
			name: "ok/dedup-mapped-loopback", publicHost: "::ffff:127.0.0.1", domain: "localhost.",
			wantDNS: []string{"localhost", "*.localhost"},
			wantIPs: []string{"127.0.0.1", "::1"},
		},
		{
			name: "ok/dedup-localhost", publicHost: "LOCALHOST", domain: "vault.localhost",
			wantDNS: []string{"localhost", "*.localhost", "vault.localhost", "*.vault.localhost"},
			wantIPs: []string{"127.0.0.1", "::1"},
		},
		{
			name: "ok/empty-arguments", publicHost: "", domain: "",
			wantDNS: []string{"localhost", "*.localhost"},
			wantIPs: []string{"127.0.0.1", "::1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pki.ServerSANs(tt.publicHost, tt.domain)
			if !slices.Equal(got.DNSNames, tt.wantDNS) {
				t.Errorf("DNSNames = %q, want %q", got.DNSNames, tt.wantDNS)
			}
			var ips []string
			for _, ip := range got.IPs {
				ips = append(ips, ip.String())
			}
			if !slices.Equal(ips, tt.wantIPs) {
				t.Errorf("IPs = %q, want %q", ips, tt.wantIPs)
			}
		})
	}
}
