package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/certs"
	"github.com/coffer/coffer/internal/rbac"
	"github.com/coffer/coffer/internal/vault"
)

// TestPagesAndActions walks the console as the administrator: create a secret, see it,
// reveal it, delete it, find it in the recycle bin, recover it, delete and purge it.
func TestPagesAndActions(t *testing.T) {
	e := newEnv(t)
	ck := e.signIn(t, e.admin)
	w := e.do("GET", "/console/vaults/shop", nil, ck)
	if w.Code != 200 {
		t.Fatalf("vault page: %d %s", w.Code, w.Body)
	}
	tok := csrf(t, w.Body.String())
	w = e.do("POST", "/console/vaults/shop/secrets", url.Values{"csrf": {tok}, "name": {"db-password"}, "value": {"hunter2"}}, ck)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/vaults/shop/secrets/db-password" {
		t.Fatalf("create: %d %s %s", w.Code, w.Header(), w.Body)
	}
	w = e.do("GET", "/console/vaults/shop/secrets/db-password", nil, ck)
	if w.Code != 200 || strings.Contains(w.Body.String(), "hunter2") {
		t.Fatalf("object page: %d (the value must stay hidden) %s", w.Code, w.Body)
	}
	w = e.do("POST", "/console/vaults/shop/secrets/db-password/reveal", url.Values{"csrf": {tok}}, ck)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "hunter2") {
		t.Fatalf("reveal: %d %s", w.Code, w.Body)
	}
	w = e.do("POST", "/console/vaults/shop/secrets/db-password/delete", url.Values{"csrf": {tok}}, ck)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "recover it from the recycle bin until 2026-08-30 12:00 UTC") {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	w = e.do("GET", "/console/recycle-bin", nil, ck)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `datetime="2026-08-30T12:00:00Z"`) || !strings.Contains(w.Body.String(), "db-password") {
		t.Fatalf("recycle bin: %d %s", w.Code, w.Body)
	}
	w = e.do("POST", "/console/recycle-bin/recover", url.Values{"csrf": {tok}, "vault": {"shop"}, "kind": {"secret"}, "name": {"db-password"}}, ck)
	if w.Code != 200 {
		t.Fatalf("recover: %d %s", w.Code, w.Body)
	}
	if _, err := e.vaults.Internal().GetSecret(t.Context(), "shop", "db-password", ""); err != nil {
		t.Fatalf("after recover: %v", err)
	}
	e.do("POST", "/console/vaults/shop/secrets/db-password/delete", url.Values{"csrf": {tok}}, ck)
	w = e.do("POST", "/console/recycle-bin/purge", url.Values{"csrf": {tok}, "vault": {"shop"}, "kind": {"secret"}, "name": {"db-password"}, "confirm": {"db-pass"}}, ck)
	if w.Code != 400 {
		t.Fatalf("purge without the typed name: %d %s", w.Code, w.Body)
	}
	w = e.do("POST", "/console/recycle-bin/purge", url.Values{"csrf": {tok}, "vault": {"shop"}, "kind": {"secret"}, "name": {"db-password"}, "confirm": {"db-password"}}, ck)
	if w.Code != 200 {
		t.Fatalf("purge: %d %s", w.Code, w.Body)
	}
	if _, err := e.vaults.Internal().Secrets().GetDeleted(t.Context(), "shop", "db-password"); err == nil {
		t.Fatal("the purged secret is still there")
	}
	for _, p := range []string{"/console/vaults", "/console/history?vault=shop", "/console/history"} {
		if w := e.do("GET", p, nil, ck); w.Code != 200 {
			t.Errorf("%s: %d %s", p, w.Code, w.Body)
		}
	}
}

// TestCSRFAndSessions: a change without the session's CSRF token, or from another
// origin, is refused and changes nothing; a session ends after its idle time and its
// absolute lifetime, and at sign-out.
func TestCSRFAndSessions(t *testing.T) {
	e := newEnv(t)
	ck := e.signIn(t, e.admin)
	for _, form := range []url.Values{{"name": {"x"}, "value": {"v"}}, {"csrf": {"forged"}, "name": {"x"}, "value": {"v"}}} {
		if w := e.do("POST", "/console/vaults/shop/secrets", form, ck); w.Code != 403 {
			t.Errorf("without the CSRF token: %d %s", w.Code, w.Body)
		}
	}
	if _, err := e.vaults.Internal().GetSecret(t.Context(), "shop", "x", ""); err == nil {
		t.Fatal("a forged form created a secret")
	}
	e.clk.Advance(29 * time.Minute)
	if w := e.do("GET", "/console/vaults", nil, ck); w.Code != 200 {
		t.Fatalf("after 29 idle minutes: %d", w.Code)
	}
	e.clk.Advance(31 * time.Minute)
	if w := e.do("GET", "/console/vaults", nil, ck); w.Code != http.StatusSeeOther {
		t.Fatalf("after 31 idle minutes: %d, want a redirect to sign in", w.Code)
	}
	ck = e.signIn(t, e.admin)
	for range 12 * 4 {
		e.clk.Advance(15 * time.Minute)
		e.do("GET", "/console/vaults", nil, ck)
	}
	if w := e.do("GET", "/console/vaults", nil, ck); w.Code != http.StatusSeeOther {
		t.Fatalf("after 12 hours: %d, want the session ended", w.Code)
	}
	ck = e.signIn(t, e.admin)
	page := e.do("GET", "/console/vaults", nil, ck).Body.String()
	if w := e.do("POST", "/console/sign-out", url.Values{"csrf": {csrf(t, page)}}, ck); w.Code != http.StatusSeeOther {
		t.Fatalf("sign out: %d", w.Code)
	}
	if w := e.do("GET", "/console/vaults", nil, ck); w.Code != http.StatusSeeOther {
		t.Fatalf("after sign-out: %d", w.Code)
	}
}

// TestSignInRefusedAndSlowedDown: a wrong secret is refused, and repeated failures are
// slowed down as at the token endpoint (429 with Retry-After), the right secret too.
func TestSignInRefusedAndSlowedDown(t *testing.T) {
	e := newEnv(t)
	bad := url.Values{"client_id": {e.limited.ClientID}, "client_secret": {"wrong"}}
	w := e.do("POST", "/console/sign-in", bad, nil)
	if w.Code != 401 || !strings.Contains(w.Body.String(), "The client id or the secret is wrong.") || len(w.Result().Cookies()) != 0 {
		t.Fatalf("wrong secret: %d %v %s", w.Code, w.Result().Cookies(), w.Body)
	}
	if strings.Contains(w.Body.String(), "wrong\"") {
		t.Error("the page echoes the secret")
	}
	limited := false
	for range 30 {
		if w = e.do("POST", "/console/sign-in", bad, nil); w.Code == 429 {
			limited = true
			break
		}
	}
	if !limited || w.Header().Get("Retry-After") == "" {
		t.Fatalf("30 failures: %d, want 429 with Retry-After", w.Code)
	}
	good := url.Values{"client_id": {e.limited.ClientID}, "client_secret": {e.limited.ClientSecret}}
	if w := e.do("POST", "/console/sign-in", good, nil); w.Code != 429 {
		t.Fatalf("the right secret while slowed down: %d", w.Code)
	}
}

// TestSignInLink: a link signs in once, and not after its minute.
func TestSignInLink(t *testing.T) {
	e := newEnv(t)
	tok, _, err := e.c.CreateLink(t.Context(), e.limited.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	w := e.do("GET", "/console/link?t="+tok, nil, nil)
	if w.Code != http.StatusSeeOther || len(w.Result().Cookies()) != 1 {
		t.Fatalf("link: %d %s", w.Code, w.Body)
	}
	if w := e.do("GET", "/console/link?t="+tok, nil, nil); w.Code != 401 {
		t.Fatalf("the link a second time: %d", w.Code)
	}
	tok, _, _ = e.c.CreateLink(t.Context(), e.limited.ClientID)
	e.clk.Advance(61 * time.Second)
	if w := e.do("GET", "/console/link?t="+tok, nil, nil); w.Code != 401 {
		t.Fatalf("an expired link: %d", w.Code)
	}
}

// TestLimitedPrincipal: a principal sees only the vaults and actions its access policy
// grants, and a refusal is a page that says why.
func TestLimitedPrincipal(t *testing.T) {
	e := newEnv(t)
	in := e.vaults.Internal()
	for _, v := range []string{"shop", "vault-locked"} {
		if _, err := in.SetSecret(t.Context(), v, "s1", vault.SecretParams{Value: "x"}); err != nil {
			t.Fatal(err)
		}
		if _, err := in.Secrets().Delete(t.Context(), v, "s1"); err != nil {
			t.Fatal(err)
		}
	}
	ck := e.signIn(t, e.limited)
	w := e.do("GET", "/console/vaults", nil, ck)
	if !strings.Contains(w.Body.String(), ">shop<") || strings.Contains(w.Body.String(), "vault-locked") {
		t.Fatalf("vaults: %s", w.Body)
	}
	w = e.do("GET", "/console/recycle-bin", nil, ck)
	body := w.Body.String()
	if strings.Contains(body, "vault-locked") || !strings.Contains(body, "You may not purge it") || !strings.Contains(body, "You may not recover it") {
		t.Fatalf("recycle bin: %s", body)
	}
	w = e.do("GET", "/console/vaults/vault-locked", nil, ck)
	if w.Code != 403 || !strings.Contains(w.Body.String(), "may not use vault vault-locked") {
		t.Fatalf("another vault: %d %s", w.Code, w.Body)
	}
	tok := csrf(t, body)
	w = e.do("POST", "/console/recycle-bin/recover", url.Values{"csrf": {tok}, "vault": {"shop"}, "kind": {"secret"}, "name": {"s1"}}, ck)
	if w.Code != 403 || !strings.Contains(w.Body.String(), "grants secrets recover") {
		t.Fatalf("recover without the permission: %d %s", w.Code, w.Body)
	}
}

// TestRBACVault: on a vault decided by role assignments, the console decides by them, as
// the data plane does: Key Vault Secrets User at the vault may list and read secrets, not
// delete them; the page shows the assignment, read-only.
func TestRBACVault(t *testing.T) {
	e := newEnv(t)
	const sub = "c0ffe000-0000-4000-8000-000000000000"
	if _, _, err := e.vaults.EnsureVault(t.Context(), vault.Vault{Name: "team", RBAC: true, RetentionDays: 7, Subscription: sub,
		ResourceGroup: "team", Location: "local", TenantID: e.ids.TenantID()}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.vaults.Internal().SetSecret(t.Context(), "team", "api-key", vault.SecretParams{Value: "k-123"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.roles.CreateAssignment(t.Context(), rbac.Assignment{Name: "aaaaaaaa-0000-4000-8000-000000000001",
		Scope: rbac.VaultScope(sub, "team", "team"), RoleDefinitionID: rbac.KeyVaultSecretsUser, PrincipalID: e.oid}, "test"); err != nil {
		t.Fatal(err)
	}
	ck := e.signIn(t, e.limited)
	w := e.do("GET", "/console/vaults/team", nil, ck)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "api-key") || !strings.Contains(w.Body.String(), "Key Vault Secrets User") {
		t.Fatalf("RBAC vault page: %d %s", w.Code, w.Body)
	}
	tok := csrf(t, w.Body.String())
	if w := e.do("POST", "/console/vaults/team/secrets/api-key/reveal", url.Values{"csrf": {tok}}, ck); w.Code != 200 || !strings.Contains(w.Body.String(), "k-123") {
		t.Fatalf("reveal with Secrets User: %d %s", w.Code, w.Body)
	}
	w = e.do("POST", "/console/vaults/team/secrets/api-key/delete", url.Values{"csrf": {tok}}, ck)
	if w.Code != 403 || !strings.Contains(w.Body.String(), "Microsoft.KeyVault/vaults/secrets/delete") {
		t.Fatalf("delete with Secrets User: %d %s", w.Code, w.Body)
	}
}

// TestDeletedVaultInTheBin: the administrator recovers and purges a deleted vault from
// the recycle bin; a purge-protected one is shown disabled with its date.
func TestDeletedVaultInTheBin(t *testing.T) {
	e := newEnv(t)
	in := e.vaults.Internal()
	for _, v := range []string{"shop", "vault-locked"} {
		if _, _, err := in.DeleteVault(t.Context(), v); err != nil {
			t.Fatal(err)
		}
	}
	ck := e.signIn(t, e.admin)
	w := e.do("GET", "/console/recycle-bin?kind=vault", nil, ck)
	body := w.Body.String()
	if !strings.Contains(body, "Purge protection is on for vault vault-locked") || !strings.Contains(body, "2026-06-08 12:00 UTC") {
		t.Fatalf("bin of vaults: %s", body)
	}
	tok := csrf(t, body)
	if w := e.do("POST", "/console/recycle-bin/recover", url.Values{"csrf": {tok}, "vault": {"shop"}, "kind": {"vault"}, "name": {"shop"}}, ck); w.Code != 200 {
		t.Fatalf("recover a vault: %d %s", w.Code, w.Body)
	}
	if w := e.do("POST", "/console/recycle-bin/purge", url.Values{"csrf": {tok}, "vault": {"vault-locked"}, "kind": {"vault"}, "name": {"vault-locked"}, "confirm": {"vault-locked"}}, ck); w.Code != 403 {
		t.Fatalf("purge a protected vault: %d %s", w.Code, w.Body)
	}
	if _, err := in.GetVault(t.Context(), "shop"); err != nil {
		t.Fatalf("recovered vault: %v", err)
	}
}

// TestHistory: the deletion history of a vault lists who deleted what, verifies the
// chain when asked, and shows the vault's purge-warning webhook with the warnings not yet
// delivered.
func TestHistory(t *testing.T) {
	e := newEnv(t)
	in := e.vaults.Internal()
	if _, err := in.SetSecret(t.Context(), "vault-locked", "old", vault.SecretParams{Value: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Secrets().Delete(t.Context(), "vault-locked", "old"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.vaults.CreateWebhook(t.Context(), "vault-locked", "https://127.0.0.1:1/hook", 7*24*time.Hour, ""); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(time.Minute)
	if _, err := e.vaults.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	ck := e.signIn(t, e.admin)
	body := e.do("GET", "/console/history?vault=vault-locked", nil, ck).Body.String()
	for _, want := range []string{"<td>delete</td>", "<td>old</td>", "Verify the chain now", "https://127.0.0.1:1/hook", "SecretPurgeImminent"} {
		if !strings.Contains(body, want) {
			t.Errorf("history lacks %q: %s", want, body)
		}
	}
	body = e.do("GET", "/console/history?vault=vault-locked&verify=1", nil, ck).Body.String()
	if !strings.Contains(body, "hash chain verifies") {
		t.Errorf("verify: %s", body)
	}
}

// TestHiddenVaults: to a principal other than the administrator, a vault it may list
// nothing in and a vault that does not exist are the same refusal.
func TestHiddenVaults(t *testing.T) {
	e := newEnv(t)
	ck := e.signIn(t, e.limited)
	page := func(path, name string) string {
		w := e.do("GET", path, nil, ck)
		if w.Code != 403 {
			t.Fatalf("%s: %d", path, w.Code)
		}
		return strings.ReplaceAll(w.Body.String(), name, "NAME")
	}
	if a, b := page("/console/vaults/vault-locked", "vault-locked"), page("/console/vaults/nosuch", "nosuch"); a != b {
		t.Fatalf("the pages tell the vaults apart:\n%s\n%s", a, b)
	}
}

// TestEnableCertificate: a principal with certificates/update disables and enables a
// certificate version from its page, and the version's key and secret follow it, as
// through the data plane's UpdateCertificate; a principal without the permission gets
// the refusal page and a form without the CSRF token is refused, both changing nothing.
func TestEnableCertificate(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	in := e.vaults.Internal()
	if _, err := in.CreateCertificate(ctx, "shop", "web", certs.Policy{KeyType: "EC", Curve: "P-256", Subject: "CN=web", IssuerName: "Self"}, vault.CertParams{}); err != nil {
		t.Fatal(err)
	}
	c, err := in.GetCertificate(ctx, "shop", "web", "")
	if err != nil {
		t.Fatal(err)
	}
	ver := c.ID
	enabled := func() (cert, key, secret bool) {
		t.Helper()
		c, err := in.GetCertificate(ctx, "shop", "web", ver)
		if err != nil {
			t.Fatal(err)
		}
		// Listed, since a disabled secret version cannot be read.
		ks, _, err := in.Keys().ListVersions(ctx, "shop", "web", "", 10)
		if err != nil || len(ks) != 1 || ks[0].ID != ver {
			t.Fatalf("the certificate's key versions: %v %v", ks, err)
		}
		ss, _, err := in.Secrets().ListVersions(ctx, "shop", "web", "", 10)
		if err != nil || len(ss) != 1 || ss[0].ID != ver {
			t.Fatalf("the certificate's secret versions: %v %v", ss, err)
		}
		return c.Enabled, ks[0].Enabled, ss[0].Enabled
	}
	form := func(tok, to string) url.Values {
		return url.Values{"csrf": {tok}, "version": {ver}, "enabled": {to}}
	}
	const action = "/console/vaults/shop/certificates/web/enabled"

	// The limited principal may list secrets in shop, nothing about certificates.
	ck := e.signIn(t, e.limited)
	tok := csrf(t, e.do("GET", "/console/vaults", nil, ck).Body.String())
	w := e.do("POST", action, form(tok, "false"), ck)
	if w.Code != 403 || !strings.Contains(w.Body.String(), "certificates update") {
		t.Fatalf("disable without certificates/update: %d %s", w.Code, w.Body)
	}
	if c, k, s := enabled(); !c || !k || !s {
		t.Fatalf("a refused disable changed the version: certificate %v key %v secret %v", c, k, s)
	}

	ck = e.signIn(t, e.admin)
	w = e.do("GET", "/console/vaults/shop/certificates/web", nil, ck)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `action="`+action+`"`) || !strings.Contains(w.Body.String(), ">Disable</button>") {
		t.Fatalf("certificate page without the Disable form: %d %s", w.Code, w.Body)
	}
	tok = csrf(t, w.Body.String())
	for _, f := range []url.Values{{"version": {ver}, "enabled": {"false"}}, form("forged", "false")} {
		if w := e.do("POST", action, f, ck); w.Code != 403 {
			t.Errorf("without the CSRF token: %d %s", w.Code, w.Body)
		}
	}
	if c, k, s := enabled(); !c || !k || !s {
		t.Fatalf("a forged form changed the version: certificate %v key %v secret %v", c, k, s)
	}

	w = e.do("POST", action, form(tok, "false"), ck)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/vaults/shop/certificates/web" {
		t.Fatalf("disable: %d %s %s", w.Code, w.Header(), w.Body)
	}
	if c, k, s := enabled(); c || k || s {
		t.Fatalf("after disable: certificate %v key %v secret %v, want all disabled", c, k, s)
	}
	if body := e.do("GET", "/console/vaults/shop/certificates/web", nil, ck).Body.String(); !strings.Contains(body, ">Enable</button>") {
		t.Fatalf("a disabled version's page offers no Enable: %s", body)
	}
	if w := e.do("POST", action, form(tok, "true"), ck); w.Code != http.StatusSeeOther {
		t.Fatalf("enable: %d %s", w.Code, w.Body)
	}
	if c, k, s := enabled(); !c || !k || !s {
		t.Fatalf("after enable: certificate %v key %v secret %v, want all enabled", c, k, s)
	}
}
