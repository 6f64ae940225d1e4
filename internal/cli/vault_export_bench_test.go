package cli_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"filippo.io/age"
	"fmt"
	"github.com/coffer/coffer/internal/cli"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/storage/postgres/pgtest"
	"github.com/coffer/coffer/internal/testenv"
	"github.com/coffer/coffer/internal/vaultfile"
)

// BenchmarkVaultExportImport100k times coffer vault export and coffer vault import of a
// vault of 100,000 secrets (one version each, 64-byte values) against a real server on
// bbolt, through the CLI (age X25519 encryption included). The vault is made by
// importing a generated stream (the records of one secret made through the SDK, repeated
// under 100,000 names), since 100,000 SDK calls would time the wrong thing. Run it once:
//
//	go test ./internal/cli/ -run '^$' -bench VaultExportImport100k -benchtime 1x -timeout 20m
//
// COFFER_BENCH_SECRETS sets another size; COFFER_BENCH_POSTGRES=1 runs the server on the
// PostgreSQL of COFFER_TEST_POSTGRES_DSN.
func BenchmarkVaultExportImport100k(b *testing.B) {
	n := benchSecrets()
	dir := b.TempDir()
	b.Setenv("COFFER_CONFIG_DIR", filepath.Join(dir, "config"))
	var opts testenv.Options
	if os.Getenv("COFFER_BENCH_POSTGRES") != "" { // the server on PostgreSQL
		dsn := pgtest.FreshSchema(b, "coffer_vxb_")
		opts.Config = func(c *server.Config) { c.Storage = dsn }
	}
	st := testenv.NewStack(b, opts)
	b.Setenv("COFFER_SERVER", st.Server.URL())
	b.Setenv("COFFER_CREDENTIALS", st.Server.CredentialsPath())
	run := func(args ...string) {
		var out, errb bytes.Buffer
		if code := cliMain(b, append(args, "--ca", st.Server.CAPath()), &out, &errb); code != 0 {
			b.Fatalf("coffer %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
		}
	}
	run("vault", "create", "--name", "tpl")
	sc, err := azsecrets.NewClient(st.Server.VaultURL("tpl"), st.Cred, &azsecrets.ClientOptions{ClientOptions: testenv.ClientOptions(st.Creds, st.HTTP)})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := sc.SetSecret(b.Context(), "t", azsecrets.SetSecretParameters{Value: to.Ptr(strings.Repeat("v", 64)), Tags: map[string]*string{"app": to.Ptr("bench")}}, nil); err != nil {
		b.Fatal(err)
	}
	tpl := plainExport(b, st, "tpl")
	var head, ver vaultfile.Record
	var vault json.RawMessage
	sr, err := vaultfile.NewReader(strings.NewReader(tpl))
	if err != nil {
		b.Fatal(err)
	}
	for {
		r, err := sr.Next()
		if err != nil {
			break
		}
		switch {
		case r.Type == vaultfile.TypeVault:
			vault = r.Data
		case r.Key == "secret/live/t":
			head = r
		case strings.HasPrefix(r.Key, "secret/ver/t/"):
			ver = r
		}
	}
	var stream bytes.Buffer
	w, _ := vaultfile.NewWriter(&stream, vaultfile.Header{Vault: "tpl", ExportedAt: time.Now()})
	w.Write(vaultfile.Record{Type: vaultfile.TypeVault, Data: vault}, "vault")
	oldVer := strings.TrimPrefix(ver.Key, "secret/ver/t/")
	for i := range n {
		name := fmt.Sprintf("s%06d", i)
		id := make([]byte, 16)
		rand.Read(id)
		v := hex.EncodeToString(id)
		hd := bytes.Replace(bytes.Replace(head.Data, []byte(`"name":"t"`), []byte(`"name":"`+name+`"`), 1), []byte(oldVer), []byte(v), 1)
		w.Write(vaultfile.Record{Type: vaultfile.TypeObject, Key: "secret/live/" + name, Data: hd}, "secrets")
		vd := bytes.Replace(ver.Data, []byte(oldVer), []byte(v), 1)
		w.Write(vaultfile.Record{Type: vaultfile.TypeObject, Key: "secret/ver/" + name + "/" + v, Data: vd}, "secretVersions")
	}
	w.Close()
	start := time.Now()
	req, _ := http.NewRequest("POST", st.Server.URL()+"/admin/import/big", bufio.NewReader(&stream))
	req.Header.Set("Authorization", "Bearer "+st.ARMToken(b))
	resp, err := st.HTTP.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		b.Fatalf("seed import: %v %v", err, resp.Status)
	}
	resp.Body.Close()
	b.ReportMetric(time.Since(start).Seconds(), "seed-import-s")

	id, recipient := ageKeyB(b)
	file := filepath.Join(dir, "big.cfx")
	b.ResetTimer()
	start = time.Now()
	run("vault", "export", "--name", "big", "--file", file, "--recipient", recipient)
	exp := time.Since(start)
	start = time.Now()
	run("vault", "import", "--name", "big2", "--file", file, "--identity", id)
	imp := time.Since(start)
	b.StopTimer()
	b.ReportMetric(exp.Seconds(), "export-s")
	b.ReportMetric(imp.Seconds(), "import-s")
	big2, _ := azsecrets.NewClient(st.Server.VaultURL("big2"), st.Cred, &azsecrets.ClientOptions{ClientOptions: testenv.ClientOptions(st.Creds, st.HTTP)})
	got, err := big2.GetSecret(b.Context(), fmt.Sprintf("s%06d", n-1), "", nil)
	if err != nil || *got.Value != strings.Repeat("v", 64) {
		b.Fatalf("the imported vault: %v", err)
	}
}

func cliMain(tb testing.TB, args []string, out, errb *bytes.Buffer) int {
	return cli.Main(tb.Context(), args, strings.NewReader(""), out, errb)
}

// plainExport reads a vault's plaintext export stream from the admin route.
func plainExport(tb testing.TB, st *testenv.Stack, vault string) string {
	tb.Helper()
	req, _ := http.NewRequest("GET", st.Server.URL()+"/admin/export/"+vault, nil)
	req.Header.Set("Authorization", "Bearer "+st.ARMToken(tb))
	resp, err := st.HTTP.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("export: %s %s", resp.Status, body)
	}
	return string(body)
}

func ageKeyB(tb testing.TB) (string, string) {
	tb.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		tb.Fatal(err)
	}
	f := filepath.Join(tb.TempDir(), "key.txt")
	if err := os.WriteFile(f, []byte(id.String()+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	return f, id.Recipient().String()
}

// benchSecrets is the vault's size: 100,000, or COFFER_BENCH_SECRETS.
func benchSecrets() int {
	if n, err := strconv.Atoi(os.Getenv("COFFER_BENCH_SECRETS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}
