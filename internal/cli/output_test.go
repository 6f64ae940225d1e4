package cli_test

import (
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/testenv"
)

// TestOutputEscapesControlCharacters: a secret whose contentType and tag hold an escape
// sequence and NUL, as anyone with secrets/set may write them, reaches the administrator's
// terminal escaped in -o table and -o tsv, and as JSON escapes in -o json.
func TestOutputEscapesControlCharacters(t *testing.T) {
	cleanEnv(t)
	st := testenv.NewStack(t)
	login(t, st)
	vn := []string{"--vault-name", "default"}
	sec := func(args ...string) result { return coffer(t, append(append([]string{"secret"}, args...), vn...)...) }
	sec("set", "-n", "painted", "--value", "v", "--content-type", "\x1b[31mred\x00", "--tags", "note=\x1b]0;owned\a\u009b").ok(t)

	for _, format := range []string{"table", "tsv"} {
		for _, args := range [][]string{{"list", "-o", format}, {"show", "-n", "painted", "-o", format}} {
			out := sec(args...).ok(t).out
			if strings.ContainsAny(out, "\x1b\x00\a\u009b") {
				t.Errorf("secret %s writes control characters raw:\n%q", strings.Join(args, " "), out)
			}
			if !strings.Contains(out, `\e[31mred\x00`) {
				t.Errorf("secret %s does not show the escaped contentType:\n%s", strings.Join(args, " "), out)
			}
		}
	}
	out := sec("show", "-n", "painted", "-o", "json").ok(t).out
	if strings.ContainsAny(out, "\x1b\x00\a\u009b") || !strings.Contains(out, `\u001b[31mred\u0000`) || !strings.Contains(out, `\u0007\u009b`) {
		t.Errorf("secret show -o json writes control characters raw or loses them:\n%q", out)
	}
}
