package azapi

import (
	"bytes"
	"context"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/coffer/coffer/internal/plane"
	"github.com/coffer/coffer/internal/vault"
)

// The tests of this file hold the data plane against a hostile client: work the client's
// input decides, requests it abandons, bytes that are not what JSON carries.

// costlyPFX is a PFX (password "pw") whose MAC asks for macIterations key derivations; the
// MAC itself is left as it was, so only the count is wrong.
func costlyPFX(t *testing.T, macIterations int) string {
	t.Helper()
	k := newECKey(t)
	c := issue(t, "costly", &k.PublicKey, nil, k, false)
	der, err := pkcs12.LegacyDES.Encode(k, c, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	var pfx struct {
		Version  int
		AuthSafe asn1.RawValue
		MacData  struct {
			Mac        asn1.RawValue
			Salt       []byte
			Iterations int `asn1:"optional"` // LegacyDES leaves out its DEFAULT of 1
		}
	}
	if _, err := asn1.Unmarshal(der, &pfx); err != nil {
		t.Fatal(err)
	}
	pfx.MacData.Iterations = macIterations
	if der, err = asn1.Marshal(pfx); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// TestCertificateImportBoundsPFXWork: a PFX asking for 100 million key derivations is
// refused with 400 at once, and nothing is imported.
func TestCertificateImportBoundsPFXWork(t *testing.T) {
	e := newEnv(t)
	body := map[string]any{"value": costlyPFX(t, 100_000_000), "pwd": "pw"}
	done := make(chan *httptest.ResponseRecorder, 1)
	started := time.Now()
	go func() { done <- e.do(t, admin, "POST", "/certificates/costly/import", body) }()
	select {
	case rec := <-done:
		wantErr(t, rec, apiErr{400, "BadParameter", "", []string{"100000000 key-derivation iterations for its MAC", "at most 600000"}})
		if d := time.Since(started); d > 500*time.Millisecond {
			t.Errorf("refused after %v; want well under a second", d)
		}
	case <-time.After(time.Second):
		t.Fatal("the import still runs after a second: the PFX's work was not bounded before it started")
	}
	e.must(t, 404, admin, "GET", "/certificates/costly", nil)
}

// doWithContext is env.do with the request's context: a client that goes away is a
// cancelled context.
func (e *env) doWithContext(ctx context.Context, t *testing.T, c client, method, path string, body any) *httptest.ResponseRecorder {
	t.Helper()
	j, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequestWithContext(ctx, method, vaultURL(c.vault)+path+"?api-version="+testAPIVersion, bytes.NewReader(j))
	req.Header.Set("Authorization", "Bearer test")
	rec := httptest.NewRecorder()
	e.plane(c.Principal).Serve(rec, req, func(w http.ResponseWriter, r *http.Request, call *plane.Call) error {
		return e.api.Serve(w, r, c.vault, call)
	})
	return rec
}

// TestCertificateImportsLimited: while every import slot is taken, an import waits for its
// turn and is then answered 503 with Retry-After, importing nothing; one whose client went
// away gives up at once; with a slot free again, the same import succeeds.
func TestCertificateImportsLimited(t *testing.T) {
	e := newEnv(t)
	e.api.importWait = 50 * time.Millisecond
	for range cap(e.api.imports) {
		e.api.imports <- struct{}{}
	}
	body := map[string]any{"value": selfSignedPEM(t, "queued")}

	started := time.Now()
	rec := e.do(t, admin, "POST", "/certificates/queued/import", body)
	wantErr(t, rec, apiErr{503, "ServiceUnavailable", "", []string{"already importing", "nothing was changed", "Retry"}})
	if got := rec.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
	if d := time.Since(started); d < e.api.importWait {
		t.Errorf("answered after %v, before the import had waited %v for its turn", d, e.api.importWait)
	}

	e.api.importWait = time.Hour
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() { done <- e.doWithContext(ctx, t, admin, "POST", "/certificates/queued/import", body) }()
	time.Sleep(20 * time.Millisecond) // the import is waiting for its turn
	cancel()
	select {
	case rec := <-done:
		wantErr(t, rec, apiErr{503, "ServiceUnavailable", "", []string{"ended before its certificate import began"}})
	case <-time.After(5 * time.Second):
		t.Fatal("an import whose client went away still waits for its turn")
	}
	e.must(t, 404, admin, "GET", "/certificates/queued", nil)

	<-e.api.imports
	e.must(t, 200, admin, "POST", "/certificates/queued/import", body)
	if n := len(e.api.imports); n != cap(e.api.imports)-1 {
		t.Errorf("%d import slots taken after the import, want %d: the slot was not given back", n, cap(e.api.imports)-1)
	}
}

// TestBodyMustBeUTF8JSONText: a body with bytes that are not UTF-8, or a \u escape of half
// a surrogate pair, in a secret's value, contentType or tags, or a key's tags, is refused
// with 400 and changes nothing; Go's decoder would have stored U+FFFD instead. Characters
// outside the ASCII range, sent as UTF-8 or as escapes, are stored as sent.
func TestBodyMustBeUTF8JSONText(t *testing.T) {
	e := newEnv(t)
	e.must(t, 200, admin, "PUT", "/secrets/s", map[string]any{"value": "v1", "contentType": "text/plain", "tags": map[string]string{"k": "v"}})
	e.must(t, 200, admin, "POST", "/keys/k/create", map[string]any{"kty": "EC", "tags": map[string]string{"k": "v"}})
	notText := []string{"must be UTF-8 JSON text", "Nothing was changed"}
	for _, tc := range []struct {
		name, method, path, body string
		says                     string
	}{
		{"value", "PUT", "/secrets/s", "{\"value\":\"a\xffb\"}", "byte 11 is not valid UTF-8"},
		{"value-cut-in-a-character", "PUT", "/secrets/s", "{\"value\":\"caf\xc3\"}", "is not valid UTF-8"},
		{"value-lone-surrogate", "PUT", "/secrets/s", `{"value":"\ud800"}`, "first half of a UTF-16 surrogate pair"},
		{"contentType", "PUT", "/secrets/s", "{\"value\":\"v2\",\"contentType\":\"\x1b\x80\"}", "is not valid UTF-8"},
		{"tag", "PUT", "/secrets/s", "{\"value\":\"v2\",\"tags\":{\"k\":\"\xfe\"}}", "is not valid UTF-8"},
		{"tag-name", "PATCH", "/secrets/s/", "{\"tags\":{\"\xc0\xaf\":\"v\"}}", "is not valid UTF-8"},
		{"key-tag", "PATCH", "/keys/k/", `{"tags":{"k":"\udc00"}}`, "second half of a UTF-16 surrogate pair"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, e.do(t, admin, tc.method, tc.path, tc.body), apiErr{400, "BadParameter", "", append(notText, tc.says)})
		})
	}
	s := e.must(t, 200, admin, "GET", "/secrets/s", nil)
	fieldsAre(t, s, map[string]any{"value": "v1", "contentType": "text/plain", "tags": map[string]any{"k": "v"}})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/keys/k", nil), map[string]any{"tags": map[string]any{"k": "v"}})

	e.must(t, 200, admin, "PUT", "/secrets/s", `{"value":"caf\u00e9 😀 \ud83d\ude00 \ufffd","tags":{"ü":"ß"}}`)
	fieldsAre(t, e.must(t, 200, admin, "GET", "/secrets/s", nil), map[string]any{"value": "café 😀 😀 \ufffd", "tags": map[string]any{"ü": "ß"}})
}

// TestEchoedInputIsBounded: a 100 KB api-version, maxresults, object name or version is
// shown in the error message cut to 128 characters and "…", never whole.
func TestEchoedInputIsBounded(t *testing.T) {
	e := newEnv(t)
	e.must(t, 200, admin, "PUT", "/secrets/s", map[string]any{"value": "v"})
	long := strings.Repeat("x", 100_000)
	shown := strings.Repeat("x", 128) + "…"
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"api-version", "GET", "/secrets/s?api-version=" + long, nil, 400},
		{"maxresults", "GET", "/secrets?api-version=7.6&maxresults=" + long, nil, 400},
		{"object-name", "GET", "/secrets/" + long, nil, 400},
		{"version", "GET", "/secrets/s/" + long, nil, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(t, admin, tc.method, tc.path, tc.body)
			msg := str(jsonOf(t, rec), "error.message")
			if rec.Code != tc.status || !strings.Contains(msg, shown) || len(msg) > 1000 {
				t.Errorf("%d, a message of %d bytes: %.300s", rec.Code, len(msg), msg)
			}
		})
	}
}

// TestVaultExistenceNotRevealed: a principal other than the administrator gets the same
// answer for a vault that does not exist, or is deleted, as for a live vault (in Coffer's
// default location) it has no access to: 403 ForbiddenByPolicy with the same message but
// for the vault's name, on reads, changes, lists and routes that touch no object. The
// administrator still gets 404 VaultNotFound; a name no vault can have is 404 for anyone.
func TestVaultExistenceNotRevealed(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"here", "gone"} {
		if _, _, err := e.svc.EnsureVault(t.Context(), vault.Vault{Name: name, RetentionDays: 90, Location: "local"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := e.svc.Internal().DeleteVault(t.Context(), "gone"); err != nil {
		t.Fatal(err)
	}
	const body = `{"value":"AAAA","alg":"ES256","digest":"AAAA","count":8}`
	for _, r := range []struct{ method, path string }{
		{"GET", "/secrets/s"},
		{"PUT", "/secrets/s"},
		{"GET", "/keys"},
		{"POST", "/keys/k/sign"},
		{"POST", "/rng"},
		{"GET", "/deletedcertificates/c"},
	} {
		t.Run(r.method+r.path, func(t *testing.T) {
			for _, who := range []client{stranger, reader} {
				live := e.do(t, who.in("here"), r.method, r.path, body)
				wantErr(t, live, apiErr{403, "Forbidden", "ForbiddenByPolicy", []string{"on key vault 'here;location=local'"}})
				for _, v := range []string{"nosuch", "gone"} {
					rec := e.do(t, who.in(v), r.method, r.path, body)
					if rec.Code != live.Code || rec.Header().Get("x-ms-error-code") != live.Header().Get("x-ms-error-code") ||
						strings.ReplaceAll(rec.Body.String(), "'"+v+";", "'here;") != live.Body.String() {
						t.Errorf("%s on vault %s: %d %s\nbut on a vault it has no access to: %d %s", who.ObjectID, v, rec.Code, rec.Body, live.Code, live.Body)
					}
				}
			}
			for _, v := range []string{"nosuch", "gone"} {
				wantErr(t, e.do(t, admin.in(v), r.method, r.path, body), apiErr{404, "VaultNotFound", "", []string{"Vault " + v + " does not exist or is deleted."}})
			}
			wantErr(t, e.do(t, stranger.in("-"), r.method, r.path, body), apiErr{404, "VaultNotFound", "", nil})
		})
	}
	if ev := e.lastEvent(t); ev.Status != 404 {
		t.Errorf("last audit record %+v", ev)
	}
	e.do(t, stranger.in("nosuch"), "GET", "/secrets", nil)
	if ev := e.lastEvent(t); ev.Status != 403 || !strings.Contains(ev.Decision, "does not exist") {
		t.Errorf("the audit record of a hidden vault says %q (status %d): it should say what happened", ev.Decision, ev.Status)
	}
}
