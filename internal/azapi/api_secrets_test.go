package azapi

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// versioned matches an object id that ends in a version.
func versioned(t *testing.T, id, prefix string) string {
	t.Helper()
	v, ok := strings.CutPrefix(id, prefix+"/")
	if !ok || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(v) {
		t.Fatalf("id %q is not %s/<version>", id, prefix)
	}
	return v
}

// unixAt is the wire's time of start+d.
func unixAt(d time.Duration) int64 { return start.Add(d).Unix() }

func TestSecretLifecycle(t *testing.T) {
	e := newEnv(t)
	base := vaultURL("az") + "/secrets/s1"
	nbf, exp := unixAt(-time.Hour), unixAt(365*24*time.Hour)
	set := e.must(t, 200, admin, "PUT", "/secrets/s1", map[string]any{"value": "v1", "contentType": "text/plain",
		"tags": map[string]string{"env": "dev"}, "attributes": map[string]any{"nbf": nbf, "exp": exp}})
	v1 := versioned(t, str(set, "id"), base)
	fieldsAre(t, set, map[string]any{
		"value": "v1", "contentType": "text/plain", "tags": map[string]string{"env": "dev"},
		"attributes.enabled": true, "attributes.nbf": nbf, "attributes.exp": exp,
		"attributes.created": unixAt(0), "attributes.updated": unixAt(0),
		"attributes.recoveryLevel": "Recoverable+Purgeable", "attributes.recoverableDays": 90,
		"kid": absent, "managed": absent, "recoveryId": absent, "deletedDate": absent,
	})

	e.clk.Advance(time.Minute)
	v2 := versioned(t, str(e.must(t, 200, admin, "PUT", "/secrets/s1", map[string]any{"value": "v2"}), "id"), base)
	if v1 == v2 {
		t.Fatal("a new value did not get a new version")
	}
	fieldsAre(t, e.must(t, 200, admin, "GET", "/secrets/s1/"+v1, nil), map[string]any{"value": "v1", "id": base + "/" + v1})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/secrets/s1", nil), map[string]any{"value": "v2", "contentType": absent, "attributes.exp": absent})

	upd := e.must(t, 200, admin, "PATCH", "/secrets/s1/"+v1, map[string]any{"contentType": "application/json",
		"tags": map[string]string{}, "attributes": map[string]any{"enabled": false, "exp": unixAt(48 * time.Hour)}})
	fieldsAre(t, upd, map[string]any{"value": absent, "id": base + "/" + v1, "contentType": "application/json",
		"attributes.enabled": false, "attributes.exp": unixAt(48 * time.Hour), "attributes.created": unixAt(0),
		"attributes.updated": unixAt(time.Minute)})
	wantErr(t, e.do(t, admin, "GET", "/secrets/s1/"+v1, nil), apiErr{403, "Forbidden", "SecretDisabled", []string{"Operation get is not allowed on a disabled secret."}})
	wantErr(t, e.do(t, admin, "GET", "/secrets/s1/"+ver, nil), apiErr{404, "SecretNotFound", "", []string{"A secret with (name/id) s1/" + ver + " was not found in this key vault"}})

	vers := e.must(t, 200, admin, "GET", "/secrets/s1/versions", nil)
	fieldsAre(t, vers, map[string]any{"nextLink": nil, "value.2": absent, "value.0.value": absent, "value.1.value": absent})
	ids := []string{str(vers, "value.0.id"), str(vers, "value.1.id")}
	if !(ids[0] == base+"/"+v1 && ids[1] == base+"/"+v2 || ids[0] == base+"/"+v2 && ids[1] == base+"/"+v1) {
		t.Errorf("versions %v, want %s and %s", ids, v1, v2)
	}
	fieldsAre(t, e.must(t, 200, admin, "GET", "/secrets", nil), map[string]any{
		"value.0.id": base, "value.0.value": absent, "value.0.attributes.enabled": true, "value.1": absent, "nextLink": nil})

	backup := str(e.must(t, 200, admin, "POST", "/secrets/s1/backup", nil), "value")
	if len(backup) < 20 || strings.ContainsAny(backup, "+/=") {
		t.Fatalf("backup %q is not base64url", backup)
	}

	e.clk.Advance(time.Minute)
	deletedShape := map[string]any{"id": base + "/" + v2, "value": absent, "recoveryId": vaultURL("az") + "/deletedsecrets/s1",
		"deletedDate": unixAt(2 * time.Minute), "scheduledPurgeDate": unixAt(2*time.Minute + 90*24*time.Hour)}
	fieldsAre(t, e.must(t, 200, admin, "DELETE", "/secrets/s1", nil), deletedShape)
	fieldsAre(t, e.must(t, 200, admin, "GET", "/deletedsecrets/s1", nil), deletedShape)
	fieldsAre(t, e.must(t, 200, admin, "GET", "/deletedsecrets", nil), map[string]any{
		"value.0.id": base, "value.0.recoveryId": vaultURL("az") + "/deletedsecrets/s1", "value.0.scheduledPurgeDate": present, "value.1": absent})
	wantErr(t, e.do(t, admin, "GET", "/secrets/s1", nil), apiErr{404, "SecretNotFound", "", []string{"A secret with (name/id) s1 was not found", "recover it"}})
	wantErr(t, e.do(t, admin, "PUT", "/secrets/s1", map[string]any{"value": "v3"}), apiErr{409, "Conflict", "ObjectIsDeletedButRecoverable", []string{
		"Secret s1 is currently in a deleted but recoverable state", "scheduledPurgeDate 2026-08-30T12:02:00Z"}})
	wantErr(t, e.do(t, admin, "POST", "/deletedsecrets/s2/recover", nil), apiErr{404, "SecretNotFound", "", []string{"Deleted Secret not found: s2"}})

	fieldsAre(t, e.must(t, 200, admin, "POST", "/deletedsecrets/s1/recover", nil), map[string]any{"id": base + "/" + v2, "value": absent, "recoveryId": absent})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/secrets/s1", nil), map[string]any{"value": "v2"})

	e.must(t, 200, admin, "DELETE", "/secrets/s1", nil)
	rec := e.do(t, admin, "DELETE", "/deletedsecrets/s1", nil)
	if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Fatalf("purge: %d %q", rec.Code, rec.Body)
	}
	wantErr(t, e.do(t, admin, "GET", "/deletedsecrets/s1", nil), apiErr{404, "SecretNotFound", "", []string{"Deleted Secret not found: s1"}})

	restored := e.must(t, 200, admin, "POST", "/secrets/restore", map[string]any{"value": backup})
	fieldsAre(t, restored, map[string]any{"id": base + "/" + v2, "value": absent})
	// Every version came back as it was: v1 is still disabled.
	wantErr(t, e.do(t, admin, "GET", "/secrets/s1/"+v1, nil), apiErr{403, "Forbidden", "SecretDisabled", nil})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/secrets/s1", nil), map[string]any{"value": "v2"})
	wantErr(t, e.do(t, admin, "POST", "/secrets/restore", map[string]any{"value": backup + "=="}), apiErr{409, "Conflict", "ObjectAlreadyExists", []string{
		"Secret s1 already exists in this vault"}})
}

func TestPurgeProtection(t *testing.T) {
	e := newEnv(t)
	pp := admin.in("pp")
	set := e.must(t, 200, pp, "PUT", "/secrets/s1", map[string]any{"value": "v"})
	fieldsAre(t, set, map[string]any{"attributes.recoveryLevel": "CustomizedRecoverable", "attributes.recoverableDays": 7})
	fieldsAre(t, e.must(t, 200, pp, "DELETE", "/secrets/s1", nil), map[string]any{"scheduledPurgeDate": unixAt(7 * 24 * time.Hour)})
	wantErr(t, e.do(t, pp, "DELETE", "/deletedsecrets/s1", nil), apiErr{403, "Forbidden", "ForbiddenByPolicy", []string{
		`Operation "purge" is not allowed because purge protection is enabled for this vault`,
		"(scheduledPurgeDate 2026-06-08T12:00:00Z)", "Vault: pp;location=northeurope"}})
	// Still there, and recoverable.
	e.must(t, 200, pp, "GET", "/deletedsecrets/s1", nil)
	e.must(t, 200, pp, "POST", "/deletedsecrets/s1/recover", nil)
}

// TestSecretBadRequests: each request fails with nothing changed; none of them echoes the
// value it carried.
func TestSecretBadRequests(t *testing.T) {
	e := newEnv(t)
	e.must(t, 200, admin, "PUT", "/secrets/s1", map[string]any{"value": "v1"})
	const value = "hunter2-value"
	bad := func(says ...string) apiErr { return apiErr{400, "BadParameter", "", says} }
	for _, tc := range []struct {
		name, method, path string
		body               any
		want               apiErr
	}{
		{"no body", "PUT", "/secrets/s1", nil, bad("The request body is empty; a JSON object is required.")},
		{"syntax", "PUT", "/secrets/s1", `{"value":"` + value + `" "x"}`, bad("not valid JSON for this operation: syntax error at byte 26")},
		{"truncated", "PUT", "/secrets/s1", `{"value":"` + value, bad("not valid JSON for this operation: ")},
		{"value a number", "PUT", "/secrets/s1", `{"value":5}`, bad(`field "value" must be a JSON string`)},
		{"tags an array", "PUT", "/secrets/s1", `{"value":"` + value + `","tags":[]}`, bad(`field "tags" must be a JSON object`)},
		{"enabled a string", "PUT", "/secrets/s1", `{"value":"` + value + `","attributes":{"enabled":"yes"}}`, bad(`field "attributes.enabled" must be a JSON boolean`)},
		{"exp a string", "PATCH", "/secrets/s1", `{"attributes":{"exp":"soon"}}`, bad(`field "attributes.exp" must be a JSON number`)},
		{"tag a number", "PUT", "/secrets/s1", `{"value":"` + value + `","tags":{"a":1}}`, bad("must be a JSON string")},
		{"body an array", "PATCH", "/secrets/s1", `[]`, bad("must be a JSON object")},
		{"no value", "PUT", "/secrets/s1", map[string]any{"contentType": "x"}, bad("The request body must have a 'value' property holding the secret value.")},
		{"value too long", "PUT", "/secrets/s1", map[string]any{"value": strings.Repeat("x", 25601)}, bad("The secret value is 25601 bytes; the limit is 25600 bytes.")},
		{"body too long", "PUT", "/secrets/s1", map[string]any{"value": value, "contentType": strings.Repeat("x", 512<<10)}, bad("The request body is larger than the 524288 bytes this operation accepts.")},
		{"contentType too long", "PUT", "/secrets/s1", map[string]any{"value": value, "contentType": strings.Repeat("é", 256)}, bad("contentType is limited to 255 characters.")},
		{"too many tags", "PUT", "/secrets/s1", map[string]any{"value": value, "tags": manyTags(16)}, bad("An object can have at most 15 tags; this request has 16.")},
		{"tag too long", "PATCH", "/secrets/s1", map[string]any{"tags": map[string]string{"t": strings.Repeat("x", 513)}}, bad("Tag names and values are limited to 512 characters.")},
		{"update unknown", "PATCH", "/secrets/s2", map[string]any{"contentType": "x"}, apiErr{404, "SecretNotFound", "", []string{"(name/id) s2 "}}},
		{"restore not base64url", "POST", "/secrets/restore", map[string]any{"value": value + "!"}, bad("The backup blob in 'value' must be the base64url text that backup returned.")},
		{"restore empty", "POST", "/secrets/restore", map[string]any{"value": ""}, bad("The backup blob in 'value' must be the base64url text")},
		{"restore garbage", "POST", "/secrets/restore", map[string]any{"value": enc([]byte(value + value + value))}, bad("Backup blob is invalid: it is not a Coffer backup or it is truncated.")},
		{"restore too long", "POST", "/secrets/restore", map[string]any{"value": strings.Repeat("A", 4<<20)}, bad("larger than the 4194304 bytes")},
		{"backup unknown", "POST", "/secrets/s2/backup", nil, apiErr{404, "SecretNotFound", "", nil}},
		{"delete unknown", "DELETE", "/secrets/s2", nil, apiErr{404, "SecretNotFound", "", nil}},
		{"purge live", "DELETE", "/deletedsecrets/s1", nil, apiErr{404, "SecretNotFound", "", []string{"Deleted Secret not found: s1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(t, admin, tc.method, tc.path, tc.body)
			wantErr(t, rec, tc.want)
			if strings.Contains(rec.Body.String(), value) {
				t.Errorf("the answer echoes the value: %s", rec.Body)
			}
		})
	}
	fieldsAre(t, e.must(t, 200, admin, "GET", "/secrets/s1", nil), map[string]any{"value": "v1", "contentType": absent, "tags": absent})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/secrets/s1/versions", nil), map[string]any{"value.1": absent})
}
