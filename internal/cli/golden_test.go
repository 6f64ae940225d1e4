package cli_test

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer/coffer/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite internal/cli/testdata/*.golden from what the commands print")

// Volatile parts of a table cell and what the golden files hold instead.
var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00`), "<date>"},
	{regexp.MustCompile(`localhost:\d+`), "localhost:<port>"},
	{regexp.MustCompile(`\b[0-9a-f]{32}\b`), "<version>"},
}

// normalizeTable cuts an -o table answer into its cells at the columns of its dashes
// line, replaces the volatile parts of each cell (dates, the server's port, version ids)
// and aligns the table again, so that a placeholder of another width keeps the columns
// straight.
func normalizeTable(t *testing.T, s string) string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "-") {
		t.Fatalf("not a table:\n%s", s)
	}
	var starts []int
	for i, c := range lines[1] {
		if c == '-' && (i == 0 || lines[1][i-1] == ' ') {
			starts = append(starts, i)
		}
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, l := range lines {
		cells := make([]string, len(starts))
		for i, from := range starts {
			to := len(l)
			if i+1 < len(starts) && starts[i+1] < to {
				to = starts[i+1]
			}
			if from < to {
				cells[i] = strings.TrimSpace(l[from:to])
			}
			for _, v := range volatile {
				cells[i] = v.re.ReplaceAllString(cells[i], v.with)
			}
		}
		tw.Write([]byte(strings.Join(cells, "\t") + "\n"))
	}
	tw.Flush()
	var out strings.Builder
	for _, l := range strings.SplitAfter(b.String(), "\n") {
		if l != "" {
			out.WriteString(strings.TrimRight(l, " \n") + "\n")
		}
	}
	return out.String()
}

// TestTableGolden checks -o table, what people read, against testdata/*.golden: the
// columns, their order and the cells, with dates, the port and versions normalised.
// go test ./internal/cli -run TestTableGolden -update rewrites the files.
func TestTableGolden(t *testing.T) {
	cleanEnv(t)
	st := testenv.NewStack(t)
	login(t, st)
	armAvailable(t, st)

	sec := func(args ...string) { coffer(t, append([]string{"secret"}, args...)...).ok(t) }
	sec("set", "--vault-name", "default", "-n", "db-password", "--value", "x", "--content-type", "text/plain")
	sec("set", "--vault-name", "default", "-n", "api-token", "--value", "y", "--expires", "2030-01-31")
	sec("set", "--vault-name", "default", "-n", "old", "--value", "z", "--disabled")
	coffer(t, "vault", "create", "-n", "team-a", "-g", "rg-a", "-l", "westeurope", "--retention-days", "30").ok(t)
	coffer(t, "vault", "create", "-n", "team-b", "--retention-days", "7", "--enable-purge-protection").ok(t)
	sec("set", "--vault-name", "team-b", "-n", "cert-pass", "--value", "w")

	// Deleted in the order the bin sorts them when two dates are the same second.
	sec("delete", "--vault-name", "team-b", "-n", "cert-pass")
	coffer(t, "vault", "delete", "-n", "team-a").ok(t)
	sec("delete", "--vault-name", "default", "-n", "old")
	coffer(t, "key", "create", "--vault-name", "default", "-n", "signer").ok(t)
	coffer(t, "key", "delete", "--vault-name", "default", "-n", "signer").ok(t)
	// Half an hour on, the time left is the retention less one hour, whatever the
	// seconds the test took.
	coffer(t, "time-shift", "--seconds", "1800").ok(t)

	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"secret_list", []string{"secret", "list", "--vault-name", "default"}},
		{"secret_list_deleted", []string{"secret", "list-deleted", "--vault-name", "default"}},
		{"vault_list", []string{"vault", "list"}},
		{"recycle_bin", []string{"recycle-bin"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			got := normalizeTable(t, coffer(t, append(tc.args, "-o", "table")...).ok(t).out)
			path := filepath.Join("testdata", tc.golden+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./internal/cli -run TestTableGolden -update writes it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Fatalf("coffer %s -o table differs from %s (-want +got):\n%s", strings.Join(tc.args, " "), path, diff)
			}
		})
	}
}
