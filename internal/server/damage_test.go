package server_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/testenv"
)

// A bbolt file begins with two meta pages, at offsets 0 and pageSize: a page header of 16
// bytes, then magic, version, page size, flags, root bucket (16 bytes), freelist, high
// water mark, txid and checksum. Each commit writes the meta page of its txid's parity;
// the one with the higher txid is the newest.
const (
	metaAt       = 16 // the meta within its page
	metaPageSize = metaAt + 8
	metaRoot     = metaAt + 16 // root bucket's page id: a byte here breaks the checksum
	metaTxid     = metaAt + 48
)

// damagedDataDir is a stopped server's data dir holding secret "victim" (whose value was
// acknowledged) and "last", the last write before the server stopped.
func damagedDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	st := testenv.NewStack(t, testenv.Options{DataDir: dir})
	setValue(t, st.Secrets(t, "default"), "victim", "sealed-value")
	setValue(t, st.Secrets(t, "default"), "last", "the last acknowledged write")
	st.Stop()
	return dir
}

func readDB(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "coffer.db"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeDB(t *testing.T, dir string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "coffer.db"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// flipNewestMeta flips one byte (of the root page id) in the meta page with the higher
// txid, as bit rot would: bbolt then falls back to the older meta page.
func flipNewestMeta(t *testing.T, dir string) {
	b := readDB(t, dir)
	pageSize := int(binary.LittleEndian.Uint32(b[metaPageSize:]))
	newest := 0
	if binary.LittleEndian.Uint64(b[pageSize+metaTxid:]) > binary.LittleEndian.Uint64(b[metaTxid:]) {
		newest = pageSize
	}
	b[newest+metaRoot] ^= 0x01
	writeDB(t, dir, b)
}

// keyOffsets are the offsets of every copy of key in the file: the live one and those in
// pages older transactions left behind (bbolt never writes a page in place).
func keyOffsets(t *testing.T, b []byte, key string) []int {
	t.Helper()
	var at []int
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte(key))
		if j < 0 {
			break
		}
		at = append(at, i+j)
		i += j + 1
	}
	if len(at) == 0 {
		t.Fatalf("%q is not in the file", key)
	}
	return at
}

// flipKey changes the last byte of every copy of key ("…victim" → "…victiu"), keeping
// the key's place in the sort order: only the barrier, which seals each value with its
// key, can tell.
func flipKey(key string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		b := readDB(t, dir)
		for _, at := range keyOffsets(t, b, key) {
			b[at+len(key)-1] ^= 0x18 // 'm' → 'u'
		}
		writeDB(t, dir, b)
	}
}

// flipPageHeader flips a bit of the page-type flags of every page holding a copy of key:
// the live page among them no longer says it is a leaf.
func flipPageHeader(key string) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		b := readDB(t, dir)
		pageSize := int(binary.LittleEndian.Uint32(b[metaPageSize:]))
		seen := map[int]bool{}
		for _, at := range keyOffsets(t, b, key) {
			page := at / pageSize * pageSize
			// The leaf that holds the key: a branch page may hold it too, as the first key
			// of a child, and its damage would affect every key below it.
			if !seen[page] && b[page+8] == 0x02 {
				seen[page] = true
				b[page+8] ^= 0x20 // flags: 0x02 (leaf) → 0x22
			}
		}
		writeDB(t, dir, b)
	}
}

// TestStartOnDamagedDatabase: a start on a damaged coffer.db never panics, and never
// serves silently what is left: a newest meta page that does not validate (the last
// acknowledged write would be gone) and a page that is not a page stop the start with a
// message naming the file and `coffer check`.
func TestStartOnDamagedDatabase(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   []string
	}{
		{"newest-meta-page", flipNewestMeta, []string{"coffer.db", "older than the last write", "coffer check", "backup"}},
		{"page-header", flipPageHeader("v/default/secret/live/victim"), []string{"coffer.db", "damaged", "coffer check", "backup"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := damagedDataDir(t)
			tc.damage(t, dir)
			srv, err := server.New(t.Context(), server.Config{DataDir: dir, Addr: "127.0.0.1:0", Log: discardLog()})
			if err == nil {
				srv.Close()
				t.Fatal("the server started on a damaged coffer.db")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the start's error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestStartExplainsDamagedKey: a key byte flipped in a way that keeps the file's order is
// invisible to the file's structure, so the start goes on — and the check of every value,
// which runs in the background once the server serves, says, naming the key, that its
// value does not open (the secret would otherwise answer 404 with nothing logged).
func TestStartExplainsDamagedKey(t *testing.T) {
	dir := damagedDataDir(t)
	flipKey("v/default/secret/live/victim")(t, dir)
	logw, logged := logFile(t)
	st := testenv.NewStack(t, testenv.Options{DataDir: dir, Config: func(c *server.Config) {
		c.Log = slog.New(slog.NewTextHandler(logw, nil))
	}})
	wantSecret(t, st, "last", "the last acknowledged write")
	if err := st.Server.WaitStorageCheck(t.Context()); err != nil {
		t.Fatal(err)
	}
	log := logged()
	if !strings.Contains(log, "a stored value does not open under the keyring") || !strings.Contains(log, "key=v/default/secret/live/victiu") || !strings.Contains(log, "coffer check") {
		t.Errorf("the start's log does not name the damaged key:\n%s", log)
	}
}

// TestStartOnDeepDamage: the start checks a bounded part of the file (here, as in a file
// larger than the bound, only its upper levels), so a leaf page damaged below them does
// not stop it. The background check then finds it: the log names the page, what it
// affects and coffer check; /healthz answers 503 (a load balancer takes the server out,
// as a refused start did before); coffer_storage_problems counts it; a read that meets
// the page fails with 500 and the server stays up; nothing damaged is served as data.
func TestStartOnDeepDamage(t *testing.T) {
	dir := t.TempDir()
	st := testenv.NewStack(t, testenv.Options{DataDir: dir})
	sc := st.Secrets(t, "default")
	for i := range 60 { // enough for a tree of more than one level
		setValue(t, sc, fmt.Sprintf("filler-%03d", i), strings.Repeat("x", 1000))
	}
	setValue(t, sc, "victim", "sealed-value")
	st.Stop()
	flipPageHeader("v/default/secret/live/victim")(t, dir)

	logw, logged := logFile(t)
	st = testenv.NewStack(t, testenv.Options{DataDir: dir, Config: func(c *server.Config) {
		c.Log = slog.New(slog.NewTextHandler(logw, nil))
		c.StartCheckPages = 2 // the root levels only
	}})
	if err := st.Server.WaitStorageCheck(t.Context()); err != nil {
		t.Fatal(err)
	}
	log := logged()
	for _, w := range []string{"the database file is damaged", "not a branch or leaf page", "coffer check"} {
		if !strings.Contains(log, w) {
			t.Errorf("the background check's log does not say %q:\n%s", w, log)
		}
	}
	resp, err := st.HTTP.Get(st.Server.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/healthz answers %d on a damaged file, want 503", resp.StatusCode)
	}
	if n := scrape(t, st)["coffer_storage_problems"]; n < 1 {
		t.Errorf("coffer_storage_problems is %v, want the damage counted", n)
	}
	opts := testenv.ClientOptions(st.Creds, st.HTTP)
	opts.Retry.MaxRetries = -1 // a 500 is the answer here, not a reason to wait and retry
	sc, err = azsecrets.NewClient(st.Server.VaultURL("default"), st.Cred, &azsecrets.ClientOptions{ClientOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.GetSecret(t.Context(), "victim", "", nil); err == nil {
		t.Errorf("a secret on the damaged page was served")
	}
	if _, err := sc.GetSecret(t.Context(), "filler-001", "", nil); err != nil && !strings.Contains(err.Error(), "500") {
		t.Errorf("reading another secret: %v\n%s", err, logged())
	}
}

// TestCheckFindsDamage: `coffer check` (server.Check) finds each damage and says what it
// affects — the whole database, or the secret a damaged key costs — while a start never
// panics on it; --accept-stale-database lets a start serve an older file as it is.
func TestCheckFindsDamage(t *testing.T) {
	type want struct{ affects, text string }
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   []want
	}{
		{"sound", func(*testing.T, string) {}, nil},
		{"newest-meta-page", flipNewestMeta, []want{
			{"the whole database", "does not validate"},
			{"the whole database", "older than the last write the server acknowledged"},
		}},
		{"key", flipKey("v/default/secret/live/victim"), []want{
			{"vault default, secret victiu", "does not open under the keyring"},
			{"vault default, secret victim", "orphaned versions"},
		}},
		{"page-header", flipPageHeader("v/default/secret/live/victim"), []want{
			{"", "not a branch or leaf page"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := damagedDataDir(t)
			tc.damage(t, dir)
			r, err := server.Check(t.Context(), dir, server.CheckOptions{})
			if err != nil {
				t.Fatalf("check: %v", err)
			}
			for _, w := range tc.want {
				found := false
				for _, p := range r.Problems {
					found = found || strings.HasPrefix(p.Affects, w.affects) && strings.Contains(p.Text, w.text)
				}
				if !found {
					t.Errorf("no problem %q affecting %q in:\n%s", w.text, w.affects, problems(r))
				}
			}
			if len(tc.want) == 0 && (len(r.Problems) != 0 || !r.ValuesChecked || r.Values < 5 || r.Txid == 0 || r.Recorded != r.Txid) {
				t.Errorf("a sound data dir: %+v\n%s", r, problems(r))
			}
			// Whatever the damage, a start refuses with a message, or serves: no panic.
			if srv, err := server.New(t.Context(), server.Config{DataDir: dir, Addr: "127.0.0.1:0", Log: discardLog()}); err == nil {
				srv.Close()
			}
		})
	}
}

func problems(r *server.CheckReport) string {
	var b strings.Builder
	for _, p := range r.Problems {
		b.WriteString("  " + p.String() + "\n")
	}
	return b.String()
}

// TestCheckAcceptStale: a data dir whose coffer.db lost its last transaction starts only
// once the operator has accepted the file as it is; the check refuses while a server runs.
func TestCheckAcceptStale(t *testing.T) {
	dir := damagedDataDir(t)
	flipNewestMeta(t, dir)
	r, err := server.Check(t.Context(), dir, server.CheckOptions{AcceptStale: true})
	if err != nil || !r.Accepted || r.Recorded != r.Txid {
		t.Fatalf("check --accept-stale-database: %+v %v", r, err)
	}
	st := testenv.NewStack(t, testenv.Options{DataDir: dir})
	wantSecret(t, st, "victim", "sealed-value")
	if _, err := server.Check(t.Context(), dir, server.CheckOptions{}); err == nil || !strings.Contains(err.Error(), "data dir in use") {
		t.Errorf("check on a running server: %v", err)
	}
	st.Stop()
	if r, err := server.Check(t.Context(), dir, server.CheckOptions{}); err != nil || len(r.Problems) != 0 {
		t.Errorf("after a clean stop: %v\n%s", err, problems(r))
	}
}
