package azapi

import (
	"net/http"
	"strings"
	"testing"
)

const ver = "0123456789abcdef0123456789abcdef"

type routeCase struct{ method, path, op, perm string }

// everyRoute is one request for each route of the data plane, with the operation it is
// audited as and the access-policy permission it needs, as Azure names them.
var everyRoute = func() []routeCase {
	var rs []routeCase
	// The operations every kind of object has, named alike.
	for _, k := range []struct{ c, K string }{{"secrets", "Secret"}, {"keys", "Key"}, {"certificates", "Certificate"}} {
		c, K := k.c, k.K
		rs = append(rs,
			routeCase{"GET", "/" + c, "List" + K + "s", c + " list"},
			routeCase{"POST", "/" + c + "/restore", "Restore" + K, c + " restore"},
			routeCase{"GET", "/" + c + "/n/versions", "List" + K + "Versions", c + " list"},
			routeCase{"POST", "/" + c + "/n/backup", "Backup" + K, c + " backup"},
			routeCase{"DELETE", "/" + c + "/n", "Delete" + K, c + " delete"},
			routeCase{"GET", "/deleted" + c, "ListDeleted" + K + "s", c + " list"},
			routeCase{"GET", "/deleted" + c + "/n", "GetDeleted" + K, c + " get"},
			routeCase{"DELETE", "/deleted" + c + "/n", "PurgeDeleted" + K, c + " purge"},
			routeCase{"POST", "/deleted" + c + "/n/recover", "RecoverDeleted" + K, c + " recover"})
	}
	// The key crypto operations, on the latest version and on a given one.
	for _, o := range []struct{ seg, op, perm string }{
		{"sign", "Sign", "sign"}, {"verify", "Verify", "verify"}, {"encrypt", "Encrypt", "encrypt"},
		{"decrypt", "Decrypt", "decrypt"}, {"wrapkey", "WrapKey", "wrapKey"}, {"unwrapkey", "UnwrapKey", "unwrapKey"},
	} {
		for _, key := range []string{"/keys/n/", "/keys/n/" + ver + "/"} {
			rs = append(rs, routeCase{"POST", key + o.seg, o.op, "keys " + o.perm})
		}
	}
	return append(rs, []routeCase{
		{"PUT", "/secrets/n", "SetSecret", "secrets set"},
		{"GET", "/secrets/n/" + ver, "GetSecret", "secrets get"},
		{"PATCH", "/secrets/n/", "UpdateSecret", "secrets set"},

		{"POST", "/keys/n/create", "CreateKey", "keys create"},
		{"PUT", "/keys/n", "ImportKey", "keys import"},
		{"GET", "/keys/n", "GetKey", "keys get"},
		{"PATCH", "/keys/n/" + ver, "UpdateKey", "keys update"},
		{"POST", "/keys/n/rotate", "RotateKey", "keys rotate"},
		{"GET", "/keys/n/rotationpolicy", "GetKeyRotationPolicy", "keys getrotationpolicy"},
		{"PUT", "/keys/n/rotationpolicy", "UpdateKeyRotationPolicy", "keys setrotationpolicy"},
		{"POST", "/rng", "GetRandomBytes", "keys get"},

		{"POST", "/certificates/n/create", "CreateCertificate", "certificates create"},
		{"POST", "/certificates/n/import", "ImportCertificate", "certificates import"},
		{"GET", "/certificates/n/", "GetCertificate", "certificates get"},
		{"PATCH", "/certificates/n/" + ver, "UpdateCertificate", "certificates update"},
		{"GET", "/certificates/n/policy", "GetCertificatePolicy", "certificates get"},
		{"PATCH", "/certificates/n/policy", "UpdateCertificatePolicy", "certificates update"},
		{"GET", "/certificates/n/pending", "GetCertificateOperation", "certificates get"},
		{"PATCH", "/certificates/n/pending", "UpdateCertificateOperation", "certificates update"},
		{"DELETE", "/certificates/n/pending", "DeleteCertificateOperation", "certificates delete"},
		{"POST", "/certificates/n/pending/merge", "MergeCertificate", "certificates create"},
		{"GET", "/certificates/contacts", "GetCertificateContacts", "certificates managecontacts"},
		{"PUT", "/certificates/contacts", "SetCertificateContacts", "certificates managecontacts"},
		{"DELETE", "/certificates/contacts", "DeleteCertificateContacts", "certificates managecontacts"},
		{"GET", "/certificates/issuers", "GetCertificateIssuers", "certificates listissuers"},
		{"GET", "/certificates/issuers/i", "GetCertificateIssuer", "certificates getissuers"},
		{"PUT", "/certificates/issuers/i", "SetCertificateIssuer", "certificates setissuers"},
		{"PATCH", "/certificates/issuers/i", "UpdateCertificateIssuer", "certificates setissuers"},
		{"DELETE", "/certificates/issuers/i", "DeleteCertificateIssuer", "certificates deleteissuers"},
	}...)
}()

// TestEveryRouteRefusesAStranger: a principal no access policy names is refused every
// operation with 403 ForbiddenByPolicy naming the permission, the vault and its location,
// before anything is read or written; the refusal is audited with the operation and no
// "request" record (so a mutation never started).
func TestEveryRouteRefusesAStranger(t *testing.T) {
	e := newEnv(t)
	reached := map[*route]bool{}
	// A body that passes the checks a read makes before it reaches the vault (the key
	// crypto operations need alg and value).
	const body = `{"alg":"ES256","value":"AAAA","digest":"AAAA"}`
	for _, r := range everyRoute {
		t.Run(r.method+r.path, func(t *testing.T) {
			rt, _, err := match(r.method, r.path)
			if err != nil {
				t.Fatal(err)
			}
			reached[rt] = true
			before := len(e.sink.Events())
			rec := e.do(t, stranger, r.method, r.path, body)
			wantErr(t, rec, apiErr{http.StatusForbidden, "Forbidden", "ForbiddenByPolicy", []string{
				"'appid=stranger-app;oid=stranger-oid' does not have " + r.perm + " permission on key vault 'az;location=westeurope'",
				"grant " + r.perm + " to object id stranger-oid",
			}})
			evs := e.sink.Events()[before:]
			if len(evs) != 1 {
				t.Fatalf("%d audit records, want the outcome only: %+v", len(evs), evs)
			}
			ev := evs[0]
			if ev.Phase != "outcome" || ev.Operation != r.op || ev.Status != http.StatusForbidden || ev.Vault != "az" ||
				ev.Decision != "denied: no access policy grants "+r.perm+" to object id stranger-oid" ||
				ev.Principal.ObjectID != "stranger-oid" || ev.RequestID != rec.Header().Get("X-Ms-Request-Id") {
				t.Errorf("audit record %+v", ev)
			}
		})
	}
	for i := range routes {
		if !reached[&routes[i]] {
			t.Errorf("everyRoute has no request for %s %s", routes[i].method, routes[i].pattern)
		}
	}
	// Nothing the stranger asked for happened.
	for _, p := range []string{"/secrets", "/keys", "/certificates", "/certificates/issuers"} {
		fieldsAre(t, e.must(t, 200, admin, "GET", p, nil), map[string]any{"value": []any{}})
	}
}

// TestAccessPolicyGrantsWhatItNames: reader may get and list secrets (the policy spells
// "Get"), and nothing else on secrets; the audit record says which grant allowed it.
func TestAccessPolicyGrantsWhatItNames(t *testing.T) {
	e := newEnv(t)
	e.must(t, 200, admin, "PUT", "/secrets/s1", map[string]any{"value": "v1"})

	fieldsAre(t, e.must(t, 200, reader, "GET", "/secrets/s1", nil), map[string]any{"value": "v1"})
	if ev := e.lastEvent(t); ev.Decision != "allowed: access policy grants secrets Get" || ev.Operation != "GetSecret" || ev.ObjectID != "secrets/s1" {
		t.Errorf("audit record %+v", ev)
	}
	e.must(t, 200, reader, "GET", "/secrets", nil)
	if ev := e.lastEvent(t); ev.Decision != "allowed: access policy grants secrets list" {
		t.Errorf("audit record %+v", ev)
	}
	// "all" grants every key permission, including the ones no route of secrets has.
	e.must(t, 200, reader, "POST", "/keys/k1/create", map[string]any{"kty": "EC"})
	if ev := e.lastEvent(t); ev.Decision != "allowed: access policy grants keys all" {
		t.Errorf("audit record %+v", ev)
	}

	for _, r := range []struct{ method, path, perm string }{
		{"PUT", "/secrets/s1", "secrets set"},
		{"DELETE", "/secrets/s1", "secrets delete"},
		{"PATCH", "/secrets/s1", "secrets set"},
		{"POST", "/secrets/s1/backup", "secrets backup"},
		{"GET", "/certificates", "certificates list"},
	} {
		rec := e.do(t, reader, r.method, r.path, map[string]any{"value": "changed", "contentType": "x"})
		wantErr(t, rec, apiErr{403, "Forbidden", "ForbiddenByPolicy", []string{"does not have " + r.perm + " permission", "location=westeurope"}})
	}
	// The refused changes changed nothing.
	fieldsAre(t, e.must(t, 200, admin, "GET", "/secrets/s1", nil), map[string]any{"value": "v1", "contentType": absent})

	// The policy is the vault's: reader has none on pp.
	wantErr(t, e.do(t, reader.in("pp"), "GET", "/secrets/s1", nil), apiErr{403, "Forbidden", "ForbiddenByPolicy", []string{
		"does not have secrets get permission on key vault 'pp;location=northeurope'"}})
}

func TestRequestsThatReachNoOperation(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, method, path string
		c                  client
		want               apiErr
	}{
		{"no route", "GET", "/nothing", admin, apiErr{404, "NotFound", "", []string{"There is no Key Vault operation at this path"}}},
		{"too deep", "GET", "/secrets/a/b/c", admin, apiErr{404, "NotFound", "", nil}},
		{"method", "POST", "/secrets/n", admin, apiErr{405, "MethodNotAllowed", "", []string{"The HTTP method POST is not supported at this path."}}},
		{"no api-version", "GET", "/secrets?maxresults=1", admin, apiErr{400, "BadParameter", "", []string{"api-version query parameter is missing", "api-version=" + latestAPIVersion}}},
		{"old api-version", "GET", "/secrets?api-version=2016-10-01", admin, apiErr{400, "BadParameter", "", []string{"The specified version (2016-10-01) is not recognized", latestAPIVersion}}},
		{"vault not found", "GET", "/secrets", admin.in("gone"), apiErr{404, "VaultNotFound", "", []string{"Vault gone does not exist or is deleted."}}},
		{"vault not found, mutation", "PUT", "/secrets/s", admin.in("gone"), apiErr{404, "VaultNotFound", "", nil}},
		{"bad name", "GET", "/secrets/bad_name", admin, apiErr{400, "BadParameter", "", []string{"invalid name: bad_name"}}},
		{"name too long", "PUT", "/secrets/" + strings.Repeat("n", 128), admin, apiErr{400, "BadParameter", "", []string{"1-127 characters"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(t, tc.c, tc.method, tc.path, `{"value":"v"}`)
			wantErr(t, rec, tc.want)
			if id := rec.Header().Get("X-Ms-Request-Id"); len(id) != 36 || e.lastEvent(t).RequestID != id {
				t.Errorf("request id %q, audited %q", id, e.lastEvent(t).RequestID)
			}
		})
	}
	// Preview and future versions are accepted.
	for _, v := range []string{"7.4-preview.1", "2031-02-03", "7.99"} {
		e.must(t, 200, admin, "GET", "/secrets?api-version="+v, nil)
	}
	// Paths are matched case-insensitively and "latest" may end in a slash.
	e.must(t, 200, admin, "PUT", "/Secrets/s1", map[string]any{"value": "v"})
	e.must(t, 200, admin, "GET", "/SECRETS/s1/", nil)
	if ev := e.lastEvent(t); ev.Operation != "GetSecret" || ev.ObjectID != "secrets/s1" || ev.Source == "" {
		t.Errorf("audit record %+v", ev)
	}
}
