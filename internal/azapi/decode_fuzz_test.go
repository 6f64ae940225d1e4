package azapi

import (
	"encoding/json"
	"testing"

	"github.com/coffer/coffer/internal/certs"
)

// FuzzRequestBodies feeds arbitrary bytes to the request decoders of the key crypto,
// key import and certificate policy bodies: an error, never a panic.
func FuzzRequestBodies(f *testing.F) {
	for _, s := range []string{
		`{"alg":"RS256","value":"AAAA"}`, `{"alg":"A256GCM","value":"AA==","iv":"AAAAAAAAAAAAAAAA","tag":"x","aad":""}`,
		`{"key":{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"},"Hsm":true}`,
		`{"policy":{"key_props":{"kty":"RSA","key_size":2048},"x509_props":{"subject":"CN=x","sans":{"dns_names":["a"]}},"lifetime_actions":[{"trigger":{"lifetime_percentage":80},"action":{"action_type":"AutoRenew"}}]}}`,
		`{"value":null}`, `[]`, `{"alg":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var op wireKeyOp
		_ = json.Unmarshal(b, &op)
		var im wireKeyImport
		_ = json.Unmarshal(b, &im)
		var cc wireCertCreate
		if json.Unmarshal(b, &cc) == nil && cc.Policy != nil {
			var p certs.Policy
			mergePolicy(&p, cc.Policy)
			_ = p.Normalize()
		}
	})
}
