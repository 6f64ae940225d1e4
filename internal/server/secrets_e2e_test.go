package server_test

import (
	"bytes"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/google/go-cmp/cmp"

	"github.com/coffer/coffer/internal/testenv"
)

func TestSecretLifecycle(t *testing.T) {
	st := testenv.NewStack(t)
	c := st.Secrets(t, "default")
	ctx := t.Context()

	exp := time.Now().Add(48 * time.Hour).Truncate(time.Second)
	set1, err := c.SetSecret(ctx, "db-Password", azsecrets.SetSecretParameters{
		Value: to.Ptr("v1"), ContentType: to.Ptr("text/plain"),
		Tags:             map[string]*string{"env": to.Ptr("dev")},
		SecretAttributes: &azsecrets.SecretAttributes{Expires: &exp},
	}, nil)
	if err != nil {
		t.Fatalf("set: %v", err)
	}
	if *set1.Value != "v1" || *set1.ContentType != "text/plain" || *set1.Tags["env"] != "dev" || !set1.Attributes.Expires.Equal(exp) {
		t.Fatalf("set answered %+v", set1.Secret)
	}
	if got := *set1.Attributes.RecoveryLevel; got != "Recoverable+Purgeable" || *set1.Attributes.RecoverableDays != 90 {
		t.Fatalf("recovery level %s/%d", got, *set1.Attributes.RecoverableDays)
	}
	if set1.ID.Name() != "db-Password" || len(set1.ID.Version()) != 32 {
		t.Fatalf("id %s", *set1.ID)
	}
	set2, err := c.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr("v2")}, nil)
	if err != nil {
		t.Fatal(err)
	}

	// Latest and a given version; names are case-insensitive.
	latest, err := c.GetSecret(ctx, "DB-PASSWORD", "", nil)
	if err != nil || *latest.Value != "v2" {
		t.Fatalf("get latest: %v %v", err, latest.Value)
	}
	old, err := c.GetSecret(ctx, "db-password", set1.ID.Version(), nil)
	if err != nil || *old.Value != "v1" {
		t.Fatalf("get version: %v", err)
	}

	// Update properties of the latest version; the value stays.
	upd, err := c.UpdateSecretProperties(ctx, "db-password", "", azsecrets.UpdateSecretPropertiesParameters{
		ContentType: to.Ptr("application/json"), Tags: map[string]*string{"team": to.Ptr("a")},
		SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(false)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if upd.Value != nil || *upd.ContentType != "application/json" || *upd.Attributes.Enabled {
		t.Fatalf("update answered %+v", upd.Secret)
	}
	_, err = c.GetSecret(ctx, "db-password", "", nil)
	wantCode(t, err, 403, "Forbidden")
	if _, err := c.UpdateSecretProperties(ctx, "db-password", set2.ID.Version(), azsecrets.UpdateSecretPropertiesParameters{
		SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(true)}}, nil); err != nil {
		t.Fatal(err)
	}

	// List and versions.
	if names := listNames(t, c); !cmp.Equal(names, []string{"db-Password"}) {
		t.Fatalf("list: %v", names)
	}
	if vs := listVersions(t, c, "db-password"); len(vs) != 2 {
		t.Fatalf("versions: %v", vs)
	}

	// Delete: the deleted bundle, then 404 on get, name reserved with our message.
	del := deleteSecret(t, c, "db-password")
	if del.Value != nil || del.DeletedDate == nil || del.ScheduledPurgeDate == nil ||
		!strings.HasSuffix(*del.RecoveryID, "/deletedsecrets/db-Password") ||
		del.ScheduledPurgeDate.Sub(*del.DeletedDate) != 90*24*time.Hour {
		t.Fatalf("delete answered %+v", del.DeletedSecret)
	}
	_, err = c.GetSecret(ctx, "db-password", "", nil)
	wantCode(t, err, 404, "SecretNotFound")
	if len(listNames(t, c)) != 0 {
		t.Fatal("deleted secret still listed")
	}
	_, err = c.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil)
	re := wantCode(t, err, 409, "Conflict")
	body, _ := io.ReadAll(re.RawResponse.Body)
	for _, want := range []string{"ObjectIsDeletedButRecoverable", "scheduledPurgeDate", "recover", "purge"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("409 body lacks %q: %s", want, body)
		}
	}
	gd, err := c.GetDeletedSecret(ctx, "db-password", nil)
	if err != nil || !gd.ScheduledPurgeDate.Equal(*del.ScheduledPurgeDate) {
		t.Fatalf("get deleted: %v", err)
	}
	if n := listDeleted(t, c); !cmp.Equal(n, []string{"db-Password"}) {
		t.Fatalf("list deleted: %v", n)
	}
	_, err = c.DeleteSecret(ctx, "db-password", nil)
	wantCode(t, err, 404, "SecretNotFound")

	// Recover brings back both versions with their values.
	rec, err := c.RecoverDeletedSecret(ctx, "db-password", nil)
	if err != nil || rec.ID.Version() != set2.ID.Version() {
		t.Fatalf("recover: %v", err)
	}
	for id, want := range map[string]string{set1.ID.Version(): "v1", set2.ID.Version(): "v2"} {
		got, err := c.GetSecret(ctx, "db-password", id, nil)
		if err != nil || *got.Value != want {
			t.Fatalf("after recover, version %s: %v", id, err)
		}
	}
	_, err = c.RecoverDeletedSecret(ctx, "db-password", nil)
	wantCode(t, err, 404, "SecretNotFound")

	// Purge frees the name for good.
	lifecycle(t, c, "db-password", "delete", "purge")
	_, err = c.GetDeletedSecret(ctx, "db-password", nil)
	wantCode(t, err, 404, "SecretNotFound")
	_, err = c.PurgeDeletedSecret(ctx, "db-password", nil)
	wantCode(t, err, 404, "SecretNotFound")
	reused, err := c.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr("new")}, nil)
	if err != nil {
		t.Fatalf("reuse after purge: %v", err)
	}
	if vs := listVersions(t, c, "db-password"); len(vs) != 1 || vs[0] != reused.ID.Version() {
		t.Fatalf("old versions survived the purge: %v", vs)
	}
}

func TestSecretPaging(t *testing.T) {
	st := testenv.NewStack(t)
	c := st.Secrets(t, "default")
	var want []string
	for i := range 60 {
		name := "s-" + string(rune('a'+i/26)) + string(rune('a'+i%26))
		want = append(want, name)
		setValue(t, c, name, "v")
	}
	for range 30 {
		setValue(t, c, "many", "v")
	}
	want = append(want, "many")
	sort.Strings(want)
	var got []string
	ps := pages(t, c.NewListSecretPropertiesPager(nil))
	for _, page := range ps {
		for _, s := range page.Value {
			got = append(got, s.ID.Name())
		}
	}
	if len(ps) < 3 || !cmp.Equal(got, want) {
		t.Fatalf("%d pages, got %v", len(ps), got)
	}
	if vs := listVersions(t, c, "many"); len(vs) != 30 {
		t.Fatalf("%d versions across pages", len(vs))
	}
	for _, name := range want[:30] {
		deleteSecret(t, c, name)
	}
	if d := listDeleted(t, c); len(d) != 30 {
		t.Fatalf("%d deleted listed", len(d))
	}
}

func TestSecretBackupRestore(t *testing.T) {
	st := testenv.NewStack(t)
	c := st.Secrets(t, "default")
	ctx := t.Context()
	v1, _ := c.SetSecret(ctx, "api-key", azsecrets.SetSecretParameters{Value: to.Ptr("one"), Tags: map[string]*string{"a": to.Ptr("b")}}, nil)
	v2, _ := c.SetSecret(ctx, "api-key", azsecrets.SetSecretParameters{Value: to.Ptr("two")}, nil)
	b, err := c.BackupSecret(ctx, "api-key", nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b.Value, []byte("one")) || bytes.Contains(b.Value, []byte("two")) {
		t.Fatal("backup blob holds a value in clear")
	}

	_, err = c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: b.Value}, nil)
	wantCode(t, err, 409, "Conflict") // live name
	deleteSecret(t, c, "api-key")
	_, err = c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: b.Value}, nil)
	wantCode(t, err, 409, "Conflict") // deleted name
	lifecycle(t, c, "api-key", "purge")

	for i := range []int{0, len(b.Value) / 2, len(b.Value) - 1} {
		bad := bytes.Clone(b.Value)
		bad[i] ^= 0x01
		_, err = c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: bad}, nil)
		wantCode(t, err, 400, "BadParameter")
	}
	_, err = c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: b.Value[:len(b.Value)-5]}, nil)
	wantCode(t, err, 400, "BadParameter")
	_, err = c.GetSecret(ctx, "api-key", "", nil)
	wantCode(t, err, 404, "SecretNotFound") // nothing was created

	r, err := c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: b.Value}, nil)
	if err != nil || r.ID.Version() != v2.ID.Version() {
		t.Fatalf("restore: %v", err)
	}
	got, err := c.GetSecret(ctx, "api-key", v1.ID.Version(), nil)
	if err != nil || *got.Value != "one" || *got.Tags["a"] != "b" {
		t.Fatalf("restored v1: %v", err)
	}
}

func TestRetentionElapses(t *testing.T) {
	st := testenv.NewStack(t)
	c := st.Secrets(t, "default")
	ctx := t.Context()
	setEach(t, c, "v", "old", "recent")
	deleteSecret(t, c, "old")
	st.ShiftTime(t, 89*24*time.Hour)
	deleteSecret(t, c, "recent")
	if _, err := c.GetDeletedSecret(ctx, "old", nil); err != nil {
		t.Fatalf("purged a day early: %v", err)
	}
	st.ShiftTime(t, 24*time.Hour)
	// From the scheduledPurgeDate on, reads treat it as purged, sweeper or not.
	_, err := c.GetDeletedSecret(ctx, "old", nil)
	wantCode(t, err, 404, "SecretNotFound")
	if d := listDeleted(t, c); !cmp.Equal(d, []string{"recent"}) {
		t.Fatalf("deleted list %v", d)
	}
	wantSweep(t, st, 1, "past the retention")
	setValue(t, c, "old", "again") // the name is free after the retention
	if _, err := c.GetDeletedSecret(ctx, "recent", nil); err != nil {
		t.Fatalf("recent: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	st := testenv.NewStack(t)
	v := st.Server.VaultURL("default")
	big := strings.Repeat("x", 25601)
	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"fail/bad-name", "PUT", "secrets/bad_name?api-version=7.6", `{"value":"x"}`, 400, "BadParameter"},
		{"fail/long-name", "PUT", "secrets/" + strings.Repeat("a", 128) + "?api-version=7.6", `{"value":"x"}`, 400, "BadParameter"},
		{"fail/value-too-big", "PUT", "secrets/big?api-version=7.6", `{"value":"` + big + `"}`, 400, "BadParameter"},
		{"fail/malformed-json", "PUT", "secrets/s?api-version=7.6", `{"value":`, 400, "BadParameter"},
		{"fail/missing-value", "PUT", "secrets/s?api-version=7.6", `{"contentType":"x"}`, 400, "BadParameter"},
		{"fail/wrong-type", "PUT", "secrets/s?api-version=7.6", `{"value":1}`, 400, "BadParameter"},
		{"fail/too-many-tags", "PUT", "secrets/s?api-version=7.6", `{"value":"x","tags":{"1":"","2":"","3":"","4":"","5":"","6":"","7":"","8":"","9":"","10":"","11":"","12":"","13":"","14":"","15":"","16":""}}`, 400, "BadParameter"},
		{"fail/no-api-version", "GET", "secrets", "", 400, "BadParameter"},
		{"fail/old-api-version", "GET", "secrets?api-version=6.0", "", 400, "BadParameter"},
		{"fail/bogus-api-version", "GET", "secrets?api-version=1.0-bogus", "", 400, "BadParameter"},
		{"fail/maxresults", "GET", "secrets?api-version=7.6&maxresults=26", "", 400, "BadParameter"},
		{"fail/restore-garbage", "POST", "secrets/restore?api-version=7.6", `{"value":"AAAA"}`, 400, "BadParameter"},
		{"ok/future-api-version", "GET", "secrets?api-version=2031-01-01-preview", "", 200, ""},
		{"ok/seven-dot-n", "GET", "secrets?api-version=7.9", "", 200, ""},
		{"ok/preview-n", "GET", "secrets?api-version=7.4-preview.1", "", 200, ""},
		{"fail/unknown-vault", "GET", "", "", 404, "VaultNotFound"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := v + tc.path
			if tc.name == "fail/unknown-vault" {
				u = st.Server.VaultURL("nope") + "secrets?api-version=7.6"
			}
			status, body := raw(t, st, tc.method, u, tc.body)
			if status != tc.status || (tc.code != "" && !strings.Contains(body, `"code":"`+tc.code+`"`)) {
				t.Fatalf("got %d %s", status, body)
			}
			if strings.Contains(body, big) {
				t.Fatal("the error echoes the value")
			}
		})
	}
	// Nothing changed and the server is healthy.
	status, body := raw(t, st, "GET", v+"secrets?api-version=7.6", "")
	if status != 200 || body != `{"value":[],"nextLink":null}` {
		t.Fatalf("after bad input: %d %s", status, body)
	}
}

func TestChallenge(t *testing.T) {
	st := testenv.NewStack(t)
	// The SDK's first request: no token, no body — even to a path that does not exist.
	for _, path := range []string{"secrets/x", "no/such/route", "secrets?api-version=bogus"} {
		req, _ := http.NewRequest("PUT", st.Server.VaultURL("default")+path, nil)
		resp, err := st.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := `Bearer authorization="` + st.Creds.AuthorityHost + st.Creds.TenantID + `", resource="https://localhost:` + port(st) + `"`
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != want {
			t.Fatalf("%s: %d %q, want %q", path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), want)
		}
	}
}
