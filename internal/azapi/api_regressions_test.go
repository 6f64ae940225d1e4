package azapi

import (
	"strings"
	"testing"
	"time"
)

// Regression tests of bugs found by the package's own tests, each named by what it
// checks.

// TestDeletedListingNextLinkAdvances: a deleted listing past entries it leaves out still ends.
func TestDeletedListingNextLinkAdvances(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(e *env)
	}{
		{"deleted certificate", func(e *env) {
			for _, n := range []string{"c1", "c2"} {
				e.createCert(t, n, map[string]any{"policy": ecPolicy("CN="+n, "Self")})
				e.must(t, 200, admin, "DELETE", "/certificates/"+n, nil)
			}
		}},
		{"past purge date", func(e *env) {
			for _, n := range []string{"a1", "a2", "a3"} {
				e.must(t, 200, admin, "PUT", "/secrets/"+n, map[string]any{"value": "v"})
				e.must(t, 200, admin, "POST", "/keys/"+n+"/create", map[string]any{"kty": "oct"})
				e.must(t, 200, admin, "DELETE", "/secrets/"+n, nil)
				e.must(t, 200, admin, "DELETE", "/keys/"+n, nil)
			}
			e.clk.Advance(91 * 24 * time.Hour)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tc.setup(e)
			// One entry that is listed, first in name order.
			e.must(t, 200, admin, "PUT", "/secrets/a0", map[string]any{"value": "v"})
			e.must(t, 200, admin, "POST", "/keys/a0/create", map[string]any{"kty": "oct"})
			e.must(t, 200, admin, "DELETE", "/secrets/a0", nil)
			e.must(t, 200, admin, "DELETE", "/keys/a0", nil)
			for _, p := range []string{"/deletedsecrets", "/deletedkeys"} {
				ids, _ := e.walk(t, p, 1) // fails with "nextLink does not end"
				if len(ids) != 1 {
					t.Errorf("%s: %v", p, ids)
				}
			}
		})
	}
}

// The vault fails a certificate listing with the "not found" of a certificate whose first
// issuance is pending (issuer Unknown awaiting a merge, or a failed issuer), so GET
// /certificates answers 404 CertificateNotFound for the whole vault; listCertPage's own
// rule to leave such certificates out is never reached.
// TestCertificateListWhileFirstIssuancePending: a certificate waiting for its first
// issuance (or whose issuance failed) is left out of the list; the list still answers.
func TestCertificateListWhileFirstIssuancePending(t *testing.T) {
	e := newEnv(t)
	e.createCert(t, "done", map[string]any{"policy": ecPolicy("CN=done", "Self")})
	e.createCert(t, "waiting", map[string]any{"policy": ecPolicy("CN=waiting", "Unknown")})
	e.createCert(t, "failed", map[string]any{"policy": ecPolicy("CN=failed", "DigiCert")})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/certificates", nil), map[string]any{
		"value.0.id": vaultURL("az") + "/certificates/done", "value.1": absent})
}

// A certificate may not take the name of a plain key or secret; the vault explains that
// in the error's detail, but describe puts the restore message of ErrAlreadyExists in its
// place, which speaks of a backup the client never sent.
// TestCertificateNameHeldByPlainObjectMessage: the 409 gives the vault's own explanation,
// not the restore text.
func TestCertificateNameHeldByPlainObjectMessage(t *testing.T) {
	e := newEnv(t)
	e.must(t, 200, admin, "POST", "/keys/shared/create", map[string]any{"kty": "oct"})
	rec := e.do(t, admin, "POST", "/certificates/shared/create", map[string]any{"policy": ecPolicy("CN=shared", "Self")})
	wantErr(t, rec, apiErr{409, "Conflict", "ObjectAlreadyExists", []string{"A key named shared exists and is not managed by a certificate"}})
}

// b64.UnmarshalJSON answers a field that is not base64url with its own BadParameter, but
// json.Unmarshal hands that error to jsonProblem, which knows only syntax and type
// errors: the client reads "malformed JSON" about a body that is valid JSON.
// TestBase64FieldError: a field that is not base64url says so.
func TestBase64FieldError(t *testing.T) {
	e := newEnv(t)
	e.must(t, 200, admin, "POST", "/keys/k1/create", map[string]any{"kty": "EC"})
	wantErr(t, e.do(t, admin, "POST", "/keys/k1/sign", `{"alg":"ES256","value":"not base64url!"}`),
		apiErr{400, "BadParameter", "", []string{"base64url"}})
}

// TestCertificateUpdateIsAtomic: a PATCH with a policy that is refused in part changes nothing.
func TestCertificateUpdateIsAtomic(t *testing.T) {
	e := newEnv(t)
	e.createCert(t, "c1", map[string]any{"policy": ecPolicy("CN=c1", "Self")})
	before := e.must(t, 200, admin, "GET", "/certificates/c1/policy", nil)
	policy := map[string]any{"x509_props": map[string]any{"validity_months": 3}}
	wantErr(t, e.do(t, admin, "PATCH", "/certificates/c1", map[string]any{"tags": manyTags(16), "policy": policy}),
		apiErr{400, "BadParameter", "", nil})
	wantErr(t, e.do(t, admin, "PATCH", "/certificates/c1/0123456789abcdef0123456789abcdef", map[string]any{"policy": policy}),
		apiErr{404, "CertificateNotFound", "", nil})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/certificates/c1/policy", nil), map[string]any{
		"x509_props.validity_months": before["x509_props"].(map[string]any)["validity_months"]})
}

// TestIssuerUpdateKeepsEnabled: a PATCH that does not mention attributes.enabled keeps a disabled issuer disabled.
func TestIssuerUpdateKeepsEnabled(t *testing.T) {
	e := newEnv(t)
	e.must(t, 200, admin, "PUT", "/certificates/issuers/ca1", map[string]any{"provider": "Test", "attributes": map[string]any{"enabled": false}})
	fieldsAre(t, e.must(t, 200, admin, "PATCH", "/certificates/issuers/ca1", map[string]any{"provider": "Other"}),
		map[string]any{"provider": "Other", "attributes.enabled": false})
}

// TestImportPolicyDescribesCertificate: an import's recorded policy describes the imported key.
func TestImportPolicyDescribesCertificate(t *testing.T) {
	e := newEnv(t)
	value := selfSignedPEM(t, "i1")
	imp := e.must(t, 200, admin, "POST", "/certificates/i1/import", map[string]any{"value": value,
		"policy": map[string]any{"secret_props": map[string]any{"contentType": "application/x-pem-file"}}})
	fieldsAre(t, imp, map[string]any{"policy.key_props.kty": "EC", "policy.key_props.crv": "P-256"})
	wantErr(t, e.do(t, admin, "POST", "/certificates/i2/import", map[string]any{"value": value, "policy": map[string]any{
		"secret_props": map[string]any{"contentType": "application/x-pem-file"}, "key_props": map[string]any{"kty": "RSA"}}}),
		apiErr{400, "BadParameter", "", []string{"do not match the certificate's key (kty EC, crv P-256)"}})
}

// describe gives every ErrNotFound the message of a soft-deletable object: contacts and
// issuers (which cannot be deleted and recovered) are "A contacts with (name/id)
// contacts was not found … you may be able to recover it".
// TestNotFoundMessagesOfContactsAndIssuers: neither can be recovered, so their 404 does
// not say so.
func TestNotFoundMessagesOfContactsAndIssuers(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/certificates/contacts", "/certificates/issuers/ca1"} {
		rec := e.do(t, admin, "GET", p, nil)
		msg := str(jsonOf(t, rec), "error.message")
		if rec.Code != 404 || msg == "" || strings.Contains(msg, "(name/id)") || strings.Contains(msg, "recover") {
			t.Errorf("%s: %d %q", p, rec.Code, msg)
		}
	}
}

// jsonProblem names the field of a type error as encoding/json reports it: the map
// holding a bad value, or "" for the body itself, so the message names the wrong thing.
// TestTypeErrorNamesTheMember: a wrong kind of value is reported at the member that holds
// it, and a body that is not an object says so.
func TestTypeErrorNamesTheMember(t *testing.T) {
	e := newEnv(t)
	for body, says := range map[string]string{
		`{"value":"v","tags":{"env":1}}`: `"tags.env"`,
		`[]`:                             "The request body must be a JSON object",
	} {
		wantErr(t, e.do(t, admin, "PUT", "/secrets/s1", body), apiErr{400, "BadParameter", "", []string{says}})
	}
}
