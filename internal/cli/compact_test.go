package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/testenv"
)

// TestStorageCompactCommand: after a mass purge, `coffer storage compact` gives the space
// back; the server starts on the new file (the txid record follows it), serves what was
// left, and `coffer check` finds nothing wrong. A running server's data dir is refused.
func TestStorageCompactCommand(t *testing.T) {
	dir := t.TempDir()
	st := testenv.NewStack(t, testenv.Options{DataDir: dir})
	c := st.Secrets(t, "default")
	value := strings.Repeat("v", 8000)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < 160; i += 8 {
				name := fmt.Sprintf("s%03d", i)
				if _, err := c.SetSecret(t.Context(), name, azsecrets.SetSecretParameters{Value: to.Ptr(value)}, nil); err != nil {
					t.Error(err)
					return
				}
				if i%40 == 0 {
					continue // kept
				}
				if _, err := c.DeleteSecret(t.Context(), name, nil); err != nil {
					t.Error(err)
					return
				}
				if _, err := c.PurgeDeletedSecret(t.Context(), name, nil); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if _, err := runStorage(t, "compact", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "data dir in use") {
		t.Fatalf("compact of a running server's data dir: %v", err)
	}
	st.Stop()
	out, err := runStorage(t, "compact", "--data-dir", dir)
	if err != nil {
		t.Fatalf("compact: %v\n%s", err, out)
	}
	var before, after int64
	if _, err := fmt.Sscanf(out[strings.Index(out, ": ")+2:], "%d → %d bytes", &before, &after); err != nil || after*2 > before {
		t.Fatalf("compact printed %q: want the file at least halved", out)
	}
	r, err := server.Check(t.Context(), dir, server.CheckOptions{})
	if err != nil || len(r.Problems) != 0 {
		t.Fatalf("check after compact: %v %+v", err, r.Problems)
	}
	st = testenv.NewStack(t, testenv.Options{DataDir: dir})
	for _, name := range []string{"s000", "s040", "s080", "s120"} {
		got, err := st.Secrets(t, "default").GetSecret(t.Context(), name, "", nil)
		if err != nil || *got.Value != value {
			t.Fatalf("%s after compact: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "coffer.db.compact")); !os.IsNotExist(err) {
		t.Fatalf("temporary file left: %v", err)
	}
}
