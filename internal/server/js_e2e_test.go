package server_test

// Microsoft's Azure SDK for JavaScript against Coffer: the suite in testdata/js, run with
// Node's own test runner against a real server this test starts. Each JavaScript test
// shows up as a Go subtest, so its failure fails `go test` with the test's own message.

import (
	"bufio"
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/testenv"
)

// jsDir holds the JavaScript suite, its package.json and its lockfile.
const jsDir = "testdata/js"

// jsMinNode is the oldest Node.js the pinned SDK versions support.
const jsMinNode = 20

// cannotRun skips the test with why, unless scripts/test.sh set COFFER_TEST_REQUIRE_JS
// after installing what the suite needs: then a missing part is a failure, not a skip.
func cannotRun(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("COFFER_TEST_REQUIRE_JS") != "" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

func TestJavaScriptSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		cannotRun(t, "node not found on PATH: install Node.js 20 or newer (scripts/test.sh installs Debian's nodejs and npm)")
	}
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		cannotRun(t, "node --version: %v", err)
	}
	if major, _ := strconv.Atoi(strings.TrimPrefix(strings.SplitN(strings.TrimSpace(string(out)), ".", 2)[0], "v")); major < jsMinNode {
		// Not a failure even under scripts/test.sh: an older distribution's nodejs is what
		// the script could install.
		t.Skipf("node %s is older than %d, which the pinned Azure SDK packages need: install Node.js %d or newer", bytes.TrimSpace(out), jsMinNode, jsMinNode)
	}
	if _, err := os.Stat(filepath.Join(jsDir, "node_modules", "@azure", "keyvault-secrets")); err != nil {
		cannotRun(t, "the JavaScript SDK is not installed: run `npm ci` in internal/server/%s (scripts/test.sh does)", jsDir)
	}
	files, err := filepath.Glob(filepath.Join(jsDir, "*.test.mjs"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no *.test.mjs in %s (%v)", jsDir, err)
	}
	for i := range files {
		files[i] = filepath.Base(files[i])
	}

	st := loggedStack(t)
	const protectedName, protectedLocation = "js-protected", "westeurope"
	vaults := st.Vaults(t, server.DefaultSubscription)
	createVault(t, vaults, "rg-js", protectedName, vaultParams(st, protectedLocation, 7, true))
	vaultURL := st.Server.VaultURL(server.DefaultVaultName)
	protectedURL := st.Server.VaultURL(protectedName)
	for _, v := range []string{vaultURL, protectedURL} {
		u, _ := url.Parse(v)
		testenv.ResolveLoopback(t, u.Hostname())
	}

	tap := filepath.Join(t.TempDir(), "results.tap")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	args := append([]string{"--test",
		"--test-reporter=spec", "--test-reporter-destination=stdout",
		"--test-reporter=tap", "--test-reporter-destination=" + tap,
	}, files...)
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = jsDir
	cmd.Env = nodeEnv(
		"NODE_EXTRA_CA_CERTS="+st.Server.CAPath(),
		"COFFER_CREDENTIALS="+st.Server.CredentialsPath(),
		"COFFER_VAULT_URL="+vaultURL,
		"COFFER_PROTECTED_VAULT_URL="+protectedURL,
		"COFFER_PROTECTED_LOCATION="+protectedLocation,
	)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	start := time.Now()
	runErr := cmd.Run()
	t.Logf("node --test %s: %s", strings.Join(files, " "), time.Since(start).Round(time.Millisecond))

	results, err := os.ReadFile(tap)
	if err != nil {
		t.Fatalf("node wrote no results (%v; exit %v):\n%s", err, runErr, output.String())
	}
	cases := parseTAP(results)
	if len(cases) == 0 {
		t.Fatalf("node ran no test (exit %v):\n%s", runErr, output.String())
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok {
				t.Errorf("%s failed:\n%s", c.name, c.detail)
			}
		})
	}
	if runErr != nil && !t.Failed() {
		t.Fatalf("node --test: %v, though every test passed:\n%s", runErr, output.String())
	}
	if t.Failed() {
		t.Logf("--- node --test (spec reporter) ---\n%s", output.String())
	}
}

// nodeEnv is the environment for node: the caller's, minus what could send it elsewhere
// (proxies, Azure settings, other CAs or options), plus kv.
func nodeEnv(kv ...string) []string {
	var env []string
	for _, e := range os.Environ() {
		k, _, _ := strings.Cut(e, "=")
		switch u := strings.ToUpper(k); {
		case strings.HasPrefix(u, "AZURE_"), strings.HasSuffix(u, "_PROXY"), strings.HasPrefix(u, "NODE_"),
			strings.HasPrefix(u, "COFFER_"), u == "SSL_CERT_FILE", u == "SSL_CERT_DIR":
			continue
		}
		env = append(env, e)
	}
	env = append(env, "NO_PROXY=*", "no_proxy=*")
	return append(env, kv...)
}

// tapCase is one test's result from node's TAP report.
type tapCase struct {
	name   string
	ok     bool
	detail string // the YAML block under a failure: error, expected, actual, location
}

var tapLine = regexp.MustCompile(`^(\s*)(not ok|ok) \d+ - (.*?)(?:\s+#\s*(SKIP|TODO).*)?$`)

// parseTAP reads the results of node's tap reporter: one case per test, with suites'
// names joined to their tests' by " / ". Node reports a test after its subtests, so the
// names of the enclosing suites are taken from the "# Subtest:" lines before them.
func parseTAP(b []byte) []tapCase {
	var (
		cases []tapCase
		stack []string // names of the open subtests, by depth
		last  *tapCase
	)
	sub := regexp.MustCompile(`^(\s*)# Subtest: (.*)$`)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := sub.FindStringSubmatch(line); m != nil {
			depth := len(m[1]) / 4
			stack = append(stack[:min(depth, len(stack))], m[2])
			last = nil
			continue
		}
		if m := tapLine.FindStringSubmatch(line); m != nil {
			depth := len(m[1]) / 4
			names := append(append([]string{}, stack[:min(depth, len(stack))]...), m[3])
			stack = stack[:min(depth, len(stack))]
			cases = append(cases, tapCase{name: strings.Join(names, " / "), ok: m[2] == "ok"})
			last = &cases[len(cases)-1]
			continue
		}
		if last != nil && !last.ok {
			last.detail += line + "\n"
		}
	}
	// A suite is reported after its tests; keep only the leaves, whose results say more.
	var leaves []tapCase
	for i, c := range cases {
		parent := false
		for _, d := range cases[:i] {
			if strings.HasPrefix(d.name, c.name+" / ") {
				parent = true
				break
			}
		}
		if !parent {
			leaves = append(leaves, c)
		}
	}
	return leaves
}
