package console_test

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/coffer/coffer/internal/vault"
)

// pages signs in as the administrator, fills a vault so that every page has its
// controls (rows to recover and purge, a purge refused under purge protection, a
// revealed value), and returns each page's markup by name.
func pages(t *testing.T) (map[string]string, *env, *http.Cookie) {
	e := newEnv(t)
	in := e.vaults.Internal()
	for _, v := range []string{"shop", "vault-locked"} {
		for _, n := range []string{"s1", "s2"} {
			if _, err := in.SetSecret(t.Context(), v, n, vault.SecretParams{Value: "x"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := in.Secrets().Delete(t.Context(), v, "s1"); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]string{}
	out["sign-in"] = e.do("GET", "/console/sign-in", nil, nil).Body.String()
	out["sign-in refused"] = e.do("POST", "/console/sign-in", url.Values{"client_id": {e.admin.ClientID}, "client_secret": {"no"}}, nil).Body.String()
	ck := e.signIn(t, e.admin)
	for name, path := range map[string]string{
		"recycle bin": "/console/recycle-bin", "vaults": "/console/vaults", "vault": "/console/vaults/shop",
		"keys": "/console/vaults/shop?kind=keys", "object": "/console/vaults/shop/secrets/s2", "history": "/console/history?vault=shop",
		"not found": "/console/nowhere",
	} {
		out[name] = e.do("GET", path, nil, ck).Body.String()
	}
	tok := csrf(t, out["vault"])
	out["revealed"] = e.do("POST", "/console/vaults/shop/secrets/s2/reveal", url.Values{"csrf": {tok}}, ck).Body.String()
	out["deleted"] = e.do("POST", "/console/vaults/shop/secrets/s2/delete", url.Values{"csrf": {tok}}, ck).Body.String()
	return out, e, ck
}

// TestAccessibleMarkup checks each page's markup for what a screen reader and a
// keyboard need: a language, one h1 and no skipped heading level, a label for every
// control, a name for every button; and for what the CSP forbids: no inline script or
// style, no event-handler attributes.
func TestAccessibleMarkup(t *testing.T) {
	all, _, _ := pages(t)
	for name, page := range all {
		for _, p := range checkMarkup(page) {
			t.Errorf("%s: %s", name, p)
		}
	}
}

func checkMarkup(page string) []string {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	labels := map[string]bool{}
	var controls []*html.Node
	h1s, last := 0, 0
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			a := attrs(n)
			for k := range a {
				if strings.HasPrefix(k, "on") {
					problems = append(problems, "an event-handler attribute "+k)
				}
			}
			if _, ok := a["style"]; ok {
				problems = append(problems, "an inline style attribute on <"+n.Data+">")
			}
			switch n.Data {
			case "html":
				if a["lang"] == "" {
					problems = append(problems, "<html> has no lang")
				}
			case "h1", "h2", "h3", "h4", "h5", "h6":
				lvl := int(n.Data[1] - '0')
				if lvl == 1 {
					h1s++
				}
				if lvl > last+1 {
					problems = append(problems, fmt.Sprintf("heading <%s> after <h%d>", n.Data, last))
				}
				last = lvl
			case "label":
				labels[a["for"]] = true
			case "input", "select", "textarea":
				if a["type"] != "hidden" {
					controls = append(controls, n)
				}
			case "button":
				if strings.TrimSpace(text(n)) == "" && a["aria-label"] == "" {
					problems = append(problems, "a button without a name")
				}
			case "script":
				if a["src"] == "" {
					problems = append(problems, "an inline script")
				}
			case "style":
				problems = append(problems, "an inline <style>")
			case "img":
				if _, ok := a["alt"]; !ok {
					problems = append(problems, "an image without alt")
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if h1s != 1 {
		problems = append(problems, fmt.Sprintf("%d h1 headings, want 1", h1s))
	}
	for _, c := range controls {
		a := attrs(c)
		if a["id"] == "" || !labels[a["id"]] {
			if a["aria-label"] == "" {
				problems = append(problems, fmt.Sprintf("<%s name=%q> has no label", c.Data, a["name"]))
			}
		}
	}
	return problems
}

func attrs(n *html.Node) map[string]string {
	m := map[string]string{}
	for _, a := range n.Attr {
		m[a.Key] = a.Val
	}
	return m
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// TestSecurityHeadersOnEveryRoute: every console answer — pages, actions, refusals,
// redirects, static files, unknown paths — carries the strict CSP, no framing, no
// sniffing, no referrer and no caching; every cookie set is HttpOnly, Secure,
// SameSite=Strict and host-only.
func TestSecurityHeadersOnEveryRoute(t *testing.T) {
	_, e, ck := pages(t)
	tok := csrf(t, e.do("GET", "/console/vaults", nil, ck).Body.String())
	tokLink, _, _ := e.c.CreateLink(t.Context(), e.limited.ClientID)
	type req struct {
		method, path string
		form         url.Values
		cookie       bool
	}
	reqs := []req{
		{"GET", "/console/", nil, false}, {"GET", "/console/", nil, true},
		{"GET", "/console/sign-in", nil, false},
		{"POST", "/console/sign-in", url.Values{"client_id": {e.limited.ClientID}, "client_secret": {e.limited.ClientSecret}}, false},
		{"POST", "/console/sign-in", url.Values{"client_id": {e.limited.ClientID}, "client_secret": {"wrong"}}, false},
		{"GET", "/console/link?t=" + tokLink, nil, false}, {"GET", "/console/link?t=nope", nil, false},
		{"GET", "/console/static/console.css", nil, false}, {"GET", "/console/static/console.js", nil, false},
		{"GET", "/console/static/nope", nil, false},
		{"GET", "/console/recycle-bin", nil, true}, {"GET", "/console/recycle-bin", nil, false},
		{"POST", "/console/recycle-bin/recover", url.Values{"csrf": {tok}, "vault": {"shop"}, "kind": {"secret"}, "name": {"s1"}}, true},
		{"POST", "/console/recycle-bin/purge", url.Values{"csrf": {tok}, "vault": {"vault-locked"}, "kind": {"secret"}, "name": {"s1"}, "confirm": {"s1"}}, true},
		{"POST", "/console/recycle-bin/purge", url.Values{"vault": {"shop"}}, true},
		{"GET", "/console/vaults", nil, true}, {"GET", "/console/vaults/shop", nil, true}, {"GET", "/console/vaults/nosuch", nil, true},
		{"GET", "/console/vaults/shop/secrets/s1", nil, true},
		{"POST", "/console/vaults/shop/secrets", url.Values{"csrf": {tok}, "name": {"n1"}, "value": {"v"}}, true},
		{"POST", "/console/vaults/shop/secrets/n1/version", url.Values{"csrf": {tok}, "value": {"v2"}}, true},
		{"POST", "/console/vaults/shop/secrets/n1/reveal", url.Values{"csrf": {tok}}, true},
		{"POST", "/console/vaults/shop/secrets/n1/enabled", url.Values{"csrf": {tok}, "enabled": {"false"}}, true},
		{"POST", "/console/vaults/shop/secrets/n1/delete", url.Values{"csrf": {tok}}, true},
		{"GET", "/console/history", nil, true}, {"GET", "/console/nowhere", nil, true}, {"DELETE", "/console/vaults", nil, true},
		{"POST", "/console/sign-out", url.Values{"csrf": {tok}}, true},
	}
	for _, r := range reqs {
		var c *http.Cookie
		if r.cookie {
			c = ck
		}
		w := e.do(r.method, r.path, r.form, c)
		h := w.Header()
		where := r.method + " " + r.path + " (" + strconv.Itoa(w.Code) + ")"
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", where, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP allows inline code", where)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY", "Cache-Control": "no-store"} {
			if got := h.Get(k); got != v && !(k == "Cache-Control" && strings.HasPrefix(r.path, "/console/static/") && got == "no-cache") {
				t.Errorf("%s: %s %q, want %q", where, k, got, v)
			}
		}
		for _, line := range h.Values("Set-Cookie") {
			for _, want := range []string{"__Host-coffer-console=", "Path=/", "HttpOnly", "Secure", "SameSite=Strict"} {
				if !strings.Contains(line, want) {
					t.Errorf("%s: cookie %q lacks %s", where, line, want)
				}
			}
			if strings.Contains(strings.ToLower(line), "domain=") {
				t.Errorf("%s: cookie %q names a domain", where, line)
			}
		}
		if strings.Contains(w.Header().Get("Location"), "v2") {
			t.Errorf("%s: a value in a URL", where)
		}
	}
}

// TestStylesheetContrast computes the WCAG contrast ratio of every text colour in the
// stylesheet against the background its rule sets: at least 4.5:1 (AA for body text).
func TestStylesheetContrast(t *testing.T) {
	css, err := os.ReadFile("static/console.css")
	if err != nil {
		t.Fatal(err)
	}
	src := regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(string(css), "")
	rule := regexp.MustCompile(`([^{}]+)\{([^{}]*)\}`)
	colorRE := regexp.MustCompile(`(?:^|[;\s])color:\s*(#[0-9a-fA-F]{6})`)
	bgRE := regexp.MustCompile(`(?:^|[;\s])background(?:-color)?:\s*(#[0-9a-fA-F]{6})`)
	pairs := 0
	for _, m := range rule.FindAllStringSubmatch(src, -1) {
		sel, decl := strings.TrimSpace(m[1]), m[2]
		fg := colorRE.FindStringSubmatch(decl)
		if fg == nil {
			continue
		}
		bg := bgRE.FindStringSubmatch(decl)
		if bg == nil {
			t.Errorf("%s sets a colour without its background: the pair cannot be checked", sel)
			continue
		}
		pairs++
		if r := contrast(fg[1], bg[1]); r < 4.5 {
			t.Errorf("%s: %s on %s has contrast %.2f:1, want at least 4.5:1", sel, fg[1], bg[1], r)
		}
	}
	if pairs < 10 {
		t.Fatalf("found only %d colour pairs: did the stylesheet's form change?", pairs)
	}
}

// contrast is the WCAG 2 contrast ratio of two sRGB colours.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(hex string) float64 {
	ch := func(i int) float64 {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		c := float64(v) / 255
		if c <= 0.03928 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(0) + 0.7152*ch(1) + 0.0722*ch(2)
}

// TestMarkupCheckCatches: the markup check finds what it looks for (it would pass
// vacuously otherwise).
func TestMarkupCheckCatches(t *testing.T) {
	bad := `<!doctype html><html><body><h1>A</h1><h3>B</h3><h1>C</h1><input name="q"><button></button>` +
		`<script>x()</script><p style="color:red" onclick="y()">z</p></body></html>`
	got := strings.Join(checkMarkup(bad), "; ")
	for _, want := range []string{"no lang", "heading <h3> after <h1>", "2 h1 headings", `name="q"> has no label`,
		"a button without a name", "an inline script", "an inline style attribute", "an event-handler attribute onclick"} {
		if !strings.Contains(got, want) {
			t.Errorf("the check missed %q: %s", want, got)
		}
	}
}
