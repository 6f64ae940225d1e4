package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/coffer/coffer/internal/testenv"
)

// TestSnapshotCommands: coffer snapshot save writes a checked snapshot of a running server
// (mode 0600, nothing else left beside it); coffer snapshot restore brings it back into a
// new data dir, where a server with the same master key serves the same secret; a second
// restore into that dir, and bad flags, are refused.
func TestSnapshotCommands(t *testing.T) {
	cleanEnv(t)
	st := testenv.NewStack(t)
	login(t, st)
	if _, err := st.Secrets(t, "default").SetSecret(t.Context(), "kept", azsecrets.SetSecretParameters{Value: to.Ptr("safe")}, nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "coffer.snapshot")
	coffer(t, "snapshot", "save").usage(t, "--file is required")
	coffer(t, "snapshot", "save", "--file", file, "--rate", "-5").usage(t, "--rate")
	out := coffer(t, "snapshot", "save", "--file", file, "--rate", "0").ok(t).out
	if !strings.Contains(out, "saved a snapshot of") || !strings.Contains(out, "master key") {
		t.Errorf("save said %q", out)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot file: %v, %v", fi, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("beside the snapshot: %v", entries)
	}
	// Saved again over it: replaced whole.
	coffer(t, "snapshot", "save", "--file", file).ok(t)

	target := filepath.Join(t.TempDir(), "restored")
	coffer(t, "snapshot", "restore", "--file", file).usage(t, "one target")
	coffer(t, "snapshot", "restore", "--data-dir", target).usage(t, "--file is required")
	out = coffer(t, "snapshot", "restore", "--file", file, "--data-dir", target).ok(t).out
	if !strings.Contains(out, "checksum verified") || !strings.Contains(out, "master.key") {
		t.Errorf("restore said %q", out)
	}
	coffer(t, "snapshot", "restore", "--file", file, "--data-dir", target).fails(t, "not empty")

	key, err := os.ReadFile(st.Path("master.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "master.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	st2 := testenv.NewStack(t, testenv.Options{DataDir: target})
	r, err := st2.Secrets(t, "default").GetSecret(t.Context(), "kept", "", nil)
	if err != nil || *r.Value != "safe" {
		t.Fatalf("restored secret: %v", err)
	}
}
