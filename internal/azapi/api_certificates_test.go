package azapi

import (
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"
)

// ecPolicy is a small self-issued certificate policy (an EC key is quick to make).
func ecPolicy(subject, issuer string) map[string]any {
	return map[string]any{
		"key_props":  map[string]any{"kty": "EC", "crv": "P-256"},
		"x509_props": map[string]any{"subject": subject},
		"issuer":     map[string]any{"name": issuer},
	}
}

// createCert starts an issuance and returns its operation.
func (e *env) createCert(t *testing.T, name string, body map[string]any) map[string]any {
	t.Helper()
	rec := e.do(t, admin, "POST", "/certificates/"+name+"/create", body)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("create %s: %d %s", name, rec.Code, rec.Body)
	}
	op := jsonOf(t, rec)
	if loc := rec.Header().Get("Location"); loc != vaultURL("az")+"/certificates/"+name+"/pending?api-version=7.6&request_id="+str(op, "request_id") {
		t.Errorf("Location %q", loc)
	}
	if ra := rec.Header().Get("Retry-After"); ra != "0" {
		t.Errorf("Retry-After %q", ra)
	}
	return op
}

func TestCertificateSelfIssued(t *testing.T) {
	e := newEnv(t)
	base := vaultURL("az") + "/certificates/c1"
	pol := ecPolicy("CN=c1", "Self")
	pol["x509_props"].(map[string]any)["sans"] = map[string]any{"dns_names": []string{"c1.example"}}
	pol["x509_props"].(map[string]any)["validity_months"] = 12
	pol["lifetime_actions"] = []any{map[string]any{"trigger": map[string]any{"days_before_expiry": 10}, "action": map[string]any{"action_type": "AutoRenew"}}}
	op := e.createCert(t, "c1", map[string]any{"policy": pol, "tags": map[string]string{"a": "b"}})
	fieldsAre(t, op, map[string]any{"id": base + "/pending", "status": "inProgress", "issuer.name": "Self", "csr": present,
		"cancellation_requested": false, "target": absent, "error": absent})

	rec := e.do(t, admin, "GET", "/certificates/c1/pending", nil)
	if rec.Header().Get("Retry-After") != "0" {
		t.Errorf("Retry-After %q", rec.Header().Get("Retry-After"))
	}
	fieldsAre(t, jsonOf(t, rec), map[string]any{"status": "completed", "target": base, "status_details": absent, "request_id": str(op, "request_id")})

	cert := e.must(t, 200, admin, "GET", "/certificates/c1", nil)
	v1 := versioned(t, str(cert, "id"), base)
	der, err := base64.StdEncoding.DecodeString(str(cert, "cer"))
	if err != nil {
		t.Fatalf("cer: %v", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil || leaf.Subject.CommonName != "c1" || len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "c1.example" {
		t.Fatalf("certificate %v %v", leaf, err)
	}
	sum := sha1.Sum(der)
	fieldsAre(t, cert, map[string]any{
		"kid": vaultURL("az") + "/keys/c1/" + v1, "sid": vaultURL("az") + "/secrets/c1/" + v1, "x5t": enc(sum[:]),
		"tags.a": "b", "attributes.enabled": true, "attributes.nbf": leaf.NotBefore.Unix(), "attributes.exp": leaf.NotAfter.Unix(),
		"attributes.recoveryLevel": "Recoverable+Purgeable", "attributes.recoverableDays": 90,
		"policy.id": base + "/policy", "policy.key_props.kty": "EC", "policy.key_props.crv": "P-256", "policy.key_props.exportable": true,
		"policy.key_props.reuse_key": false, "policy.x509_props.subject": "CN=c1", "policy.x509_props.sans.dns_names": []string{"c1.example"},
		"policy.x509_props.validity_months": 12, "policy.x509_props.basic_constraints.ca": false, "policy.issuer.name": "Self",
		"policy.lifetime_actions.0.trigger.days_before_expiry": 10, "policy.lifetime_actions.0.action.action_type": "AutoRenew",
		"policy.lifetime_actions.0.trigger.lifetime_percentage": absent, "policy.attributes.enabled": true,
	})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/certificates/c1/"+v1, nil), map[string]any{"id": base + "/" + v1})

	// Its key and secret are managed: readable, listed as managed, not changeable directly.
	fieldsAre(t, e.must(t, 200, admin, "GET", "/secrets/c1", nil), map[string]any{"managed": true, "kid": vaultURL("az") + "/keys/c1/" + v1,
		"contentType": "application/x-pkcs12", "value": present})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/secrets", nil), map[string]any{"value.0.managed": true, "value.0.kid": absent})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/keys/c1", nil), map[string]any{"managed": true, "key.kty": "EC"})
	wantErr(t, e.do(t, admin, "PUT", "/secrets/c1", map[string]any{"value": "x"}), apiErr{403, "Forbidden", "SecretManagedByKeyVault", []string{
		`Operation "set" is not allowed as this object's lifetime is managed by Key Vault: the secret c1 backs certificate c1.`}})
	wantErr(t, e.do(t, admin, "DELETE", "/keys/c1", nil), apiErr{403, "Forbidden", "KeyManagedByKeyVault", nil})

	e.clk.Advance(time.Hour)
	upd := e.must(t, 200, admin, "PATCH", "/certificates/c1/policy", map[string]any{
		"key_props":        map[string]any{"reuse_key": true, "exportable": false, "key_size": 256},
		"secret_props":     map[string]any{"contentType": "application/x-pem-file"},
		"x509_props":       map[string]any{"validity_months": 6, "ekus": []string{"1.3.6.1.5.5.7.3.1"}, "key_usage": []string{"digitalSignature"}, "basic_constraints": map[string]any{"ca": false}},
		"issuer":           map[string]any{"cert_transparency": false, "cty": "OV-SSL"},
		"lifetime_actions": []any{map[string]any{"trigger": map[string]any{"lifetime_percentage": 80}, "action": map[string]any{"action_type": "EmailContacts"}}},
		"attributes":       map[string]any{"enabled": true},
	})
	fieldsAre(t, upd, map[string]any{"key_props.reuse_key": true, "key_props.exportable": false, "key_props.key_size": 256,
		"secret_props.contentType": "application/x-pem-file", "x509_props.validity_months": 6, "x509_props.subject": "CN=c1",
		"x509_props.ekus": []string{"1.3.6.1.5.5.7.3.1"}, "x509_props.key_usage": []string{"digitalSignature"},
		"issuer.cert_transparency": false, "issuer.cty": "OV-SSL", "issuer.name": "Self",
		"lifetime_actions.0.trigger.lifetime_percentage": 80, "lifetime_actions.0.action.action_type": "EmailContacts",
		"lifetime_actions.1": absent, "attributes.updated": unixAt(time.Hour)})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/certificates/c1/policy", nil), map[string]any{"x509_props.validity_months": 6, "secret_props.contentType": "application/x-pem-file"})

	patched := e.must(t, 200, admin, "PATCH", "/certificates/c1/"+v1, map[string]any{"tags": map[string]string{"x": "y"},
		"attributes": map[string]any{"enabled": false}, "policy": map[string]any{"x509_props": map[string]any{"validity_months": 3}}})
	fieldsAre(t, patched, map[string]any{"tags": map[string]string{"x": "y"}, "attributes.enabled": false, "attributes.updated": unixAt(time.Hour),
		"policy.x509_props.validity_months": 3})
	// Disabling the certificate disables its secret.
	wantErr(t, e.do(t, admin, "GET", "/secrets/c1/"+v1, nil), apiErr{403, "Forbidden", "SecretDisabled", nil})

	// A new version, with the same key (reuse_key).
	renew := ecPolicy("CN=c1", "Self")
	renew["key_props"].(map[string]any)["reuse_key"] = true
	e.createCert(t, "c1", map[string]any{"policy": renew})
	vers := e.must(t, 200, admin, "GET", "/certificates/c1/versions", nil)
	fieldsAre(t, vers, map[string]any{"value.0.id": present, "value.1.id": present, "value.2": absent, "value.0.policy": absent, "value.0.kid": absent})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/certificates", nil), map[string]any{"value.0.id": base, "value.0.x5t": present, "value.1": absent})
	latest := e.must(t, 200, admin, "GET", "/certificates/c1", nil)
	if str(latest, "id") == base+"/"+v1 {
		t.Fatal("the new version is not the latest")
	}
	k1 := e.must(t, 200, admin, "GET", "/keys/c1/"+v1, nil)
	if k2 := e.must(t, 200, admin, "GET", "/keys/c1", nil); str(k2, "key.x") != str(k1, "key.x") {
		t.Error("reuse_key made a new key")
	}
}

func TestCertificateDeleteRecoverPurgeRestore(t *testing.T) {
	e := newEnv(t)
	base := vaultURL("az") + "/certificates/c1"
	e.createCert(t, "c1", map[string]any{"policy": ecPolicy("CN=c1", "Self")})
	backup := str(e.must(t, 200, admin, "POST", "/certificates/c1/backup", nil), "value")

	e.clk.Advance(time.Minute)
	deletedShape := map[string]any{"recoveryId": vaultURL("az") + "/deletedcertificates/c1", "deletedDate": unixAt(time.Minute),
		"scheduledPurgeDate": unixAt(time.Minute + 90*24*time.Hour), "policy.x509_props.subject": "CN=c1", "cer": present}
	fieldsAre(t, e.must(t, 200, admin, "DELETE", "/certificates/c1", nil), deletedShape)
	fieldsAre(t, e.must(t, 200, admin, "GET", "/deletedcertificates/c1", nil), deletedShape)
	fieldsAre(t, e.must(t, 200, admin, "GET", "/deletedcertificates", nil), map[string]any{"value.0.id": base, "value.0.cer": absent,
		"value.0.recoveryId": vaultURL("az") + "/deletedcertificates/c1", "value.1": absent})
	// Its key and secret went with it.
	wantErr(t, e.do(t, admin, "GET", "/secrets/c1", nil), apiErr{404, "SecretNotFound", "", nil})
	e.must(t, 200, admin, "GET", "/deletedkeys/c1", nil)
	wantErr(t, e.do(t, admin, "GET", "/certificates/c1", nil), apiErr{404, "CertificateNotFound", "", []string{"A certificate with (name/id) c1 was not found"}})
	wantErr(t, e.do(t, admin, "POST", "/certificates/c1/create", map[string]any{"policy": ecPolicy("CN=c1", "Self")}),
		apiErr{409, "Conflict", "ObjectIsDeletedButRecoverable", []string{"Certificate c1 is currently in a deleted but recoverable state"}})

	fieldsAre(t, e.must(t, 200, admin, "POST", "/deletedcertificates/c1/recover", nil), map[string]any{"recoveryId": absent, "policy": present})
	e.must(t, 200, admin, "GET", "/secrets/c1", nil)

	e.must(t, 200, admin, "DELETE", "/certificates/c1", nil)
	if rec := e.do(t, admin, "DELETE", "/deletedcertificates/c1", nil); rec.Code != 204 || rec.Body.Len() != 0 {
		t.Fatalf("purge: %d %s", rec.Code, rec.Body)
	}
	wantErr(t, e.do(t, admin, "GET", "/deletedcertificates/c1", nil), apiErr{404, "CertificateNotFound", "", []string{"Deleted Certificate not found: c1"}})
	wantErr(t, e.do(t, admin, "GET", "/deletedkeys/c1", nil), apiErr{404, "KeyNotFound", "", nil})

	restored := e.must(t, 200, admin, "POST", "/certificates/restore", map[string]any{"value": backup})
	fieldsAre(t, restored, map[string]any{"policy.x509_props.subject": "CN=c1", "kid": present})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/secrets/c1", nil), map[string]any{"managed": true})
	wantErr(t, e.do(t, admin, "POST", "/certificates/restore", map[string]any{"value": backup}), apiErr{409, "Conflict", "ObjectAlreadyExists", []string{"Certificate c1 already exists"}})
}

// TestCertificateMerge: an "Unknown" issuance waits for the certificate signed elsewhere,
// then merges it.
func TestCertificateMerge(t *testing.T) {
	e := newEnv(t)
	op := e.createCert(t, "m1", map[string]any{"policy": ecPolicy("CN=m1", "Unknown"), "tags": map[string]string{"from": "create"}})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/certificates/m1/pending", nil), map[string]any{"status": "inProgress", "issuer.name": "Unknown",
		"status_details": present, "target": absent})
	// A first issuance still pending has nothing to show.
	wantErr(t, e.do(t, admin, "GET", "/certificates/m1", nil), apiErr{404, "CertificateNotFound", "", nil})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/certificates/m1/policy", nil), map[string]any{"issuer.name": "Unknown"})

	csrDER, err := base64.StdEncoding.DecodeString(str(op, "csr"))
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil || csr.Subject.CommonName != "m1" {
		t.Fatalf("csr %v %v", csr, err)
	}
	caKey := newECKey(t)
	ca := issue(t, "Test CA", &caKey.PublicKey, nil, caKey, true)
	leaf := issue(t, "m1", csr.PublicKey, ca, caKey, false)
	std := base64.StdEncoding.EncodeToString
	stray := newECKey(t)

	bad := func(says ...string) apiErr { return apiErr{400, "BadParameter", "", says} }
	for _, tc := range []struct {
		name string
		body any
		want apiErr
	}{
		{"no x5c", map[string]any{}, bad("The request body must have 'x5c'")},
		{"x5c a string", `{"x5c":"AAAA"}`, bad(`field "x5c" must be a JSON array`)},
		{"not base64", map[string]any{"x5c": []string{"***"}}, bad("Each x5c entry must be standard base64 of a DER certificate.")},
		{"not a certificate", map[string]any{"x5c": []string{std([]byte("nope"))}}, bad("x5c[0] is not an X.509 certificate in DER")},
		{"another key", map[string]any{"x5c": []string{std(issue(t, "m1", &stray.PublicKey, ca, caKey, false).Raw)}}, bad("does not match the pending request's key")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, e.do(t, admin, "POST", "/certificates/m1/pending/merge", tc.body), tc.want)
		})
	}

	// The chain may come in any order: the leaf is found by its key.
	rec := e.do(t, admin, "POST", "/certificates/m1/pending/merge", map[string]any{"x5c": []string{std(ca.Raw), std(leaf.Raw)}})
	if rec.Code != http.StatusCreated {
		t.Fatalf("merge: %d %s", rec.Code, rec.Body)
	}
	merged := jsonOf(t, rec)
	v := versioned(t, str(merged, "id"), vaultURL("az")+"/certificates/m1")
	sum := sha1.Sum(leaf.Raw)
	fieldsAre(t, merged, map[string]any{"cer": std(leaf.Raw), "x5t": enc(sum[:]), "tags.from": "create", "attributes.enabled": true,
		"kid": vaultURL("az") + "/keys/m1/" + v, "policy.issuer.name": "Unknown"})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/certificates/m1/pending", nil), map[string]any{"status": "completed", "target": vaultURL("az") + "/certificates/m1"})
	wantErr(t, e.do(t, admin, "POST", "/certificates/m1/pending/merge", map[string]any{"x5c": []string{std(leaf.Raw)}}),
		bad("Certificate m1 has no pending request to merge (its operation is completed)."))
	wantErr(t, e.do(t, admin, "POST", "/certificates/none/pending/merge", map[string]any{"x5c": []string{std(leaf.Raw)}}),
		apiErr{404, "PendingCertificateNotFound", "", []string{"Pending certificate not found: none"}})
}

func TestCertificateOperationCancelAndFailure(t *testing.T) {
	e := newEnv(t)
	e.createCert(t, "p1", map[string]any{"policy": ecPolicy("CN=p1", "Unknown")})
	for _, body := range []any{map[string]any{"cancellation_requested": false}, map[string]any{}} {
		wantErr(t, e.do(t, admin, "PATCH", "/certificates/p1/pending", body), apiErr{400, "BadParameter", "", []string{
			`The only change to a certificate operation is {"cancellation_requested": true}.`}})
	}
	wantErr(t, e.do(t, admin, "PATCH", "/certificates/p1/pending", `{"cancellation_requested":true,"x":"`+strings.Repeat("x", 4096)+`"}`),
		apiErr{400, "BadParameter", "", []string{"larger than the 4096 bytes"}})
	fieldsAre(t, e.must(t, 200, admin, "PATCH", "/certificates/p1/pending", map[string]any{"cancellation_requested": true}),
		map[string]any{"cancellation_requested": true, "id": vaultURL("az") + "/certificates/p1/pending"})
	fieldsAre(t, e.must(t, 200, admin, "DELETE", "/certificates/p1/pending", nil), map[string]any{"cancellation_requested": true})
	wantErr(t, e.do(t, admin, "GET", "/certificates/p1/pending", nil), apiErr{404, "PendingCertificateNotFound", "", []string{"Pending certificate not found: p1"}})
	wantErr(t, e.do(t, admin, "DELETE", "/certificates/p1/pending", nil), apiErr{404, "PendingCertificateNotFound", "", nil})
	wantErr(t, e.do(t, admin, "PATCH", "/certificates/p1/pending", map[string]any{"cancellation_requested": true}), apiErr{404, "PendingCertificateNotFound", "", nil})

	// An issuer Coffer cannot use fails the operation, which says why.
	e.createCert(t, "p2", map[string]any{"policy": ecPolicy("CN=p2", "DigiCert")})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/certificates/p2/pending", nil), map[string]any{"status": "failed", "error.code": "BadParameter",
		"target": absent})
	if msg := str(e.must(t, 200, admin, "GET", "/certificates/p2/pending", nil), "error.message"); !strings.Contains(msg, `Issuer "DigiCert" is not available`) {
		t.Errorf("operation error %q", msg)
	}
}

func TestCertificateImport(t *testing.T) {
	e := newEnv(t)
	pemText := selfSignedPEM(t, "imported")
	imp := e.must(t, 200, admin, "POST", "/certificates/i1/import", map[string]any{"value": pemText, "tags": map[string]string{"src": "pem"},
		"attributes": map[string]any{"enabled": true},
		"policy":     map[string]any{"secret_props": map[string]any{"contentType": "application/x-pem-file"}, "key_props": map[string]any{"exportable": true}}})
	block := strings.SplitAfter(pemText, "-----END PRIVATE KEY-----\n")[1]
	fieldsAre(t, imp, map[string]any{"tags.src": "pem", "policy.x509_props.subject": "CN=imported", "policy.issuer.name": "Unknown",
		"policy.secret_props.contentType": "application/x-pem-file", "cer": present})
	if !strings.Contains(str(e.must(t, 200, admin, "GET", "/secrets/i1", nil), "value"), "BEGIN CERTIFICATE") {
		t.Error("the secret of a PEM import is not PEM")
	}
	// Without a policy, the policy is read from the certificate.
	fieldsAre(t, e.must(t, 200, admin, "POST", "/certificates/i2/import", map[string]any{"value": pemText}),
		map[string]any{"policy.x509_props.subject": "CN=imported", "policy.secret_props.contentType": "application/x-pem-file",
			"policy.key_props.kty": "EC", "policy.key_props.crv": "P-256"})

	privateKey := strings.SplitAfter(pemText, "-----BEGIN PRIVATE KEY-----\n")[1][:40]
	e.must(t, 200, admin, "PUT", "/secrets/plain", map[string]any{"value": "v"})
	bad := func(says ...string) apiErr { return apiErr{400, "BadParameter", "", says} }
	for _, tc := range []struct {
		name, path string
		body       any
		want       apiErr
	}{
		{"no value", "/certificates/i3/import", map[string]any{"pwd": "x"}, bad("The request body must have 'value'")},
		{"value a number", "/certificates/i3/import", `{"value":1}`, bad(`field "value" must be a JSON string`)},
		{"policy without content type", "/certificates/i3/import", map[string]any{"value": pemText, "policy": map[string]any{}}, bad(
			"Property policy has invalid value", "secret_props.contentType")},
		{"only a certificate", "/certificates/i3/import", map[string]any{"value": block}, bad("the PEM text has no private key")},
		{"garbage", "/certificates/i3/import", map[string]any{"value": "not a certificate " + privateKey}, bad("neither PEM text nor a readable PFX")},
		{"too many tags", "/certificates/i3/import", map[string]any{"value": pemText, "tags": manyTags(16)}, bad("at most 15 tags")},
		{"bad name", "/certificates/i_3/import", map[string]any{"value": pemText}, bad("invalid name: i_3")},
		{"name of a plain secret", "/certificates/plain/import", map[string]any{"value": pemText}, apiErr{409, "Conflict", "ObjectAlreadyExists", nil}},
		{"no policy", "/certificates/i3/create", map[string]any{}, bad("The request body must have a 'policy'")},
		{"bad policy", "/certificates/i3/create", map[string]any{"policy": map[string]any{"issuer": map[string]any{"name": "Self"}, "key_props": map[string]any{"kty": "DSA"}}}, bad(`key_props.kty "DSA" cannot back a certificate`)},
		{"create too many tags", "/certificates/i3/create", map[string]any{"policy": ecPolicy("CN=x", "Self"), "tags": manyTags(16)}, bad("at most 15 tags")},
		{"create bad JSON", "/certificates/i3/create", `{"policy":`, bad("not valid JSON")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(t, admin, "POST", tc.path, tc.body)
			wantErr(t, rec, tc.want)
			if strings.Contains(rec.Body.String(), privateKey) {
				t.Errorf("the answer echoes the private key: %s", rec.Body)
			}
		})
	}
	wantErr(t, e.do(t, admin, "GET", "/certificates/i3/policy", nil), apiErr{404, "CertificateNotFound", "", nil})
}

func manyTags(n int) map[string]string {
	tags := map[string]string{}
	for i := range n {
		tags[string(rune('a'+i))] = "x"
	}
	return tags
}

func TestCertificateBadUpdates(t *testing.T) {
	e := newEnv(t)
	e.createCert(t, "c1", map[string]any{"policy": ecPolicy("CN=c1", "Self")})
	for _, tc := range []struct {
		name, path string
		body       any
		want       apiErr
	}{
		{"policy not JSON", "/certificates/c1/policy", `{"x509_props":[]}`, apiErr{400, "BadParameter", "", []string{`field "x509_props" must be a JSON object`}}},
		{"policy invalid", "/certificates/c1/policy", map[string]any{"x509_props": map[string]any{"validity_months": -1}}, apiErr{400, "BadParameter", "", []string{"x509_props.validity_months -1 is not valid; use 1 to 1200"}}},
		{"policy of unknown", "/certificates/c2/policy", map[string]any{}, apiErr{404, "CertificateNotFound", "", nil}},
		{"unknown", "/certificates/c2", map[string]any{"tags": map[string]string{}}, apiErr{404, "CertificateNotFound", "", nil}},
		{"unknown version", "/certificates/c1/" + ver, map[string]any{"tags": map[string]string{}}, apiErr{404, "CertificateNotFound", "", []string{"c1/" + ver}}},
		{"update with a bad policy", "/certificates/c1", map[string]any{"tags": map[string]string{"t": "x"}, "policy": map[string]any{"x509_props": map[string]any{"validity_months": -1}}},
			apiErr{400, "BadParameter", "", []string{"x509_props.validity_months -1 is not valid"}}},
		{"update not JSON", "/certificates/c1", `{"attributes":{"enabled":1}}`, apiErr{400, "BadParameter", "", []string{`field "attributes.enabled" must be a JSON boolean`}}},
	} {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, e.do(t, admin, "PATCH", tc.path, tc.body), tc.want) })
	}
	fieldsAre(t, e.must(t, 200, admin, "GET", "/certificates/c1", nil), map[string]any{"attributes.enabled": true, "tags": absent,
		"policy.x509_props.validity_months": 12})
}

func TestCertificateContacts(t *testing.T) {
	e := newEnv(t)
	wantErr(t, e.do(t, admin, "GET", "/certificates/contacts", nil), apiErr{404, "ContactsNotFound", "", nil})
	wantErr(t, e.do(t, admin, "DELETE", "/certificates/contacts", nil), apiErr{404, "ContactsNotFound", "", nil})
	contacts := []map[string]string{{"email": "ops@example.com", "name": "Ops"}, {"phone": "+1 555"}}
	want := map[string]any{"id": vaultURL("az") + "/certificates/contacts", "contacts": contacts}
	fieldsAre(t, e.must(t, 200, admin, "PUT", "/certificates/contacts", map[string]any{"contacts": contacts}), want)
	fieldsAre(t, e.must(t, 200, admin, "GET", "/certificates/contacts", nil), want)
	wantErr(t, e.do(t, admin, "PUT", "/certificates/contacts", map[string]any{"contacts": []map[string]string{{}}}),
		apiErr{400, "BadParameter", "", []string{"Each contact needs an email, a name or a phone."}})
	wantErr(t, e.do(t, admin, "PUT", "/certificates/contacts", `{"contacts":{}}`), apiErr{400, "BadParameter", "", []string{`field "contacts" must be a JSON array`}})
	fieldsAre(t, e.must(t, 200, admin, "DELETE", "/certificates/contacts", nil), want)
	wantErr(t, e.do(t, admin, "GET", "/certificates/contacts", nil), apiErr{404, "ContactsNotFound", "", nil})
	// An empty list is a list.
	fieldsAre(t, e.must(t, 200, admin, "PUT", "/certificates/contacts", map[string]any{"contacts": []any{}}), map[string]any{"contacts": []any{}})
}

func TestCertificateIssuers(t *testing.T) {
	e := newEnv(t)
	base := vaultURL("az") + "/certificates/issuers/ca1"
	set := e.must(t, 200, admin, "PUT", "/certificates/issuers/ca1", map[string]any{"provider": "Test",
		"credentials": map[string]any{"account_id": "acct", "pwd": "issuer-password"}, "org_details": map[string]any{"id": "org1"},
		"attributes": map[string]any{"enabled": false}})
	want := map[string]any{"id": base, "provider": "Test", "credentials.account_id": "acct", "credentials.pwd": absent,
		"org_details.id": "org1", "attributes.enabled": false, "attributes.created": unixAt(0), "attributes.updated": unixAt(0)}
	fieldsAre(t, set, want)
	fieldsAre(t, e.must(t, 200, admin, "GET", "/certificates/issuers/ca1", nil), want)

	e.clk.Advance(time.Minute)
	fieldsAre(t, e.must(t, 200, admin, "PATCH", "/certificates/issuers/ca1", map[string]any{"provider": "Other", "attributes": map[string]any{"enabled": false}}),
		map[string]any{"provider": "Other", "credentials.account_id": "acct", "org_details.id": "org1", "attributes.created": unixAt(0),
			"attributes.updated": unixAt(time.Minute)})
	e.must(t, 200, admin, "PUT", "/certificates/issuers/ca2", map[string]any{"provider": "Test"})
	list := e.must(t, 200, admin, "GET", "/certificates/issuers", nil)
	fieldsAre(t, list, map[string]any{"value.0.id": base, "value.0.provider": "Other", "value.0.attributes": absent, "value.0.credentials": absent,
		"value.1.id": vaultURL("az") + "/certificates/issuers/ca2", "value.2": absent, "nextLink": nil})

	for _, tc := range []struct {
		name, method, path string
		body               any
		want               apiErr
	}{
		{"no provider", "PUT", "/certificates/issuers/ca3", map[string]any{}, apiErr{400, "BadParameter", "", []string{"An issuer needs a 'provider'."}}},
		{"reserved name", "PUT", "/certificates/issuers/Self", map[string]any{"provider": "x"}, apiErr{400, "BadParameter", "", []string{"Self and Unknown are reserved issuer names"}}},
		{"bad name", "PUT", "/certificates/issuers/c_a", map[string]any{"provider": "x"}, apiErr{400, "BadParameter", "", []string{"invalid issuer name: c_a"}}},
		{"update unknown", "PATCH", "/certificates/issuers/ca3", map[string]any{"provider": "x"}, apiErr{404, "IssuerNotFound", "", nil}},
		{"not JSON", "PUT", "/certificates/issuers/ca3", `{"provider":1}`, apiErr{400, "BadParameter", "", []string{`field "provider" must be a JSON string`}}},
		{"get unknown", "GET", "/certificates/issuers/ca3", nil, apiErr{404, "IssuerNotFound", "", nil}},
		{"delete unknown", "DELETE", "/certificates/issuers/ca3", nil, apiErr{404, "IssuerNotFound", "", nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(t, admin, tc.method, tc.path, tc.body)
			wantErr(t, rec, tc.want)
			if strings.Contains(rec.Body.String(), "issuer-password") {
				t.Error("the answer holds the issuer's password")
			}
		})
	}
	fieldsAre(t, e.must(t, 200, admin, "DELETE", "/certificates/issuers/ca1", nil), map[string]any{"id": base, "provider": "Other", "credentials.pwd": absent})
	wantErr(t, e.do(t, admin, "GET", "/certificates/issuers/ca1", nil), apiErr{404, "IssuerNotFound", "", nil})
}
