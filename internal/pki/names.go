package pki

import (
	"crypto/x509"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// ServerNames are the subject alternative names of a server certificate.
type ServerNames struct {
	DNSNames []string
	IPs      []net.IP
}

// ServerSANs returns the names of Coffer's server certificate, every name a client may use
// to reach it: localhost, *.localhost, 127.0.0.1 and ::1 (the bare address on this machine,
// and vault hosts under the default vault domain), publicHost (the host of --public-url: an
// IP literal, with or without brackets, or a DNS name; a port is ignored), vaultDomain and
// *.vaultDomain (the vault hosts).
// DNS names are lower-cased and duplicates dropped; empty arguments are skipped.
func ServerSANs(publicHost, vaultDomain string) ServerNames {
	var n ServerNames
	addDNS := func(name string) {
		name = normalizeHost(name)
		if name != "" && name != "*." && !slices.Contains(n.DNSNames, name) {
			n.DNSNames = append(n.DNSNames, name)
		}
	}
	addIP := func(ip net.IP) {
		if !slices.ContainsFunc(n.IPs, ip.Equal) {
			n.IPs = append(n.IPs, ip)
		}
	}
	addDNS("localhost")
	addDNS("*.localhost")
	addIP(net.IPv4(127, 0, 0, 1).To4())
	addIP(net.IPv6loopback)
	host := publicHost
	if h, _, err := net.SplitHostPort(publicHost); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if addr, err := netip.ParseAddr(host); err == nil {
		addIP(net.IP(addr.WithZone("").Unmap().AsSlice()))
	} else {
		addDNS(host)
	}
	if d := normalizeHost(vaultDomain); d != "" {
		addDNS(d)
		addDNS("*." + d)
	}
	return n
}

// normalizeHost lower-cases name and drops one trailing dot: the form names are compared
// and issued in.
func normalizeHost(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

// validHostname reports whether name is a DNS host name made of letters, digits and
// hyphens: labels of 1 to 63 characters that neither start nor end with a hyphen, at most
// 253 characters in all. It is the gate between a client's SNI and issuing a certificate.
func validHostname(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// namesMatch reports whether cert names exactly names, compared as sets (DNS names
// case-insensitively, IPv4 and IPv4-mapped IPv6 addresses alike).
func namesMatch(cert *x509.Certificate, names ServerNames) bool {
	dnsSet := func(list []string) map[string]bool {
		m := make(map[string]bool, len(list))
		for _, s := range list {
			m[normalizeHost(s)] = true
		}
		return m
	}
	ipSet := func(list []net.IP) (map[netip.Addr]bool, bool) {
		m := make(map[netip.Addr]bool, len(list))
		for _, ip := range list {
			addr, ok := netip.AddrFromSlice(ip)
			if !ok {
				return nil, false
			}
			m[addr.Unmap()] = true
		}
		return m, true
	}
	certIPs, ok1 := ipSet(cert.IPAddresses)
	wantIPs, ok2 := ipSet(names.IPs)
	return ok1 && ok2 && maps.Equal(certIPs, wantIPs) &&
		maps.Equal(dnsSet(cert.DNSNames), dnsSet(names.DNSNames))
}
