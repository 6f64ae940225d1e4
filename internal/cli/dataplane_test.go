package cli_test

import (
	"strings"
	"testing"
)

// TestDataPlaneBadInput: usage errors are caught before any request, each with a hint
// and exit code 2.
func TestDataPlaneBadInput(t *testing.T) {
	cleanEnv(t)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"fail/no-vault", []string{"secret", "list"}, "--vault-name is required"},
		{"fail/no-name", []string{"secret", "show", "--vault-name", "v"}, "--vault-name and --name are required"},
		{"fail/value-and-file", []string{"secret", "set", "--vault-name", "v", "-n", "s", "--value", "x", "--file", "f"}, "exactly one of --value and --file"},
		{"fail/no-value", []string{"secret", "set", "--vault-name", "v", "-n", "s"}, "exactly one of --value and --file"},
		{"fail/encoding", []string{"secret", "set", "--vault-name", "v", "-n", "s", "--value", "x", "--encoding", "rot13"}, `--encoding "rot13" is not known`},
		{"fail/date", []string{"secret", "set", "--vault-name", "v", "-n", "s", "--value", "x", "--expires", "tomorrow"}, `--expires "tomorrow" is not a date`},
		{"fail/tag", []string{"secret", "set", "--vault-name", "v", "-n", "s", "--value", "x", "--tags", "=v"}, `--tags: "=v" has no key`},
		{"fail/az-style-tags", []string{"secret", "set", "--vault-name", "v", "-n", "s", "--value", "x", "--tags", "a=1", "b=2"}, `unexpected argument "b=2"`},
		{"fail/bad-id", []string{"secret", "show", "--id", "https://v.localhost/keys/k"}, "is not a secret id"},
		{"fail/id-and-name", []string{"key", "show", "--id", "https://v.localhost/keys/k", "--name", "k"}, "give it alone"},
		{"fail/sign-no-algorithm", []string{"key", "sign", "--vault-name", "v", "-n", "k", "--digest", "AAAA"}, "--algorithm is required"},
		{"fail/sign-algorithm", []string{"key", "sign", "--vault-name", "v", "-n", "k", "-a", "MD5", "--digest", "AAAA"}, `--algorithm "MD5" is not known`},
		{"fail/ops", []string{"key", "create", "--vault-name", "v", "-n", "k", "--ops", "sign,fly"}, `--ops: unknown operation "fly"`},
		{"fail/hsm", []string{"key", "create", "--vault-name", "v", "-n", "k", "--protection", "hsm"}, "Coffer has no HSM"},
		{"fail/backup-no-file", []string{"key", "backup", "--vault-name", "v", "-n", "k"}, "--file is required"},
		{"fail/cert-encoding", []string{"certificate", "download", "--vault-name", "v", "-n", "c", "-f", "x", "-e", "P12"}, `--encoding "P12" is not known`},
		{"fail/cert-import", []string{"certificate", "import", "--vault-name", "v", "-n", "c"}, "--name and --file are required"},
		{"fail/vault-no-name", []string{"vault", "show"}, "--name is required"},
		{"fail/vault-sku", []string{"vault", "create", "-n", "abc", "--sku", "gold"}, `--sku "gold"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			coffer(t, tc.args...).usage(t, tc.want).hinted(t)
		})
	}
	t.Run("ok/help", func(t *testing.T) {
		for _, g := range []string{"vault", "secret", "key", "certificate"} {
			if r := coffer(t, g, "--help").ok(t); r.out == "" {
				t.Fatalf("%s --help printed nothing", g)
			}
		}
		if r := coffer(t, "secret", "set", "--help").ok(t); !strings.Contains(r.out, "Examples:") {
			t.Fatalf("secret set --help has no examples:\n%s", r.out)
		}
	})
}
