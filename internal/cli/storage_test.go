package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/testenv"
)

// runStorage runs `coffer storage ARGS…` through a root holding only the storage
// command, and returns stdout and the error.
func runStorage(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "coffer", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(newStorageCommand())
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"storage"}, args...))
	err := root.ExecuteContext(t.Context())
	return out.String(), err
}

func TestStorageCopyCommandArgs(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"fail/no-to", []string{"copy", "--from", dir}, "--to is required"},
		{"fail/not-postgres", []string{"copy", "--from", dir, "--to", "mysql://x/y"}, "expected a postgres:// URL"},
		{"fail/no-storage", []string{"copy", "--from", dir, "--to", "postgres://127.0.0.1:1/x"}, "no Coffer storage at " + filepath.Join(dir, "coffer.db")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runStorage(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "coffer.db")); err == nil {
		t.Fatal("copy created a coffer.db in --from")
	}
}

// TestStorageCopyCommand: `coffer storage copy` moves a stopped embedded deployment to an
// empty PostgreSQL database, which the same data dir then serves with --storage; it
// refuses a database that is not empty and a data dir in use.
func TestStorageCopyCommand(t *testing.T) {
	dsn := freshSchema(t)
	dir := t.TempDir()
	st := testenv.NewStack(t, testenv.Options{DataDir: dir})
	if _, err := st.Secrets(t, "default").SetSecret(t.Context(), "moved", azsecrets.SetSecretParameters{Value: to.Ptr("along")}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := runStorage(t, "copy", "--from", dir, "--to", dsn)
	if err == nil || !strings.Contains(err.Error(), "data dir in use") {
		t.Fatalf("copy from a running server: %v", err)
	}
	st.Stop()

	out, err := runStorage(t, "copy", "--from", dir, "--to", dsn)
	if err != nil {
		t.Fatalf("copy: %v\n%s", err, out)
	}
	for _, want := range []string{"copied ", "checksum verified", "--storage", "COFFER_MASTER_KEY=$(cat " + filepath.Join(dir, "master.key") + ")"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, dsn) {
		t.Errorf("the output repeats the DSN (it may hold a password):\n%s", out)
	}

	_, err = runStorage(t, "copy", "--from", dir, "--to", dsn)
	if !errors.Is(err, server.ErrTargetNotEmpty) {
		t.Fatalf("second copy: %v, want %v", err, server.ErrTargetNotEmpty)
	}
	if lines := strings.Split(err.Error(), "\n"); len(lines) < 2 {
		t.Errorf("no hint line after %q", lines[0])
	}

	moved := testenv.NewStack(t, testenv.Options{DataDir: dir, Config: func(c *server.Config) { c.Storage = dsn }})
	got, err := moved.Secrets(t, "default").GetSecret(t.Context(), "moved", "", nil)
	if err != nil || *got.Value != "along" {
		t.Fatalf("after the copy: %v", err)
	}
}

// freshSchema returns $COFFER_TEST_POSTGRES_DSN with search_path set to a new schema,
// dropped when t ends, or skips t when the variable is unset.
func freshSchema(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("COFFER_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("COFFER_TEST_POSTGRES_DSN is unset: PostgreSQL tests need the README's test command " +
			"(./scripts/test.sh), which starts a throw-away PostgreSQL")
	}
	schema := "coffer_cli_" + strings.ToLower(rand.Text()[:12])
	exec := func(sql string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("CREATE SCHEMA " + schema)
	t.Cleanup(func() { exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
