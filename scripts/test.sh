#!/usr/bin/env bash
# Runs every Coffer test on a fresh Debian machine with Go: installs what is missing,
# then `go test ./...` (fuzz targets run their seed corpora as ordinary tests).
# Benchmarks are not part of it: see bench/ and README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v go >/dev/null 2>&1; then
	if [ -x /usr/local/go/bin/go ]; then
		export PATH="/usr/local/go/bin:$PATH"
	else
		echo "test.sh: Go is required (https://go.dev/dl/); not found on PATH or in /usr/local/go" >&2
		exit 2
	fi
fi

# PostgreSQL (for --storage postgres:// and the storage conformance suite): scripts/postgres.sh,
# sourced below, starts a throw-away cluster unless COFFER_TEST_POSTGRES_DSN is set.

# --- az CLI and Python SDKs (internal/server/az_e2e_test.go) -------------------------
# TestAzCLI needs Debian's `az`; TestPythonSDK needs Debian's python3-azure under
# /usr/bin/python3 (azure-cli pulls it in). Installed here when missing: as root or with
# passwordless sudo, else the two tests skip and say why. About 100 packages, 730 MB,
# 1.5-3.5 minutes, once per machine. Names like V.localhost are made to resolve by the
# tests themselves (an /etc/hosts line per vault host, removed afterwards).
if ! command -v az >/dev/null 2>&1 ||
	! /usr/bin/python3 -c 'import azure.keyvault.secrets, azure.identity' >/dev/null 2>&1; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || { sudo -n true 2>/dev/null && sudo="sudo -n"; } || sudo=none
	if [ "$sudo" = none ] || ! command -v apt-get >/dev/null 2>&1; then
		echo "test.sh: az CLI / python3-azure missing and cannot be installed here (needs root and apt-get): TestAzCLI and TestPythonSDK will skip" >&2
	elif echo "test.sh: installing Debian's azure-cli and python3-azure for the az/Python tests (a few minutes, once)" >&2 &&
		! { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends azure-cli python3-azure; } >/dev/null; then
		echo "test.sh: installing azure-cli and python3-azure failed: TestAzCLI and TestPythonSDK will skip" >&2
	fi
fi
# --------------------------------------------------------------------------------------

# --- Node.js and the Azure SDK for JavaScript (internal/server/js_e2e_test.go) ----------
# TestJavaScriptSDK runs internal/server/testdata/js with `node --test`; its packages are
# pinned in package.json and package-lock.json and installed here with `npm ci`. Debian's
# nodejs and npm are installed when node is missing (as root or with passwordless sudo).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || { sudo -n true 2>/dev/null && sudo="sudo -n"; } || sudo=none
	if [ "$sudo" = none ] || ! command -v apt-get >/dev/null 2>&1; then
		echo "test.sh: node/npm missing and cannot be installed here (needs root and apt-get): TestJavaScriptSDK will skip" >&2
	elif echo "test.sh: installing Debian's nodejs and npm for the JavaScript SDK tests (once)" >&2 &&
		! { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm; } >/dev/null; then
		echo "test.sh: installing nodejs and npm failed: TestJavaScriptSDK will skip" >&2
	fi
fi
js_status=0
if command -v npm >/dev/null 2>&1; then
	echo "test.sh: npm ci in internal/server/testdata/js" >&2
	# The suite must run when it can: without its packages the Go test would only skip.
	(cd internal/server/testdata/js && npm ci --no-audit --no-fund --loglevel=error >&2) || {
		js_status=1
		echo "test.sh: npm ci failed: the JavaScript SDK tests cannot run" >&2
	}
	export COFFER_TEST_REQUIRE_JS=1
fi
# --------------------------------------------------------------------------------------

# --- Chromium (internal/server/console_e2e_test.go) -------------------------------------
# TestConsoleInBrowser drives the browser console in Debian's chromium, headless, through
# chromedp. Installed here when missing (as root or with passwordless sudo); with it on
# PATH the test must run, so COFFER_TEST_REQUIRE_BROWSER=1 makes a missing browser a
# failure rather than a skip.
if ! command -v chromium >/dev/null 2>&1; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || { sudo -n true 2>/dev/null && sudo="sudo -n"; } || sudo=none
	if [ "$sudo" = none ] || ! command -v apt-get >/dev/null 2>&1; then
		echo "test.sh: chromium missing and cannot be installed here (needs root and apt-get): TestConsoleInBrowser will skip" >&2
	elif echo "test.sh: installing Debian's chromium for the console's browser tests (once)" >&2 &&
		! { $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; } >/dev/null; then
		echo "test.sh: installing chromium failed: TestConsoleInBrowser will skip" >&2
	fi
fi
if command -v chromium >/dev/null 2>&1; then
	export COFFER_TEST_REQUIRE_BROWSER=1
fi
# --------------------------------------------------------------------------------------

log=$(mktemp)
trap 'rm -f "$log"' EXIT
source scripts/postgres.sh # throw-away PostgreSQL → COFFER_TEST_POSTGRES_DSN unless set; stopped on exit (keeps the trap above)
status=0
go vet ./... || status=$?
set +e
go test -count=1 -v -timeout 20m ./... >"$log" 2>&1
test_status=$?
set -e
# Package results, failures and their messages; the full log only on failure.
grep -E '^(ok|FAIL|panic)|^\s*--- FAIL|^\s+\S+_test\.go:[0-9]+:' "$log" || true
# Skipped tests and why (the line after each SKIP is its reason).
grep -A1 -E '^\s*--- SKIP' "$log" | grep -vE '^--$' || true
[ "$test_status" -eq 0 ] || status=$test_status
[ "$js_status" -eq 0 ] || status=$js_status
passed=$(grep -cE '^\s*--- PASS' "$log" || true)
failed=$(grep -cE '^\s*--- FAIL' "$log" || true)
skipped=$(grep -cE '^\s*--- SKIP' "$log" || true)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	failed=1 # a build failure or panic counts
	tail -60 "$log" >&2
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
