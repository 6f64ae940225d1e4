package azapi

import (
	"strings"
	"testing"
)

// TestSpecificMessagesSurvive: a field decoder's own message, and the domain's detail of a
// name conflict, reach the client instead of a generic text.
func TestSpecificMessagesSurvive(t *testing.T) {
	do := goldenAPI(t)
	const v = "?api-version=7.6"
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"base64url field", "PUT", "/keys/k1" + v, `{"key":{"kty":"oct","k":"not base64url!"}}`, 400, "base64url"},
		{"certificate over a plain secret", "POST", "/certificates/taken/create" + v,
			`{"policy":{"issuer":{"name":"Self"},"x509_props":{"subject":"CN=a"}}}`, 409, "not managed by a certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Contains(tc.name, "certificate") {
				if code, body := do("PUT", "/secrets/taken"+v, `{"value":"x"}`); code != 200 {
					t.Fatalf("set: %d %s", code, body)
				}
			}
			code, body := do(tc.method, tc.path, tc.body)
			if code != tc.status || !strings.Contains(string(body), tc.want) {
				t.Fatalf("%d %s, want %d mentioning %q", code, body, tc.status, tc.want)
			}
		})
	}
}
