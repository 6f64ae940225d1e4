package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/chromedp/chromedp"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/testenv"
)

// The browser console, driven in Debian's Chromium (headless, through chromedp) against
// a whole server over TLS. Without a Chromium this test skips, unless
// COFFER_TEST_REQUIRE_BROWSER=1 (scripts/test.sh sets it), when it fails.

// browser starts a headless Chromium and returns a context to drive it.
func browser(t *testing.T) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("COFFER_TEST_REQUIRE_BROWSER") == "1" {
			t.Fatal("no Chromium found (COFFER_TEST_REQUIRE_BROWSER=1): install Debian's chromium package")
		}
		t.Skip("no Chromium found: the console's browser tests need Debian's chromium package (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.WindowSize(1280, 900),
		// The server's CA is not in Chromium's store; the test trusts it as the other
		// tests trust it, by talking only to this server.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run its sandbox as root
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

func TestConsoleInBrowser(t *testing.T) {
	ctx := browser(t)
	clk := clock.NewFake(time.Now())
	st := testenv.NewStack(t, testenv.Options{Config: func(c *server.Config) { c.Clock = clk }})
	base := "https://127.0.0.1:" + port(st) + "/console/"
	shots := t.TempDir()
	fail := func(what string, err error) {
		t.Helper()
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("%s: %v (page: %.600s)", what, err, body)
	}
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			fail(what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			fail("read "+sel, err)
		}
		return s
	}
	eval := func(expr string) bool {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err != nil {
			fail(expr, err)
		}
		return v
	}
	location := func() string {
		t.Helper()
		l, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			fail("location", err)
		}
		return l
	}
	h1 := func() string { return text("h1") }
	// waitFor waits until the page's h1 is one of want (a click's navigation has
	// finished) and returns it.
	waitFor := func(want ...string) string {
		t.Helper()
		var got string
		for range 100 {
			if got, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1"))); slices.Contains(want, got) {
				return got
			}
			time.Sleep(50 * time.Millisecond)
		}
		fail("wait for "+strings.Join(want, " or "), fmt.Errorf("the page's h1 is %q", got))
		return ""
	}
	shot := func(name string) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			fail("screenshot "+name, err)
		}
		checkNotBlank(t, name, b)
		if err := os.WriteFile(filepath.Join(shots, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		// The README shows two of them; COFFER_UPDATE_SCREENSHOTS=1 writes them anew.
		if os.Getenv("COFFER_UPDATE_SCREENSHOTS") == "1" && (name == "console-recycle-bin.png" || name == "console-secret.png") {
			if err := os.WriteFile(filepath.Join("..", "..", "docs", "img", name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	signIn := func(clientID, secret, want string) {
		t.Helper()
		run("sign in", chromedp.Navigate(base+"sign-in"),
			chromedp.SendKeys(chromedp.CSS("#client_id"), clientID),
			chromedp.SendKeys(chromedp.CSS("#client_secret"), secret),
			chromedp.Click(chromedp.CSS("form.stack button[type=submit]")))
		waitFor(want)
	}
	signOut := func() {
		t.Helper()
		run("sign out", chromedp.Click(chromedp.CSS(".signout button")))
		waitFor("Sign in")
	}
	dv := st.Server.DefaultVault()

	// A wrong secret is refused, with no session.
	signIn(st.Creds.ClientID, "not-the-secret", "Sign in")
	if got := text(".problem"); !strings.Contains(got, "The client id or the secret is wrong.") {
		t.Fatalf("wrong secret: %q", got)
	}
	shot("console-sign-in.png")

	// Sign in; create a secret; the value stays hidden until revealed.
	signIn(st.Creds.ClientID, st.Creds.ClientSecret, "Recycle bin")
	if got := h1(); got != "Recycle bin" {
		t.Fatalf("after sign-in: %q", got)
	}
	run("create a secret", chromedp.Navigate(base+"vaults/"+dv),
		chromedp.SendKeys(chromedp.CSS("#new-name"), "db-password"),
		chromedp.SendKeys(chromedp.CSS("#new-value"), "s3cr3t-value"),
		chromedp.Click(chromedp.CSS("form.stack button[type=submit]")))
	waitFor("secret db-password")
	loc, body := location(), text("main")
	if h := h1(); h != "secret db-password" || strings.Contains(body, "s3cr3t-value") || strings.Contains(loc, "s3cr3t") {
		t.Fatalf("object page %s: %q, the value must stay hidden: %.300s", loc, h, body)
	}
	run("reveal", chromedp.Click(chromedp.CSS("td.actions form button")), chromedp.WaitVisible(chromedp.CSS("pre.value")))
	if got := text("pre.value"); got != "s3cr3t-value" {
		t.Fatalf("revealed %q", got)
	}
	if loc = location(); strings.Contains(loc, "s3cr3t") {
		t.Fatalf("the value is in the URL: %s", loc)
	}
	shot("console-secret.png")

	// Delete it: the page says until when it can be recovered.
	deleteIt := func() {
		t.Helper()
		run("delete", chromedp.Navigate(base+"vaults/"+dv+"/secrets/db-password"),
			chromedp.Click(chromedp.CSS("button.danger")))
		waitFor("Deleted")
	}
	deleteIt()
	purgeAt := clk.Now().UTC().Truncate(time.Second).Add(90 * 24 * time.Hour)
	if got := text(".hint"); !strings.Contains(got, purgeAt.Format("2006-01-02 15:04 UTC")) {
		t.Fatalf("delete hint %q, want the purge date %s", got, purgeAt)
	}

	// The recycle bin lists it with that purge date; recover it.
	binOf := func(v string) {
		t.Helper()
		run("recycle bin", chromedp.Navigate(base+"recycle-bin?vault="+v+"&kind=secret"), chromedp.WaitVisible(chromedp.CSS("h1")))
	}
	binOf(dv)
	attr, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#row-0 td.purge-date time"), "datetime"))
	if err != nil {
		fail("purge date", err)
	}
	dt := attr.Value
	if got := text("#row-0 td.name"); got != "db-password" || dt != purgeAt.Format(time.RFC3339) {
		t.Fatalf("recycle bin row: %q purged at %q, want db-password at %s", got, dt, purgeAt.Format(time.RFC3339))
	}
	shot("console-recycle-bin.png")
	// On a phone's width the table becomes stacked rows: nothing runs off the side.
	run("phone width", chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#row-0")))
	if !eval(`document.documentElement.scrollWidth <= window.innerWidth`) {
		t.Error("the recycle bin is wider than a phone's screen")
	}
	shot("console-recycle-bin-phone.png")
	run("desktop width", chromedp.EmulateReset(), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#row-0")))
	run("recover", chromedp.Click(chromedp.CSS("#row-0 button.recover")))
	waitFor("Recovered")
	if got := text(".notice"); !strings.Contains(got, "is recovered") {
		t.Fatalf("recover: %q", got)
	}

	// Delete again and purge, typing the name.
	deleteIt()
	binOf(dv)
	run("purge", chromedp.SendKeys(chromedp.CSS("#confirm-row-0"), "db-password"),
		chromedp.Click(chromedp.CSS("#row-0 button.danger")))
	waitFor("Purged")
	if got := text(".notice"); !strings.Contains(got, "is purged") {
		t.Fatalf("purge: %q", got)
	}
	binOf(dv)
	if got := text("main"); !strings.Contains(got, "The recycle bin is empty") {
		t.Fatalf("after the purge: %.300s", got)
	}

	// Under purge protection the purge is shown disabled, with the reason and the date.
	body2 := armVaultBody(st)
	body2["properties"].(map[string]any)["enablePurgeProtection"] = true
	if status, _, b := st.ARM(t, "PUT", armVaultPath("locked"), body2); status != 200 && status != 201 {
		t.Fatalf("create a vault with purge protection: %d %s", status, b)
	}
	sc, err := azsecrets.NewClient(st.Server.VaultURL("locked"), st.Cred, &azsecrets.ClientOptions{ClientOptions: testenv.ClientOptions(st.Creds, st.HTTP)})
	if err != nil {
		t.Fatal(err)
	}
	setValue(t, sc, "kept", "v")
	deleteSecret(t, sc, "kept")
	binOf("locked")
	disabled := eval(`document.querySelector("#row-0 button[aria-describedby]").disabled`)
	if got := text("#row-0 .why"); !disabled || !strings.Contains(got, "Purge protection is on") || !strings.Contains(got, "purged automatically on") {
		t.Fatalf("purge under protection: disabled %v, %q", disabled, got)
	}

	// A change without the CSRF token is refused and changes nothing.
	run("vault page", chromedp.Navigate(base+"vaults/"+dv), chromedp.WaitVisible(chromedp.CSS("h1")))
	eval(`(document.querySelector("form.stack input[name=csrf]").remove(), true)`)
	run("forged form",
		chromedp.SendKeys(chromedp.CSS("#new-name"), "forged"),
		chromedp.SendKeys(chromedp.CSS("#new-value"), "x"),
		chromedp.Click(chromedp.CSS("form.stack button[type=submit]")))
	waitFor("Refused: the form has expired")
	if got := h1(); got != "Refused: the form has expired" {
		t.Fatalf("without the CSRF token: %q", got)
	}
	if _, err := secretsAs(t, st, st.Creds).GetSecret(t.Context(), "forged", "", nil); err == nil {
		t.Fatal("the forged form created a secret")
	}
	signOut()

	// A limited principal sees only what it may, and a refusal is a clear page.
	limited := newPrincipal(t, st, "limited-app", "get", "list")
	signIn(limited.ClientID, limited.ClientSecret, "Recycle bin")
	run("vaults", chromedp.Navigate(base+"vaults"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if got := text("main"); !strings.Contains(got, dv) || strings.Contains(got, "locked") {
		t.Fatalf("the limited principal's vaults: %.300s", got)
	}
	shot("console-vaults.png")
	run("another vault", chromedp.Navigate(base+"vaults/locked"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if h, got := h1(), text(".problem"); h != "Not allowed" || !strings.Contains(got, "may not use vault locked") {
		t.Fatalf("refusal page: %q %q", h, got)
	}
	signOut()

	// The single-use link from `coffer console` signs in once, and not after its minute.
	link := func() string {
		t.Helper()
		status, _, b := st.ARM(t, "POST", "/admin/console-link", nil)
		var out struct{ URL string }
		if status != 200 || json.Unmarshal(b, &out) != nil {
			t.Fatalf("console link: %d %s", status, b)
		}
		return out.URL
	}
	u := link()
	run("use the link", chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("h1")))
	if got := h1(); got != "Recycle bin" {
		t.Fatalf("with the link: %q", got)
	}
	signOut()
	run("the link again", chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("h1")))
	if got := h1(); got != "This sign-in link cannot be used" {
		t.Fatalf("the link a second time: %q", got)
	}
	u = link()
	clk.Advance(61 * time.Second)
	run("an expired link", chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("h1")))
	if got := h1(); got != "This sign-in link cannot be used" {
		t.Fatalf("an expired link: %q", got)
	}

	// The audit log has the console's records, marked as the console's, with who asked
	// and the decision, as the data plane's; the revealed value is in no record.
	st.Stop()
	events, raw := readAudit(t, filepath.Join(st.DataDir, "audit", "audit.log"))
	if strings.Contains(raw, "s3cr3t-value") {
		t.Fatal("the audit log holds the secret's value")
	}
	seen := map[string]bool{}
	for _, ev := range events {
		if ev.Plane != "console" || ev.Phase != "outcome" {
			continue
		}
		switch {
		case ev.Principal.ClientID == st.Creds.ClientID && strings.HasPrefix(ev.Decision, "allowed: "):
			seen[ev.Operation] = true
		case ev.Principal.ClientID == limited.ClientID && strings.HasPrefix(ev.Decision, "denied: "):
			seen["denied "+ev.Operation] = true
		}
	}
	for _, op := range []string{"SetSecret", "GetSecret", "DeleteSecret", "RecoverDeletedSecret", "PurgeDeletedSecret", "ConsoleSignIn", "ConsoleSignInLink", "denied ListSecrets"} {
		if !seen[op] {
			t.Errorf("no console audit record %q; seen %v", op, seen)
		}
	}
}

// checkNotBlank decodes a screenshot and checks that its pixels vary: a blank or
// single-colour image means the page did not draw.
func checkNotBlank(t *testing.T, name string, b []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: not a PNG: %v", name, err)
	}
	r := img.Bounds()
	if r.Dx() < 200 || r.Dy() < 200 {
		t.Fatalf("%s: %v is too small", name, r)
	}
	var n, sum, sq float64
	for y := r.Min.Y; y < r.Max.Y; y += 4 {
		for x := r.Min.X; x < r.Max.X; x += 4 {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			l := (0.2126*float64(cr) + 0.7152*float64(cg) + 0.0722*float64(cb)) / 65535
			n, sum, sq = n+1, sum+l, sq+l*l
		}
	}
	mean := sum / n
	if variance := sq/n - mean*mean; variance < 0.005 {
		t.Fatalf("%s looks blank: luminance variance %.4f", name, variance)
	}
}
