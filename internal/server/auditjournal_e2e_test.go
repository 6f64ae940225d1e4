package server_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/testenv"
)

// copyTree copies the files under src into dst, as they are now.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAuditJournalRestore: a data-plane change's request record is made durable by the
// change's own commit (the storage's write-ahead log keeps it), not by a sync of the
// audit log of its own. A power loss may then take the audit log's unsynced end; the
// next start writes the request records back from the write-ahead log, once each, and
// says so.
func TestAuditJournalRestore(t *testing.T) {
	st := testenv.NewStack(t)
	c := st.Secrets(t, "default")
	setValue(t, c, "before", "kept in the audit log")
	const n = 20
	for i := range n {
		setValue(t, c, fmt.Sprintf("j-%02d", i), "v")
	}
	// What a power loss right now leaves: the files as they are, but the audit log only
	// up to its request record for "before" (the rest written, never synced).
	crashed := filepath.Join(t.TempDir(), "data")
	copyTree(t, st.DataDir, crashed)
	st.Stop()
	auditPath := filepath.Join(crashed, "audit", "audit.log")
	raw, err := os.ReadFile(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	cut := bytes.Index(raw, []byte(`"obj":"secrets/j-00"`))
	if cut < 0 {
		t.Fatal("no record of j-00 in the audit log")
	}
	cut = bytes.LastIndexByte(raw[:cut], '\n') + 1
	if err := os.WriteFile(auditPath, raw[:cut], 0o600); err != nil {
		t.Fatal(err)
	}

	logw, logged := logFile(t)
	st2 := testenv.NewStack(t, testenv.Options{DataDir: crashed, Config: func(c *server.Config) {
		c.Log = slog.New(slog.NewTextHandler(logw, nil))
	}})
	wantSecret(t, st2, "j-19", "v")
	st2.Stop()

	events, _ := readAudit(t, auditPath)
	requests := map[string]int{}
	for _, e := range events {
		if e.Phase == "request" && e.Operation == "SetSecret" {
			requests[e.ObjectID]++
		}
	}
	for i := range n {
		if obj := fmt.Sprintf("secrets/j-%02d", i); requests[obj] != 1 {
			t.Errorf("%s: %d request records after the restart, want 1", obj, requests[obj])
		}
	}
	if requests["secrets/before"] != 1 {
		t.Errorf("secrets/before: %d request records, want the one the audit log kept, not written again", requests["secrets/before"])
	}
	if log := logged(); !strings.Contains(log, "they are written back") || !strings.Contains(log, fmt.Sprintf("records=%d", n)) {
		t.Errorf("the start does not say that it wrote %d records back:\n%s", n, log)
	}
}
