package cli_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/testenv"
)

// azDate is the form az prints dates in: Python's isoformat of a UTC datetime.
var azDate = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$`)

// jsonOut parses a command's JSON output.
func jsonOut[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.out), &v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, r.out)
	}
	return v
}

// at walks a parsed JSON value along a dotted path.
func at(v any, path string) any {
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func armAvailable(t *testing.T, st *testenv.Stack) {
	t.Helper()
	armURL := st.Server.URL() + "/subscriptions/c0ffe000-0000-4000-8000-000000000000/resourceGroups/coffer/providers/Microsoft.KeyVault/vaults/default?api-version=2024-11-01"
	if status, _ := send(t, st, "GET", armURL, st.ARMToken(t), ""); status == 404 {
		t.Skip("ARM not available")
	}
}

// TestVaultLifecycle drives every vault command: create, show, list, update, delete,
// the deleted vault's help, list-deleted, show-deleted, recover, purge, and purge
// protection's refusal.
func TestVaultLifecycle(t *testing.T) {
	cleanEnv(t)
	st := testenv.NewStack(t)
	login(t, st)
	armAvailable(t, st)

	v := jsonOut[map[string]any](t, coffer(t, "vault", "create", "--name", "vault1").ok(t))
	if v["name"] != "vault1" || v["resourceGroup"] != "coffer" || v["location"] != "local" ||
		at(v, "properties.softDeleteRetentionInDays") != float64(90) || !strings.HasPrefix(at(v, "properties.vaultUri").(string), "https://vault1.localhost:") {
		t.Fatalf("create printed %s", coffer(t, "vault", "show", "-n", "vault1").out)
	}
	if ps, _ := at(v, "properties.accessPolicies").([]any); len(ps) != 1 || at(ps[0], "permissions.secrets").([]any)[0] != "all" {
		t.Fatalf("create gave no self policy: %v", at(v, "properties.accessPolicies"))
	}
	coffer(t, "vault", "create", "--name", "vault1").conflict(t, "already exists").hinted(t)

	v = jsonOut[map[string]any](t, coffer(t, "vault", "create", "-n", "vault2", "-g", "rg2", "-l", "westus", "--retention-days", "7",
		"--enable-purge-protection", "true", "--no-self-perms").ok(t))
	if at(v, "properties.enablePurgeProtection") != true || at(v, "properties.softDeleteRetentionInDays") != float64(7) || v["location"] != "westus" {
		t.Fatalf("create vault2: %v", v)
	}
	if v := jsonOut[map[string]any](t, coffer(t, "vault", "show", "--name", "VAULT2").ok(t)); v["resourceGroup"] != "rg2" {
		t.Fatalf("show found group %v", v["resourceGroup"])
	}
	names := func(args ...string) string {
		var ns []string
		for _, v := range jsonOut[[]map[string]any](t, coffer(t, append([]string{"vault"}, args...)...).ok(t)) {
			ns = append(ns, v["name"].(string))
		}
		return strings.Join(ns, ",")
	}
	if got := names("list"); !strings.Contains(got, "vault1") || !strings.Contains(got, "vault2") || !strings.Contains(got, "default") {
		t.Fatalf("list: %s", got)
	}
	if got := names("list", "-g", "rg2"); got != "vault2" {
		t.Fatalf("list -g rg2: %s", got)
	}
	if tab := coffer(t, "vault", "list", "-g", "rg2", "-o", "table").ok(t).out; !strings.HasPrefix(tab, "Name") || !strings.Contains(tab, "westus") {
		t.Fatalf("table:\n%s", tab)
	}

	v = jsonOut[map[string]any](t, coffer(t, "vault", "update", "-n", "vault1", "--tags", "env=prod team=db").ok(t))
	if at(v, "tags.env") != "prod" || at(v, "tags.team") != "db" {
		t.Fatalf("update tags: %v", v["tags"])
	}
	coffer(t, "vault", "update", "-n", "vault1", "--retention-days", "30").fails(t, "400")
	coffer(t, "vault", "update", "-n", "vault1").usage(t, "nothing to update").hinted(t)

	// Delete: nothing on stdout, the way back on stderr.
	r := coffer(t, "vault", "delete", "--name", "vault1").ok(t)
	if r.out != "" || !strings.Contains(r.err, "coffer vault recover --name vault1") {
		t.Fatalf("delete: stdout %q stderr %q", r.out, r.err)
	}
	for _, args := range [][]string{{"vault", "show", "-n", "vault1"}, {"vault", "show", "-n", "vault1", "-g", "coffer"}, {"vault", "update", "-n", "vault1", "--tags", "a=b"}} {
		r := coffer(t, args...).notFound(t, `vault "vault1" is deleted`)
		if !strings.Contains(r.err, "coffer: hint: recover it: coffer vault recover --name vault1") || !strings.Contains(r.err, "coffer vault purge --name vault1") {
			t.Fatalf("%v: %s", args, r.err)
		}
	}
	coffer(t, "vault", "create", "-n", "vault1").conflict(t, "held by a deleted vault").hinted(t)
	var found bool
	for _, d := range jsonOut[[]map[string]any](t, coffer(t, "vault", "list-deleted").ok(t)) {
		if d["name"] == "vault1" {
			found = azDate.MatchString(at(d, "properties.scheduledPurgeDate").(string)) && azDate.MatchString(at(d, "properties.deletionDate").(string))
		}
	}
	if !found {
		t.Fatalf("list-deleted: %s", coffer(t, "vault", "list-deleted").out)
	}
	d := jsonOut[map[string]any](t, coffer(t, "vault", "show-deleted", "--name", "vault1").ok(t))
	if !strings.HasSuffix(at(d, "properties.vaultId").(string), "/resourceGroups/coffer/providers/Microsoft.KeyVault/vaults/vault1") {
		t.Fatalf("show-deleted: %v", d)
	}
	coffer(t, "vault", "show-deleted", "--name", "vault1", "-l", "local").ok(t)
	coffer(t, "vault", "show-deleted", "--name", "vault2").notFound(t, "not deleted").hinted(t)

	v = jsonOut[map[string]any](t, coffer(t, "vault", "recover", "--name", "vault1").ok(t))
	if v["name"] != "vault1" || v["resourceGroup"] != "coffer" || at(v, "tags.env") != "prod" {
		t.Fatalf("recover: %v", v)
	}
	coffer(t, "vault", "show", "-n", "vault1").ok(t)
	coffer(t, "vault", "recover", "--name", "vault1").notFound(t, "not deleted")

	// Purge protection: the refusal says when the vault goes by itself.
	coffer(t, "vault", "delete", "-n", "vault2").ok(t)
	r = coffer(t, "vault", "purge", "-n", "vault2", "--yes").conflict(t, "purge protection")
	if !strings.Contains(r.err, "purges it by itself at its scheduledPurgeDate") || !strings.Contains(r.err, "coffer vault recover --name vault2") {
		t.Fatalf("purge protected: %s", r.err)
	}
	coffer(t, "vault", "show-deleted", "-n", "vault2").ok(t)

	coffer(t, "vault", "delete", "-n", "vault1").ok(t)
	if r := coffer(t, "vault", "purge", "-n", "vault1", "--yes").ok(t); r.out != "" {
		t.Fatalf("purge printed %q", r.out)
	}
	coffer(t, "vault", "show-deleted", "-n", "vault1").notFound(t, "no deleted vault").hinted(t)
	coffer(t, "vault", "show", "-n", "vault1").notFound(t, "no vault")
	coffer(t, "vault", "purge", "-n", "vault1", "--yes").notFound(t, "no deleted vault")

	// az's forms of a true/false flag: bare and with =.
	v = jsonOut[map[string]any](t, coffer(t, "vault", "create", "-n", "vault3", "--enable-purge-protection", "--no-self-perms").ok(t))
	if at(v, "properties.enablePurgeProtection") != true {
		t.Fatalf("bare flag: %v", v)
	}
	coffer(t, "vault", "create", "-n", "vault4", "--no-self-perms=true").ok(t)
	v = jsonOut[map[string]any](t, coffer(t, "vault", "update", "-n", "vault4", "--enable-purge-protection=true").ok(t))
	if at(v, "properties.enablePurgeProtection") != true {
		t.Fatalf("=true: %v", v)
	}
	coffer(t, "vault", "create", "-n", "vault5", "--enable-purge-protection", "false").fails(t, "400")
}
