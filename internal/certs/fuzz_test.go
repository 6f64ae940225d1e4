package certs_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/coffer/coffer/internal/certs"
)

// FuzzParseImport feeds arbitrary values, passwords and content types to ParseImport: it
// must return a key and chain or an ErrInvalid error, never panic, and what it returns must
// be consistent (the leaf is the key's, the content type the policy's when one was given).
// More seeds are in testdata/fuzz/FuzzParseImport.
func FuzzParseImport(f *testing.F) {
	chain := testChain(f, ecKey())
	f.Add(must(certs.EncodeSecret("application/x-pkcs12", ecKey(), chain)), "", "")
	f.Add(must(certs.EncodeSecret("application/x-pem-file", ecKey(), chain)), "", "application/x-pem-file")
	f.Add(base64.StdEncoding.EncodeToString(must(pkcs12.Modern2023.Encode(ecKey(), chain[0], chain[1:], "pw"))), "pw", "application/x-pkcs12")
	f.Add(base64.StdEncoding.EncodeToString(must(pkcs12.LegacyRC2.Encode(ecKey(), chain[0], nil, "pw"))), "x", "")
	f.Add(certsPEM(chain...), "", "")
	f.Add("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n", "", "")
	f.Add("MIIB", "", "text/plain")
	f.Fuzz(func(t *testing.T, value, password, contentType string) {
		key, chain, detected, err := certs.ParseImport(value, password, contentType)
		if err != nil {
			if !errors.Is(err, certs.ErrInvalid) {
				t.Fatalf("error %q does not wrap ErrInvalid", err)
			}
			return
		}
		if len(chain) == 0 || !equalKeys(key.Public(), chain[0].PublicKey) {
			t.Fatal("the leaf is not the key's certificate")
		}
		if detected != "application/x-pkcs12" && detected != "application/x-pem-file" {
			t.Fatalf("detected content type %q", detected)
		}
		if contentType != "" && !equalFoldTrim(contentType, detected) {
			t.Fatalf("content type %q accepted for %s", contentType, detected)
		}
	})
}

func equalFoldTrim(a, b string) bool { return strings.EqualFold(strings.TrimSpace(a), b) }

// FuzzParseSubject: a subject either fails with ErrInvalid or parses, and then formatting
// and parsing again gives the same name.
func FuzzParseSubject(f *testing.F) {
	for _, s := range []string{
		"cn=MyCert", `CN=web, O="Contoso, ""Ltd""", OU=ops, C=US, E=a@b.c`, `CN=a\,b\+c\\d\4C`,
		"CN=web+OU=ops; DC=example", "OID.1.2.3.4=x, 2.5.4.3=y", "", "CN=", `CN="x`, "C=USA", "CN=a\\",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rdns, err := certs.ParseSubject(s)
		if err != nil {
			if !errors.Is(err, certs.ErrInvalid) {
				t.Fatalf("error %q does not wrap ErrInvalid", err)
			}
			return
		}
		formatted := certs.FormatSubject(rdns)
		again, err := certs.ParseSubject(formatted)
		if err != nil {
			t.Fatalf("ParseSubject(%q) parsed, but its formatting %q does not: %v", s, formatted, err)
		}
		if d := cmp.Diff(flatten(t, rdns), flatten(t, again)); d != "" {
			t.Fatalf("%q formatted as %q parses differently (-first +second):\n%s", s, formatted, d)
		}
	})
}
