package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/coffer/coffer/internal/testenv"
)

// runMain runs the coffer command line and returns its exit code, stdout and stderr.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(t.Context(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestCheckCommand: `coffer check` refuses a running server's data dir, exits 0 on a
// sound one, and exits 1 listing each problem with what it affects when a key byte of
// coffer.db was flipped (the secret it belonged to would answer 404, with nothing logged).
func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	st := testenv.NewStack(t, testenv.Options{DataDir: dir})
	if _, err := st.Secrets(t, "default").SetSecret(t.Context(), "victim", azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runMain(t, "check", "--data-dir", dir)
	if code != 1 || !strings.Contains(stderr, "data dir in use") {
		t.Fatalf("check on a running server: exit %d, %s", code, stderr)
	}
	st.Stop()

	code, stdout, stderr := runMain(t, "check", "--data-dir", dir)
	if code != 0 || !strings.Contains(stdout, "no problems") {
		t.Fatalf("check on a sound data dir: exit %d\n%s%s", code, stdout, stderr)
	}

	path := filepath.Join(dir, "coffer.db")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("v/default/secret/live/victim")
	for i := bytes.Index(b, key); i >= 0; {
		b[i+len(key)-1] = 'n' // …victin: the same place in the key order
		j := bytes.Index(b[i+1:], key)
		if j < 0 {
			break
		}
		i += j + 1
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runMain(t, "check", "--data-dir", dir)
	for _, want := range []string{
		"problem: vault default, secret victin: v/default/secret/live/victin: does not open under the keyring",
		"problem: vault default, secret victim: v/default/secret/ver/victim: 1 orphaned versions (no head)",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if code != 1 || !strings.Contains(stderr, "coffer: error: 2 problems in "+path) || !strings.Contains(stderr, "coffer: hint: ") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}
