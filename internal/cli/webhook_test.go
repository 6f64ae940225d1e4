package cli_test

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/coffer/coffer/internal/barrier"
	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/bbolt"
	"github.com/coffer/coffer/internal/testenv"
)

func TestWebhookCommands(t *testing.T) {
	cleanEnv(t)
	st := testenv.NewStack(t)
	login(t, st)
	rcv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(rcv.Close)
	caFile := filepath.Join(t.TempDir(), "receiver-ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rcv.Certificate().Raw}), 0o644)

	r := coffer(t, "webhook", "create", "--vault-name", "default", "--url", rcv.URL+"/hook", "--before", "72h", "--receiver-ca", caFile).ok(t)
	var created map[string]string
	if err := json.Unmarshal([]byte(r.out), &created); err != nil {
		t.Fatalf("create output %q: %v", r.out, err)
	}
	if created["id"] == "" || len(created["secret"]) < 40 || created["vault"] != "default" || created["before"] != "72h0m0s" ||
		created["url"] != rcv.URL+"/hook" || !strings.Contains(created["ca"], "BEGIN CERTIFICATE") {
		t.Fatalf("create output %s", r.out)
	}
	tab := coffer(t, "webhook", "create", "--vault-name", "default", "--url", "https://hooks.example/in", "-o", "table").ok(t).out
	if lines := strings.Split(strings.TrimSpace(tab), "\n"); len(lines) != 3 || !strings.Contains(lines[0], "Secret") || !strings.Contains(lines[2], "72h0m0s") {
		t.Fatalf("create -o table:\n%s", tab)
	}

	list := coffer(t, "webhook", "list").ok(t).out
	var ws []map[string]string
	if err := json.Unmarshal([]byte(list), &ws); err != nil || len(ws) != 2 || strings.Contains(list, created["secret"]) || strings.Contains(list, `"secret"`) {
		t.Fatalf("list %s: %v", list, err)
	}
	if tab := coffer(t, "webhook", "list", "-o", "tsv").ok(t).out; !strings.Contains(tab, created["id"]+"\tdefault\t"+rcv.URL+"/hook\t72h0m0s\t") {
		t.Fatalf("list -o tsv:\n%s", tab)
	}

	coffer(t, "webhook", "create", "--url", rcv.URL).usage(t, "--vault-name is required").hinted(t)
	coffer(t, "webhook", "create", "--vault-name", "default").usage(t, "--url is required")
	coffer(t, "webhook", "create", "--vault-name", "default", "--url", rcv.URL, "--before", "3 days").usage(t, "before")
	coffer(t, "webhook", "create", "--vault-name", "default", "--url", rcv.URL, "--receiver-ca", filepath.Join(t.TempDir(), "none.pem")).usage(t, "--receiver-ca")
	coffer(t, "webhook", "create", "--vault-name", "nosuchvault", "--url", rcv.URL).notFound(t, "VaultNotFound")
	coffer(t, "webhook", "create", "--vault-name", "default", "--url", "http://hooks.example/in").fails(t, "https://")
	coffer(t, "webhook", "delete").usage(t, "--id is required")

	if r := coffer(t, "webhook", "delete", "--id", created["id"]).ok(t); r.out != "" {
		t.Fatalf("delete printed %q", r.out)
	}
	coffer(t, "webhook", "delete", "--id", created["id"]).notFound(t, "WebhookNotFound")
	if strings.Contains(coffer(t, "webhook", "list").ok(t).out, created["id"]) {
		t.Fatal("deleted subscription still listed")
	}
	coffer(t, "webhook", "frobnicate").usage(t, "frobnicate")
}

func TestLedgerCommands(t *testing.T) {
	cleanEnv(t)
	st := testenv.NewStack(t)
	login(t, st)
	ctx := t.Context()
	c := st.Secrets(t, "default")
	if _, err := c.SetSecret(ctx, "gone", azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteSecret(ctx, "gone", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PurgeDeletedSecret(ctx, "gone", nil); err != nil {
		t.Fatal(err)
	}

	out := coffer(t, "ledger", "--vault-name", "default", "--name", "gone").ok(t).out
	var es []map[string]any
	if err := json.Unmarshal([]byte(out), &es); err != nil || len(es) != 2 || es[0]["action"] != "delete" || es[1]["action"] != "purge" ||
		es[0]["kind"] != "secret" || es[0]["clientId"] != st.Creds.ClientID || es[0]["scheduledPurgeDate"] == nil {
		t.Fatalf("ledger %s: %v", out, err)
	}
	if tab := coffer(t, "ledger", "-o", "table").ok(t).out; !strings.Contains(tab, "Action") || !strings.Contains(tab, "purge") {
		t.Fatalf("ledger -o table:\n%s", tab)
	}
	if out := coffer(t, "ledger", "--name", "nothing-by-this-name").ok(t).out; strings.TrimSpace(out) != "[]" {
		t.Fatalf("empty ledger %q", out)
	}
	coffer(t, "ledger", "extra").usage(t, "extra")

	// More than a page (1000 entries): every page is read.
	st = editStore(t, st, func(tx storage.Tx) error {
		for i := range 1100 {
			if _, err := ledger.Append(tx, ledger.Entry{Time: time.Now().UTC(), Action: ledger.ActionDelete, Kind: "secret",
				Vault: "bulk", Name: fmt.Sprintf("s%d", i), Principal: "test"}); err != nil {
				return err
			}
		}
		return nil
	})
	out = coffer(t, "ledger", "--vault-name", "bulk").ok(t).out
	if err := json.Unmarshal([]byte(out), &es); err != nil || len(es) != 1100 || es[1099]["name"] != "s1099" {
		t.Fatalf("paged ledger: %d entries, %v", len(es), err)
	}

	v := coffer(t, "ledger", "verify").ok(t).out
	var res map[string]any
	if err := json.Unmarshal([]byte(v), &res); err != nil || res["ok"] != true || res["count"] != float64(1102) {
		t.Fatalf("verify %s: %v", v, err)
	}
	// A hand edit of a stored entry: verify fails with exit code 4 and says where.
	editStore(t, st, func(tx storage.Tx) error {
		key := "ledger/entry/0000000000000001"
		b, err := tx.Get(key)
		if err != nil {
			return err
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		m["principal"] = "someone-else"
		b, _ = json.Marshal(m)
		return tx.Put(key, b)
	})
	r := coffer(t, "ledger", "verify").conflict(t, "failed verification at entry 1").hinted(t)
	if err := json.Unmarshal([]byte(r.out), &res); err != nil || res["ok"] != false || res["brokenAt"] != float64(1) {
		t.Fatalf("verify after the edit printed %s: %v", r.out, err)
	}
}

// editStore stops the server, changes its storage by hand (behind the barrier, with the
// data dir's master key), and starts it again, logged in.
func editStore(t *testing.T, st *testenv.Stack, edit func(storage.Tx) error) *testenv.Stack {
	t.Helper()
	st.Stop()
	db, err := bbolt.Open(filepath.Join(st.DataDir, "coffer.db"), bbolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(st.DataDir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	kek, err := barrier.ParseKEK(string(text))
	if err != nil {
		t.Fatal(err)
	}
	b, err := barrier.Open(t.Context(), db, kek, barrier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(t.Context(), edit)
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	st2 := testenv.NewStack(t, testenv.Options{DataDir: st.DataDir})
	login(t, st2)
	return st2
}
