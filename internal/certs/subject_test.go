package certs_test

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer/coffer/internal/certs"
)

// atv is an attribute in the test's notation: the OID in dotted form and the value.
type atv struct{ Type, Value string }

// flatten turns an RDN sequence into its attributes, string values only, RDNs as groups.
func flatten(t *testing.T, rdns pkix.RDNSequence) [][]atv {
	t.Helper()
	out := [][]atv{}
	for _, rdn := range rdns {
		var group []atv
		for _, a := range rdn {
			v, ok := a.Value.(string)
			if rv, isRaw := a.Value.(asn1.RawValue); isRaw {
				v, ok = string(rv.Bytes), true
			}
			if !ok {
				t.Fatalf("value %v of %v is not a string", a.Value, a.Type)
			}
			group = append(group, atv{a.Type.String(), v})
		}
		out = append(out, group)
	}
	return out
}

func TestParseSubject(t *testing.T) {
	const (
		cn = "2.5.4.3"
		o  = "2.5.4.10"
		ou = "2.5.4.11"
		c  = "2.5.4.6"
		l  = "2.5.4.7"
		st = "2.5.4.8"
		e  = "1.2.840.113549.1.9.1"
		dc = "0.9.2342.19200300.100.1.25"
	)
	tests := []struct {
		name, in string
		want     [][]atv // in DER order: the reverse of the string's
	}{
		{"ok/lower-case-name", "cn=MyCert", [][]atv{{{cn, "MyCert"}}}},
		{"ok/all-common", "CN=web, OU=ops, O=Contoso, L=Redmond, ST=WA, C=US, E=admin@contoso.com",
			[][]atv{{{e, "admin@contoso.com"}}, {{c, "US"}}, {{st, "WA"}}, {{l, "Redmond"}}, {{o, "Contoso"}}, {{ou, "ops"}}, {{cn, "web"}}}},
		{"ok/windows-names-and-semicolons", "CN=web; S=WA; EMAIL=a@b.c", [][]atv{{{e, "a@b.c"}}, {{st, "WA"}}, {{cn, "web"}}}},
		{"ok/spaces-trimmed", "  CN = web site  ,O=x", [][]atv{{{o, "x"}}, {{cn, "web site"}}}},
		{"ok/quoted-with-comma-and-quote", `O="Contoso, ""Ltd""", CN=web`, [][]atv{{{cn, "web"}}, {{o, `Contoso, "Ltd"`}}}},
		{"ok/rfc4514-escapes", `CN=a\,b\+c\\d\4C`, [][]atv{{{cn, `a,b+c\dL`}}}},
		{"ok/escaped-trailing-space-kept", `CN=a\ `, [][]atv{{{cn, "a "}}}},
		{"ok/multi-valued-rdn", "CN=web+OU=ops, DC=example", [][]atv{{{dc, "example"}}, {{cn, "web"}, {ou, "ops"}}}},
		{"ok/oid-names", "OID.2.5.4.3=web, 1.2.3.4=x", [][]atv{{{"1.2.3.4", "x"}}, {{cn, "web"}}}},
		{"ok/utf8", "CN=Jörg", [][]atv{{{cn, "Jörg"}}}},
		{"ok/equals-in-value", "CN=a=b", [][]atv{{{cn, "a=b"}}}},
		{"ok/empty", "", [][]atv{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdns, err := certs.ParseSubject(tt.in)
			if err != nil {
				t.Fatalf("ParseSubject(%q): %v", tt.in, err)
			}
			if d := cmp.Diff(tt.want, flatten(t, rdns)); d != "" {
				t.Errorf("ParseSubject(%q) (-want +got):\n%s", tt.in, d)
			}
			// Formatting and parsing again gives the same name.
			s := certs.FormatSubject(rdns)
			again, err := certs.ParseSubject(s)
			if err != nil {
				t.Fatalf("ParseSubject(FormatSubject) = ParseSubject(%q): %v", s, err)
			}
			if d := cmp.Diff(flatten(t, rdns), flatten(t, again)); d != "" {
				t.Errorf("round trip through %q (-first +second):\n%s", s, d)
			}
		})
	}
}

func TestFormatSubject(t *testing.T) {
	rdns, err := certs.ParseSubject(`CN=web, O="Contoso, Ltd", ST=WA, C=US, OID.1.2.3.4=x`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := certs.FormatSubject(rdns), `CN=web, O="Contoso, Ltd", S=WA, C=US, OID.1.2.3.4=x`; got != want {
		t.Errorf("FormatSubject = %q; want %q", got, want)
	}
}
