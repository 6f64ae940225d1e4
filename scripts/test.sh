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

# The tests only need Go and the module proxy today. PostgreSQL (for --storage postgres://)
# and the az CLI join this script with the issues that bring them.

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
go vet ./... || status=$?
set +e
go test -count=1 -v -timeout 20m ./... >"$log" 2>&1
test_status=$?
set -e
# Package results, failures and their messages; the full log only on failure.
grep -E '^(ok|FAIL|panic)|^\s*--- FAIL|^\s+\S+_test\.go:[0-9]+:' "$log" || true
[ "$test_status" -eq 0 ] || status=$test_status
passed=$(grep -cE '^\s*--- PASS' "$log" || true)
failed=$(grep -cE '^\s*--- FAIL' "$log" || true)
skipped=$(grep -cE '^\s*--- SKIP' "$log" || true)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	failed=1 # a build failure or panic counts
	tail -60 "$log" >&2
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
