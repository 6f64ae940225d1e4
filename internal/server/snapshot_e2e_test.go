package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/storage/snapfile"
	"github.com/coffer/coffer/internal/testenv"
)

// These tests take online snapshots (GET /admin/snapshot) of a server under write load
// and restore them offline into new storage, then start a server there.

// saveSnapshot streams GET /admin/snapshot of st into a file and returns its path.
func saveSnapshot(t *testing.T, st *testenv.Stack) string {
	t.Helper()
	return saveSnapshotQuery(t, st, "")
}

// saveSnapshotQuery is saveSnapshot with a query (?rate=…).
func saveSnapshotQuery(t *testing.T, st *testenv.Stack, query string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, st.Server.URL()+"/admin/snapshot"+query, nil)
	req.Header.Set("Authorization", "Bearer "+st.ARMToken(t))
	resp, err := st.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /admin/snapshot: %d %s", resp.StatusCode, b)
	}
	path := filepath.Join(t.TempDir(), "coffer.snapshot")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		t.Fatalf("read the snapshot: %v", err)
	}
	return path
}

// writer sets one secret to "SEQ" for SEQ = 1, 2, … one at a time through the Azure SDK,
// and records the highest SEQ acknowledged.
type writer struct {
	name        string
	mu          sync.Mutex
	acked, sent int // the last acknowledged, the last sent
}

func (w *writer) state() (acked, sent int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.acked, w.sent
}

func (w *writer) run(ctx context.Context, c *azsecrets.Client, errs chan<- error) {
	for seq := 1; ctx.Err() == nil; seq++ {
		w.mu.Lock()
		w.sent = seq
		w.mu.Unlock()
		_, err := c.SetSecret(ctx, w.name, azsecrets.SetSecretParameters{Value: to.Ptr(strconv.Itoa(seq))}, nil)
		if err != nil {
			if ctx.Err() == nil {
				errs <- fmt.Errorf("%s: set %d: %w", w.name, seq, err)
			}
			return
		}
		w.mu.Lock()
		w.acked = seq
		w.mu.Unlock()
	}
}

// restoredSeqs reads back every version of a secret and returns their values as numbers.
func restoredSeqs(t *testing.T, c *azsecrets.Client, name string) []int {
	t.Helper()
	var seqs []int
	p := c.NewListSecretPropertiesVersionsPager(name, nil)
	for p.More() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("list versions of %s: %v", name, err)
		}
		for _, v := range page.Value {
			r, err := c.GetSecret(t.Context(), name, v.ID.Version(), nil)
			if err != nil {
				t.Fatalf("get %s/%s: %v", name, v.ID.Version(), err)
			}
			n, err := strconv.Atoi(*r.Value)
			if err != nil {
				t.Fatalf("%s/%s holds %q", name, v.ID.Version(), *r.Value)
			}
			seqs = append(seqs, n)
		}
	}
	sort.Ints(seqs)
	return seqs
}

// checkPrefix is the model check of one writer: the restored writes are 1..k for some k
// (a prefix: no hole, nothing twice), every write acknowledged before the snapshot began
// is among them, and nothing beyond what was sent when it ended (at most the one write
// in flight then besides the acknowledged ones).
func checkPrefix(name string, seqs []int, ackedBefore, sentAfter int) error {
	for i, s := range seqs {
		if s != i+1 {
			return fmt.Errorf("%s: restored writes %v are not a prefix 1..k of the sequence", name, seqs)
		}
	}
	k := len(seqs)
	if k < ackedBefore {
		return fmt.Errorf("%s: %d writes restored, but %d were acknowledged before the snapshot began", name, k, ackedBefore)
	}
	if k > sentAfter {
		return fmt.Errorf("%s: %d writes restored, but only %d had been sent when the snapshot ended", name, k, sentAfter)
	}
	return nil
}

func TestCheckPrefixModel(t *testing.T) {
	for _, c := range []struct {
		seqs                   []int
		ackedBefore, sentAfter int
		ok                     bool
	}{
		{[]int{1, 2, 3}, 2, 4, true},
		{[]int{1, 2, 3, 4}, 2, 4, true}, // the last one in flight
		{nil, 0, 3, true},
		{[]int{1, 3}, 0, 4, false},          // a hole
		{[]int{1, 2}, 3, 5, false},          // an acknowledged write lost
		{[]int{1, 2, 3, 4, 5}, 2, 4, false}, // a write never sent
		{[]int{1, 2, 2}, 0, 4, false},       // twice
	} {
		if err := checkPrefix("w", c.seqs, c.ackedBefore, c.sentAfter); (err == nil) != c.ok {
			t.Errorf("checkPrefix(%v, %d, %d) = %v, want ok=%v", c.seqs, c.ackedBefore, c.sentAfter, err, c.ok)
		}
	}
}

// TestSnapshotUnderWriteLoad: writers set secrets through the Azure SDK while an online
// snapshot is taken; restored into a new data dir and served there, each writer's secret
// holds exactly an acknowledged prefix of its writes.
func TestSnapshotUnderWriteLoad(t *testing.T) {
	t.Run("bbolt", func(t *testing.T) { snapshotUnderWriteLoad(t, testenv.NewStack(t), "bbolt") })
	t.Run("postgres", func(t *testing.T) {
		dsn := freshPostgres(t)
		key := make([]byte, 32)
		rand.Read(key)
		kek := base64.StdEncoding.EncodeToString(key)
		st := testenv.NewStack(t, testenv.Options{Config: func(c *server.Config) { c.Storage, c.MasterKey = dsn, kek }})
		if err := os.WriteFile(st.Path("master.key"), []byte(kek+"\n"), 0o600); err != nil {
			t.Fatal(err) // where the restored copy takes its key from
		}
		snapshotUnderWriteLoad(t, st, "postgres")
	})
}

// snapshotUnderWriteLoad takes a snapshot of st (on source storage) under write load,
// restores it into a new data dir and checks the model there.
func snapshotUnderWriteLoad(t *testing.T, st *testenv.Stack, source string) {
	const writers = 4
	// Enough data that the snapshot, paced at 1 MiB/s, takes a second or two: the
	// writers go on meanwhile.
	var fill sync.WaitGroup
	filler := st.Secrets(t, "default")
	value := strings.Repeat("x", 2000)
	for g := range 8 {
		fill.Add(1)
		go func() {
			defer fill.Done()
			for i := g; i < 600; i += 8 {
				if _, err := filler.SetSecret(t.Context(), fmt.Sprintf("fill-%d", i), azsecrets.SetSecretParameters{Value: &value}, nil); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	fill.Wait()
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	ws := make([]*writer, writers)
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for i := range ws {
		ws[i] = &writer{name: fmt.Sprintf("w%d", i)}
		c := st.Secrets(t, "default")
		wg.Add(1)
		go func() { defer wg.Done(); ws[i].run(ctx, c, errs) }()
	}
	// Some writes before; the snapshot while they go on; some after.
	waitAcked := func(n int) {
		pollUntil(t, 60*time.Second, "writers to make progress", func() bool {
			for _, w := range ws {
				if a, _ := w.state(); a < n {
					return len(errs) > 0
				}
			}
			return true
		})
	}
	waitAcked(10)
	before := make([]int, writers)
	for i, w := range ws {
		before[i], _ = w.state()
	}
	file := saveSnapshotQuery(t, st, "?rate=1")
	after := make([]int, writers)
	for i, w := range ws {
		a, s := w.state()
		after[i] = s
		if a <= before[i] {
			t.Errorf("%s: no write acknowledged while the snapshot was taken: the test shows nothing", w.name)
		}
	}
	waitAcked(before[0] + 20)
	stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	hdr, sum, err := server.CheckSnapshot(file)
	if err != nil {
		t.Fatalf("CheckSnapshot: %v", err)
	}
	if hdr.Source != source || sum.Records == 0 {
		t.Fatalf("header %+v, %d records", hdr, sum.Records)
	}
	if bytes.Contains(mustRead(t, file), []byte(`"value":"`)) {
		t.Errorf("the snapshot holds a value in clear")
	}

	dir := filepath.Join(t.TempDir(), "restored")
	res, err := server.RestoreSnapshot(t.Context(), file, server.RestoreTarget{DataDir: dir})
	if err != nil {
		t.Fatalf("RestoreSnapshot: %v", err)
	}
	if res.Records != sum.Records {
		t.Errorf("restored %d records of %d", res.Records, sum.Records)
	}
	// The master key is not in the snapshot: a restored dir without it does not start.
	if _, err := server.New(t.Context(), server.Config{DataDir: dir, Addr: "127.0.0.1:0", Log: discardLog()}); err == nil || !strings.Contains(err.Error(), "master.key") {
		t.Fatalf("start without the master key: %v, want a refusal naming master.key", err)
	}
	copyFile(t, st.Path("master.key"), filepath.Join(dir, "master.key"))
	// coffer check finds the restored dir sound: structure, txid record, every value opens,
	// the records agree.
	rep, err := server.Check(t.Context(), dir, server.CheckOptions{})
	if err != nil || len(rep.Problems) != 0 || !rep.RecordFound || rep.Recorded != rep.Txid {
		t.Fatalf("check the restored dir: %v, %+v", err, rep)
	}
	st2 := testenv.NewStack(t, testenv.Options{DataDir: dir})
	c2 := st2.Secrets(t, "default")
	for i, w := range ws {
		seqs := restoredSeqs(t, c2, w.name)
		if err := checkPrefix(w.name, seqs, before[i], after[i]); err != nil {
			t.Error(err)
		}
		t.Logf("%s: acknowledged before the snapshot %d, sent when it ended %d, restored %d", w.name, before[i], after[i], len(seqs))
	}
	// The restored deployment serves writes too.
	setValue(t, c2, "after-restore", "x")

	// A second restore into the same dir is refused, and changes nothing.
	if _, err := server.RestoreSnapshot(t.Context(), file, server.RestoreTarget{DataDir: dir}); !errors.Is(err, server.ErrTargetNotEmpty) {
		t.Errorf("restore into a data dir in use: %v, want ErrTargetNotEmpty", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	if err := os.WriteFile(to, mustRead(t, from), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotDamagedRefused: a truncated or altered snapshot, and a target that holds
// data, are refused, and the target is left as it was.
func TestSnapshotDamagedRefused(t *testing.T) {
	st := testenv.NewStack(t)
	setValue(t, st.Secrets(t, "default"), "s", "v")
	file := saveSnapshot(t, st)
	good := mustRead(t, file)
	cases := map[string][]byte{
		"truncated":      good[:len(good)/2],
		"no trailer":     good[:len(good)-41],
		"a byte altered": func() []byte { b := bytes.Clone(good); b[len(b)/2] ^= 1; return b }(),
		"trailing bytes": append(bytes.Clone(good), 'x'),
	}
	for name, b := range cases {
		bad := filepath.Join(t.TempDir(), "bad.snapshot")
		if err := os.WriteFile(bad, b, 0o600); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "target")
		_, err := server.RestoreSnapshot(t.Context(), bad, server.RestoreTarget{DataDir: dir})
		if !errors.Is(err, snapfile.ErrDamaged) {
			t.Errorf("%s: restore = %v, want ErrDamaged", name, err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: the refused restore made %s", name, dir)
		}
	}
	// Only the administrator may take one.
	creds := newPrincipal(t, st, "reader", "get", "list")
	status, body := call(t, st, http.MethodGet, st.Server.URL()+"/admin/snapshot", token(t, testenv.Credential(t, creds, st.HTTP), "https://management.azure.com"), "")
	if status != http.StatusForbidden || strings.Contains(body, "coffer-snapshot") {
		t.Errorf("a snapshot by another principal: %d %.80q", status, body)
	}
	if status, _ := call(t, st, http.MethodGet, st.Server.URL()+"/admin/snapshot?rate=fast", st.ARMToken(t), ""); status != http.StatusBadRequest {
		t.Errorf("?rate=fast: %d, want 400", status)
	}
	// Into the running server's own data dir: refused, the server serves on.
	if _, err := server.RestoreSnapshot(t.Context(), file, server.RestoreTarget{DataDir: st.DataDir}); !errors.Is(err, server.ErrTargetNotEmpty) {
		t.Errorf("restore over a live data dir: %v, want ErrTargetNotEmpty", err)
	}
	if r, err := st.Secrets(t, "default").GetSecret(t.Context(), "s", "", nil); err != nil || *r.Value != "v" {
		t.Errorf("after the refused restore: %v", err)
	}
}

// TestSnapshotAcrossBackends: a snapshot of the embedded store restores onto PostgreSQL,
// a snapshot of that server restores onto the embedded store again, and each restored
// deployment serves the same secrets with the same master key.
func TestSnapshotAcrossBackends(t *testing.T) {
	dsn := freshPostgres(t)
	st := testenv.NewStack(t)
	c := st.Secrets(t, "default")
	setValue(t, c, "kept", "one")
	setValue(t, c, "kept", "two")
	setValue(t, c, "gone", "x")
	deleteSecret(t, c, "gone")
	file := saveSnapshot(t, st)
	kek := strings.TrimSpace(string(mustRead(t, st.Path("master.key"))))

	if _, err := server.RestoreSnapshot(t.Context(), file, server.RestoreTarget{DSN: dsn}); err != nil {
		t.Fatalf("restore onto PostgreSQL: %v", err)
	}
	if _, err := server.RestoreSnapshot(t.Context(), file, server.RestoreTarget{DSN: dsn}); !errors.Is(err, server.ErrTargetNotEmpty) {
		t.Errorf("restore into a database that holds data: %v, want ErrTargetNotEmpty", err)
	}
	pg := testenv.NewStack(t, testenv.Options{Config: func(c *server.Config) { c.Storage, c.MasterKey = dsn, kek }})
	want := func(st *testenv.Stack, where string) {
		t.Helper()
		c := st.Secrets(t, "default")
		if r, err := c.GetSecret(t.Context(), "kept", "", nil); err != nil || *r.Value != "two" {
			t.Errorf("%s: kept = %v, %v", where, r.Value, err)
		}
		if got := restoredVersions(t, c, "kept"); got != 2 {
			t.Errorf("%s: kept has %d versions, want 2", where, got)
		}
		if _, err := c.GetDeletedSecret(t.Context(), "gone", nil); err != nil {
			t.Errorf("%s: the deleted secret: %v", where, err)
		}
	}
	want(pg, "on PostgreSQL")

	back := saveSnapshot(t, pg)
	if hdr, _, err := server.CheckSnapshot(back); err != nil || hdr.Source != "postgres" {
		t.Fatalf("snapshot of the PostgreSQL server: %+v, %v", hdr, err)
	}
	dir := filepath.Join(t.TempDir(), "back")
	if _, err := server.RestoreSnapshot(t.Context(), back, server.RestoreTarget{DataDir: dir}); err != nil {
		t.Fatalf("restore onto bbolt: %v", err)
	}
	copyFile(t, st.Path("master.key"), filepath.Join(dir, "master.key"))
	want(testenv.NewStack(t, testenv.Options{DataDir: dir}), "back on bbolt")
}

func restoredVersions(t *testing.T, c *azsecrets.Client, name string) int {
	t.Helper()
	n := 0
	p := c.NewListSecretPropertiesVersionsPager(name, nil)
	for p.More() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Value)
	}
	return n
}
