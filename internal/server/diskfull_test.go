package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/testenv"
)

// smallDisk mounts a tmpfs of size bytes on a temp dir and unmounts it when the test
// ends; it skips the test, saying why, when that is not possible (not root, no mount).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: filling a disk needs a small tmpfs, and mounting one needs root (run the tests as root to include it)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("skipped: mount -t tmpfs failed (%v: %s); a container may need CAP_SYS_ADMIN", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// setRaw sets a secret through the data plane and returns the status, the Retry-After
// header and the error code, if any.
func setRaw(t *testing.T, st *testenv.Stack, tok, name, value string) (int, string, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"value": value})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut,
		strings.TrimSuffix(st.Server.VaultURL("default"), "/")+"/secrets/"+name+"?api-version=7.6", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := st.HTTP.Do(req)
	if err != nil {
		t.Fatalf("PUT %s: %v", name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct{ Code, Message string }
	}
	json.Unmarshal(b, &e)
	if resp.StatusCode != 200 && e.Error.Message != "" {
		t.Logf("PUT %s: %d %s: %s", name, resp.StatusCode, e.Error.Code, e.Error.Message)
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), e.Error.Code
}

// TestDiskFull: when the disk under coffer.db fills up, a write is answered 503 with
// Retry-After (a temporary condition, which azcore retries), not 500; every write that
// was acknowledged reads back; and once space is freed, writes succeed again without a
// restart.
func TestDiskFull(t *testing.T) {
	// What fills up is the write-ahead log; the file gets its contents at a checkpoint,
	// which needs room for them once more. So the space freed below (the filler) is more
	// than the space the writes fill.
	disk := smallDisk(t, "4m")
	filler := filepath.Join(disk, "filler")
	if err := os.WriteFile(filler, make([]byte, 5<<19), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(disk, "data")
	logw, logged := logFile(t)
	st := testenv.NewStack(t, testenv.Options{DataDir: dataDir, Config: func(c *server.Config) {
		// The audit log elsewhere: it would refuse the change first (503), before the
		// storage is even tried.
		c.AuditLog = filepath.Join(t.TempDir(), "audit.log")
		c.Log = slog.New(slog.NewTextHandler(logw, nil))
	}})
	tok := token(t, st.Cred, dataPlane(st))
	value := strings.Repeat("v", 20000)

	acked := map[string]string{}
	full := false
	for i := range 400 {
		name := fmt.Sprintf("s%03d", i)
		v := fmt.Sprintf("%s-%d", value, i)
		status, retryAfter, code := setRaw(t, st, tok, name, v)
		if status == 200 {
			acked[name] = v
			continue
		}
		if status != 503 || retryAfter == "" || code != "ServiceUnavailable" {
			t.Fatalf("write %d on a full disk: %d %s, Retry-After %q; want 503 ServiceUnavailable with Retry-After", i, status, code, retryAfter)
		}
		full = true
		break
	}
	if !full {
		t.Fatalf("the disk never filled up after %d writes", len(acked))
	}
	if len(acked) == 0 {
		t.Fatal("no write succeeded before the disk was full")
	}
	// Still full: each further write either fits in what a failed commit left free, or
	// is refused the same way; none is a 500, and the server keeps answering reads.
	refused := 0
	for i := range 20 {
		name := fmt.Sprintf("again%02d", i)
		switch status, retryAfter, _ := setRaw(t, st, tok, name, value); {
		case status == 200:
			acked[name] = value
		case status == 503 && retryAfter != "":
			refused++
		default:
			t.Fatalf("another write on the full disk: %d, Retry-After %q; want 200 or 503 with Retry-After", status, retryAfter)
		}
	}
	if refused == 0 {
		t.Error("every further write on the full disk succeeded")
	}
	for name, v := range acked {
		wantSecret(t, st, name, v)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := setRaw(t, st, tok, "after", "space is back"); status != 200 {
		t.Fatalf("a write once space was freed: %d, want 200 without a restart", status)
	}
	wantSecret(t, st, "after", "space is back")
	// The operator learns both from the log (each time the disk fills or frees, not
	// once per request), the disk being free last.
	fullMsg, again := "the disk holding the database file is full", "the database file can be written again"
	if log := logged(); !strings.Contains(log, fullMsg) || strings.LastIndex(log, again) < strings.LastIndex(log, fullMsg) {
		t.Errorf("the log does not say %q, then %q:\n%s", fullMsg, again, log)
	}

	// And all of it is on disk: a restart finds every acknowledged write.
	st.Stop()
	st = testenv.NewStack(t, testenv.Options{DataDir: dataDir, Config: func(c *server.Config) {
		c.AuditLog = filepath.Join(t.TempDir(), "audit.log")
	}})
	for name, v := range acked {
		wantSecret(t, st, name, v)
	}
	wantSecret(t, st, "after", "space is back")
}
