package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/barrier"
	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/testenv"
)

func wantSecret(t *testing.T, st *testenv.Stack, name, value string) {
	t.Helper()
	got, err := st.Secrets(t, "default").GetSecret(t.Context(), name, "", nil)
	if err != nil || *got.Value != value {
		t.Fatalf("%s: %v", name, err)
	}
}

func TestKeyringAndMasterKeyRotation(t *testing.T) {
	dir := t.TempDir()
	st := testenv.NewStack(t, testenv.Options{DataDir: dir})
	setValue(t, st.Secrets(t, "default"), "before", "one")
	st.Stop()

	term, err := server.RotateKeyring(t.Context(), dir, "")
	if err != nil || term != 2 {
		t.Fatalf("keyring rotate: %d %v", term, err)
	}
	st = testenv.NewStack(t, testenv.Options{DataDir: dir})
	wantSecret(t, st, "before", "one")
	setValue(t, st.Secrets(t, "default"), "after-keyring", "two")
	st.Stop()

	oldKey, _ := os.ReadFile(filepath.Join(dir, "master.key"))
	where, err := server.RotateMasterKey(t.Context(), dir, "", "")
	if err != nil || where != filepath.Join(dir, "master.key") {
		t.Fatalf("master-key rotate: %q %v", where, err)
	}
	newKey, _ := os.ReadFile(filepath.Join(dir, "master.key"))
	if string(newKey) == string(oldKey) {
		t.Fatal("master.key unchanged")
	}
	st = testenv.NewStack(t, testenv.Options{DataDir: dir})
	wantSecret(t, st, "before", "one")
	wantSecret(t, st, "after-keyring", "two")
	st.Stop()

	// The old KEK no longer opens the keyring, and the start says so.
	_, err = server.New(t.Context(), server.Config{DataDir: dir, Addr: "127.0.0.1:0", MasterKey: strings.TrimSpace(string(oldKey))})
	if err == nil || !strings.Contains(err.Error(), "COFFER_MASTER_KEY") {
		t.Fatalf("start with the old KEK: %v", err)
	}
	// A missing KEK stops the start rather than creating a new keyring.
	os.Rename(filepath.Join(dir, "master.key"), filepath.Join(dir, "kek.bak"))
	_, err = server.New(t.Context(), server.Config{DataDir: dir, Addr: "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "cannot be read") {
		t.Fatalf("start without a KEK: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "master.key")); err == nil {
		t.Fatal("a new master.key was created over existing data")
	}
	// COFFER_MASTER_KEY works in place of the file.
	st = testenv.NewStack(t, testenv.Options{DataDir: dir, Config: func(c *server.Config) { c.MasterKey = strings.TrimSpace(string(newKey)) }})
	wantSecret(t, st, "before", "one")
}

func TestBadMasterKey(t *testing.T) {
	k, _ := barrier.GenerateKEK()
	for _, bad := range []string{"not-base64!", "c2hvcnQ=", k + "AAAA"} {
		_, err := server.New(t.Context(), server.Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0", MasterKey: bad})
		if err == nil || !strings.Contains(err.Error(), "COFFER_MASTER_KEY") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
