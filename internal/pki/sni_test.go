package pki_test

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/pki"
)

type sniFixture struct {
	ca     *pki.CA
	server tls.Certificate
	clock  *clock.Fake // tests move it instead of sleeping
	sni    *pki.SNICerts
}

func newSNI(t testing.TB, vaultDomain string) *sniFixture {
	t.Helper()
	ca := newCA(t)
	server, err := pki.EnsureServerCert(t.TempDir(), ca, pki.ServerSANs("127.0.0.1", vaultDomain), now)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(now)
	sni, err := pki.NewSNICerts(ca, server, vaultDomain, clk.Now)
	if err != nil {
		t.Fatalf("NewSNICerts: %v", err)
	}
	return &sniFixture{ca: ca, server: server, clock: clk, sni: sni}
}

// setTime moves the fixture's clock to at.
func (f *sniFixture) setTime(at time.Time) {
	f.clock.Advance(at.Sub(f.clock.Now()))
}

func (f *sniFixture) get(t testing.TB, serverName string) *tls.Certificate {
	t.Helper()
	c, err := f.sni.GetCertificate(&tls.ClientHelloInfo{ServerName: serverName})
	if err != nil {
		t.Fatalf("GetCertificate(%q): %v", serverName, err)
	}
	return c
}

func (f *sniFixture) isServer(c *tls.Certificate) bool {
	return c.Leaf != nil && c.Leaf.Equal(f.server.Leaf)
}

func TestSNICertsExactHost(t *testing.T) {
	f := newSNI(t, "localhost")
	tests := []struct {
		name, sni, wantHost string
	}{
		{"ok/vault-host", "v1.localhost", "v1.localhost"},
		{"ok/mixed-case", "MyVault.LocalHost", "myvault.localhost"},
		{"ok/trailing-dot", "myvault.localhost.", "myvault.localhost"},
		{"ok/deeper-name", "a.b.localhost", "a.b.localhost"},
		{"ok/digits-and-hyphen", "0-vault-9.localhost", "0-vault-9.localhost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.get(t, tt.sni)
			if f.isServer(c) {
				t.Fatal("got the server certificate, want an exact one")
			}
			if !slices.Equal(c.Leaf.DNSNames, []string{tt.wantHost}) || len(c.Leaf.IPAddresses) != 0 {
				t.Errorf("names = %q %v, want exactly %q", c.Leaf.DNSNames, c.Leaf.IPAddresses, tt.wantHost)
			}
			verify(t, f.ca, c.Certificate[0], tt.wantHost)
			if len(c.Certificate) != 2 || string(c.Certificate[1]) != string(f.ca.Cert.Raw) {
				t.Error("chain is not leaf + CA")
			}
			if !c.Leaf.PublicKey.(*ecdsa.PublicKey).Equal(f.server.Leaf.PublicKey) {
				t.Error("exact certificate does not use the server key")
			}
			if c.PrivateKey != f.server.PrivateKey {
				t.Error("exact certificate does not carry the server key")
			}
			if !c.Leaf.NotAfter.Equal(now.Add(pki.MaxLeafValidity)) {
				t.Errorf("NotAfter = %v, want now+397 days", c.Leaf.NotAfter)
			}
			if again := f.get(t, tt.sni); again != c {
				t.Error("second handshake issued a new certificate, want the cached one")
			}
		})
	}
	// Case and a trailing dot do not make another cache entry.
	if f.get(t, "V1.LOCALHOST.") != f.get(t, "v1.localhost") {
		t.Error("V1.LOCALHOST. and v1.localhost got different certificates")
	}
}

func TestSNICertsServerCert(t *testing.T) {
	f := newSNI(t, "localhost")
	for _, sni := range []string{
		"",
		"127.0.0.1",
		"::1",
		"localhost",
		"localhost.",
		"example.com",
		"v1.example.com",
		"v1.localhost.example.com",
		"v1xlocalhost",
		"v1-localhost",
		// Junk under the domain never creates a certificate.
		".localhost",
		"..localhost",
		"a..localhost",
		"-v1.localhost",
		"v1-.localhost",
		"v_1.localhost",
		"v1 .localhost",
		"*.localhost",
		"v1.localhost..",
		"ä.localhost",
		"\u212a.localhost", // KELVIN SIGN, lower-cases to "k"
		"v1\x00.localhost",
		strings.Repeat("a", 64) + ".localhost",
		strings.Repeat("a.", 121) + "aa.localhost", // 254 characters: one too many
	} {
		t.Run(fmt.Sprintf("%q", sni), func(t *testing.T) {
			if c := f.get(t, sni); !f.isServer(c) {
				t.Errorf("got a certificate for %q, want the server certificate", c.Leaf.DNSNames)
			}
		})
	}
	t.Run("nil-hello", func(t *testing.T) {
		c, err := f.sni.GetCertificate(nil)
		if err != nil || !f.isServer(c) {
			t.Errorf("GetCertificate(nil) = %v, %v; want the server certificate", c, err)
		}
	})
}

func TestSNICertsLongestValidName(t *testing.T) {
	f := newSNI(t, "localhost")
	name := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 51) + ".localhost"
	if len(name) != 253 {
		t.Fatalf("test name has %d characters, want 253", len(name))
	}
	if c := f.get(t, name); f.isServer(c) {
		t.Error("a 253-character name got the server certificate")
	}
}

func TestSNICertsMultiLabelDomain(t *testing.T) {
	f := newSNI(t, "vault.localhost")
	for _, sni := range []string{"v1.vault.localhost", "V1.Vault.Localhost", "v1.localhost", "vault.localhost"} {
		if c := f.get(t, sni); !f.isServer(c) {
			t.Errorf("%q got %q, want the server certificate", sni, c.Leaf.DNSNames)
		}
	}
	// The wildcard in the server certificate is what serves vault hosts.
	verify(t, f.ca, f.server.Leaf.Raw, "v1.vault.localhost")
}

func TestSNICertsOtherOneLabelDomain(t *testing.T) {
	f := newSNI(t, "Test")
	if c := f.get(t, "v1.test"); !slices.Equal(c.Leaf.DNSNames, []string{"v1.test"}) {
		t.Errorf("v1.test got %q, want an exact certificate", c.Leaf.DNSNames)
	}
	if c := f.get(t, "v1.localhost"); !f.isServer(c) {
		t.Errorf("v1.localhost got %q, want the server certificate", c.Leaf.DNSNames)
	}
}

func TestSNICertsCacheBounded(t *testing.T) {
	f := newSNI(t, "localhost")
	host := func(i int) string { return fmt.Sprintf("v%d.localhost", i) }
	first := make([]*tls.Certificate, 1001)
	for i := range first {
		first[i] = f.get(t, host(i))
	}
	// 1,001 names were issued; the cache keeps the 1,000 most recently used, so v0 is gone.
	if f.get(t, host(1)) != first[1] {
		t.Error("v1 was evicted, want it cached")
	}
	if f.get(t, host(1000)) != first[1000] {
		t.Error("v1000 was evicted, want it cached")
	}
	if f.get(t, host(0)) == first[0] {
		t.Error("v0 still cached after 1,001 names, want it evicted")
	}
	// Bringing v0 back evicted the least recently used entry, v2 (v1 was just used).
	if f.get(t, host(2)) == first[2] {
		t.Error("v2 still cached, want it evicted")
	}
	if f.get(t, host(1)) != first[1] {
		t.Error("v1 was evicted, want it cached")
	}
}

func TestSNICertsRenewal(t *testing.T) {
	f := newSNI(t, "localhost")
	c := f.get(t, "v1.localhost")

	f.setTime(c.Leaf.NotAfter.Add(-31 * 24 * time.Hour))
	if f.get(t, "v1.localhost") != c {
		t.Error("re-issued with 31 days left, want the cached certificate")
	}
	at := c.Leaf.NotAfter.Add(-29 * 24 * time.Hour)
	f.setTime(at)
	renewed := f.get(t, "v1.localhost")
	if renewed == c {
		t.Fatal("served the cached certificate with 29 days left, want a new one")
	}
	if !renewed.Leaf.NotAfter.Equal(at.Add(pki.MaxLeafValidity)) {
		t.Errorf("renewed NotAfter = %v, want %v", renewed.Leaf.NotAfter, at.Add(pki.MaxLeafValidity))
	}
	if f.get(t, "v1.localhost") != renewed {
		t.Error("renewed certificate not cached")
	}
}

func TestSNICertsConcurrent(t *testing.T) {
	f := newSNI(t, "localhost")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				name := fmt.Sprintf("v%d.localhost", (g*7+i)%20)
				c, err := f.sni.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
				if err != nil {
					t.Error(err)
					return
				}
				if !slices.Equal(c.Leaf.DNSNames, []string{name}) {
					t.Errorf("%s got %q", name, c.Leaf.DNSNames)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestNewSNICertsErrors(t *testing.T) {
	ca := newCA(t)
	if _, err := pki.NewSNICerts(ca, tls.Certificate{}, "localhost", func() time.Time { return now }); err == nil {
		t.Error("empty server certificate accepted")
	}
	der, err := ca.Issue(now, ca.Key.Public(), pki.ServerNames{DNSNames: []string{"localhost"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	noKey := tls.Certificate{Certificate: [][]byte{der}}
	if _, err := pki.NewSNICerts(ca, noKey, "localhost", func() time.Time { return now }); err == nil {
		t.Error("server certificate without a key accepted")
	}
	// Leaf is parsed when the caller did not set it.
	withKey := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: ca.Key}
	sni, err := pki.NewSNICerts(ca, withKey, "localhost", func() time.Time { return now })
	if err != nil {
		t.Fatalf("NewSNICerts without Leaf: %v", err)
	}
	if c, err := sni.GetCertificate(&tls.ClientHelloInfo{}); err != nil || c.Leaf == nil {
		t.Errorf("server certificate = %v, %v; want one with Leaf set", c, err)
	}
}

// TestSNIEndToEnd serves HTTPS with SNICerts and connects as a Go client that trusts only
// the CA: a vault host gets its exact certificate, the bare address the server certificate.
func TestSNIEndToEnd(t *testing.T) {
	f := newSNI(t, "localhost")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.TLS = &tls.Config{
		Certificates:   []tls.Certificate{f.server}, // for handshakes without SNI
		GetCertificate: f.sni.GetCertificate,
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	roots := x509.NewCertPool()
	roots.AddCert(f.ca.Cert)
	tests := []struct {
		name, serverName string
		wantDNS          []string
	}{
		{"ok/vault-host-exact-cert", "v1.localhost", []string{"v1.localhost"}},
		{"ok/bare-address-server-cert", "", f.server.Leaf.DNSNames}, // verified as 127.0.0.1
		{"ok/localhost-server-cert", "localhost", f.server.Leaf.DNSNames},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
				RootCAs:    roots,
				ServerName: tt.serverName,
				Time:       func() time.Time { return now }, // certificates are dated by the fake clock
			}}}
			t.Cleanup(client.CloseIdleConnections)
			resp, err := client.Get(srv.URL)
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || string(body) != "ok" {
				t.Errorf("got %d %q, want 200 ok", resp.StatusCode, body)
			}
			if got := resp.TLS.PeerCertificates[0].DNSNames; !slices.Equal(got, tt.wantDNS) {
				t.Errorf("peer certificate names %q, want %q", got, tt.wantDNS)
			}
		})
	}
}

// FuzzSNICerts feeds arbitrary SNI names: GetCertificate never fails or panics, and it
// issues a certificate only for a well-formed host name under the vault domain, naming
// exactly that host.
func FuzzSNICerts(f *testing.F) {
	for _, seed := range []string{
		"", "v1.localhost", "V1.LocalHost.", "a.b.localhost", "localhost", "127.0.0.1", "::1",
		"example.com", "-a.localhost", "a_b.localhost", "a..localhost", ".localhost", "\u212a.localhost",
		"ä.localhost", "v1\x00.localhost", strings.Repeat("a", 64) + ".localhost",
	} {
		f.Add(seed)
	}
	fx := newSNI(f, "localhost")
	f.Fuzz(func(t *testing.T, name string) {
		c, err := fx.sni.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
		if err != nil {
			t.Fatalf("GetCertificate(%q): %v", name, err)
		}
		if fx.isServer(c) {
			return
		}
		want := strings.ToLower(strings.TrimSuffix(name, "."))
		if !slices.Equal(c.Leaf.DNSNames, []string{want}) {
			t.Fatalf("GetCertificate(%q) names %q, want [%q]", name, c.Leaf.DNSNames, want)
		}
		if !strings.HasSuffix(want, ".localhost") || len(want) > 253 {
			t.Fatalf("issued for %q, not a host under localhost", want)
		}
		for _, label := range strings.Split(want, ".") {
			if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' ||
				strings.Trim(label, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
				t.Fatalf("issued for %q: bad label %q", want, label)
			}
		}
	})
}
