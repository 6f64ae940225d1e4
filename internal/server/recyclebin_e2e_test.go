package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/coffer/coffer/internal/testenv"
)

type binItem struct {
	Kind, Vault, Name, TimeLeft, RecoveryID string
	DeletedDate, ScheduledPurgeDate         time.Time
	PurgeAllowed                            bool
}

// recycleBin lists GET /admin/recycle-bin with the given token and query.
func recycleBin(t *testing.T, st *testenv.Stack, token, query string) []binItem {
	t.Helper()
	status, body := call(t, st, "GET", st.Server.URL()+"/admin/recycle-bin"+query, token, "")
	if status != 200 {
		t.Fatalf("recycle-bin%s: %d %s", query, status, body)
	}
	var out struct{ Value []binItem }
	if err := json.Unmarshal([]byte(body), &out); err != nil || out.Value == nil {
		t.Fatalf("recycle-bin%s: %v %s", query, err, body)
	}
	return out.Value
}

func binNames(items []binItem) string {
	var s []string
	for _, it := range items {
		s = append(s, it.Kind+":"+it.Vault+"/"+it.Name)
	}
	return strings.Join(s, " ")
}

// binPrincipal creates a principal with these secret permissions on the default vault
// and returns its ARM token.
func binPrincipal(t *testing.T, st *testenv.Stack, name string, secretPerms ...string) string {
	t.Helper()
	return token(t, testenv.Credential(t, newPrincipal(t, st, name, secretPerms...), st.HTTP), armScope)
}

// TestRecycleBin: GET /admin/recycle-bin lists every soft-deleted vault, secret, key and
// certificate the caller may list, by scheduledPurgeDate, with the time left, whether a
// purge is allowed and the recovery id; ?vault= narrows it; other principals see only
// the kinds their access policies let them list, and no deleted vault.
func TestRecycleBin(t *testing.T) {
	st := testenv.NewStack(t)
	ctx := t.Context()
	admin := st.ARMToken(t)
	vc := st.Vaults(t, testenv.DefaultSubscription)
	createVault(t, vc, "coffer", "guarded", vaultParams(st, "local", 7, true))
	createVault(t, vc, "gone", "gone", vaultParams(st, "local", 90, false))

	if got := recycleBin(t, st, admin, ""); len(got) != 0 {
		t.Fatalf("fresh server: %v", got)
	}

	// Deleted an hour apart, so that the order is the order of deletion within a vault's
	// retention; the 7-day vault's secret comes first.
	guarded := st.Secrets(t, "guarded")
	setValue(t, guarded, "g1", "v")
	deleteSecret(t, guarded, "g1")
	sc := st.Secrets(t, "default")
	setEach(t, sc, "v", "s1", "s2", "live")
	kc := st.Keys(t, "default")
	if _, err := kc.CreateKey(ctx, "k1", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC)}, nil); err != nil {
		t.Fatal(err)
	}
	st.ShiftTime(t, time.Hour)
	deleteSecret(t, sc, "s2")
	st.ShiftTime(t, time.Hour)
	deleteSecret(t, sc, "s1")
	if _, err := kc.DeleteKey(ctx, "k1", nil); err != nil { // same date or later: after s1
		t.Fatal(err)
	}
	st.ShiftTime(t, time.Hour)
	if _, err := vc.Delete(ctx, "gone", "gone", nil); err != nil {
		t.Fatal(err)
	}
	st.ShiftTime(t, 30*time.Minute)

	got := recycleBin(t, st, admin, "")
	if want := "secret:guarded/g1 secret:default/s2 secret:default/s1 key:default/k1 vault:gone/gone"; binNames(got) != want {
		t.Fatalf("admin sees %s, want %s", binNames(got), want)
	}
	g, s2, v := got[0], got[1], got[4]
	if g.PurgeAllowed || !s2.PurgeAllowed || !v.PurgeAllowed {
		t.Fatalf("purgeAllowed: %+v", got)
	}
	// 7 days less 3h30m and the seconds the test took; 90 days less 2h30m; 90 days less 30m.
	if !strings.HasPrefix(g.TimeLeft, "6d 20h") || s2.TimeLeft != "89d 21h" || v.TimeLeft != "89d 23h" {
		t.Fatalf("timeLeft: %q %q %q", g.TimeLeft, s2.TimeLeft, v.TimeLeft)
	}
	if !s2.ScheduledPurgeDate.Equal(s2.DeletedDate.Add(90*24*time.Hour)) || g.ScheduledPurgeDate.Sub(g.DeletedDate) != 7*24*time.Hour {
		t.Fatalf("dates: %+v", got)
	}
	if s2.RecoveryID != st.Server.VaultURL("default")+"deletedsecrets/s2" || got[3].RecoveryID != st.Server.VaultURL("default")+"deletedkeys/k1" ||
		v.RecoveryID != "/subscriptions/"+testenv.DefaultSubscription+"/providers/Microsoft.KeyVault/locations/local/deletedVaults/gone" {
		t.Fatalf("recovery ids: %+v", got)
	}
	status, body := call(t, st, "GET", st.Server.URL()+"/admin/recycle-bin", admin, "")
	for _, k := range []string{`"kind"`, `"vault"`, `"name"`, `"deletedDate"`, `"scheduledPurgeDate"`, `"timeLeft"`, `"purgeAllowed"`, `"recoveryId"`} {
		if status != 200 || !strings.Contains(body, k) {
			t.Fatalf("body lacks %s: %s", k, body)
		}
	}

	// ?vault= narrows, case-insensitively; a deleted vault can be named; an unknown one is 404.
	if got := binNames(recycleBin(t, st, admin, "?vault=DEFAULT")); got != "secret:default/s2 secret:default/s1 key:default/k1" {
		t.Fatalf("?vault=default: %s", got)
	}
	if got := binNames(recycleBin(t, st, admin, "?vault=gone")); got != "vault:gone/gone" {
		t.Fatalf("?vault=gone: %s", got)
	}
	if status, body := call(t, st, "GET", st.Server.URL()+"/admin/recycle-bin?vault=nosuch", admin, ""); status != 404 || armCode(t, body) != "VaultNotFound" {
		t.Fatalf("unknown vault: %d %s", status, body)
	}

	// Another principal sees the kinds it may list, in the vaults that let it, and may purge
	// only with the purge permission; never a deleted vault.
	lister := binPrincipal(t, st, "lister", "list")
	if got := recycleBin(t, st, lister, ""); binNames(got) != "secret:default/s2 secret:default/s1" || got[0].PurgeAllowed {
		t.Fatalf("lister sees %+v", got)
	}
	purger := binPrincipal(t, st, "purger", "list", "purge")
	if got := recycleBin(t, st, purger, "?vault=default"); binNames(got) != "secret:default/s2 secret:default/s1" || !got[0].PurgeAllowed {
		t.Fatalf("purger sees %+v", got)
	}
	if got := recycleBin(t, st, binPrincipal(t, st, "nobody"), ""); len(got) != 0 {
		t.Fatalf("a principal without policies sees %+v", got)
	}
	if got := recycleBin(t, st, lister, "?vault=gone"); len(got) != 0 {
		t.Fatalf("a principal sees a deleted vault: %+v", got)
	}

	// Authentication first; GET only.
	if status, body := call(t, st, "GET", st.Server.URL()+"/admin/recycle-bin", "", ""); status != 401 {
		t.Fatalf("no token: %d %s", status, body)
	}
	if status, body := call(t, st, "POST", st.Server.URL()+"/admin/recycle-bin", admin, ""); status != 405 {
		t.Fatalf("POST: %d %s", status, body)
	}

	// Past its scheduledPurgeDate an object is gone from the bin.
	st.ShiftTime(t, 7*24*time.Hour)
	if got := binNames(recycleBin(t, st, admin, "")); strings.Contains(got, "g1") {
		t.Fatalf("after 7 days: %s", got)
	}
}
