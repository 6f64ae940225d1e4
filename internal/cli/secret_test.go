package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/testenv"
)

func keysOf(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, ",")
}

// wantDeletedHints checks the help for a deleted object: the dates and the exact
// recover and purge commands.
func wantDeletedHints(t *testing.T, r result, kind, vault, name string, purgeable bool) {
	t.Helper()
	for _, want := range []string{
		"coffer: hint: it was deleted at ",
		"scheduledPurgeDate ",
		"coffer: hint: recover it: coffer " + kind + " recover --vault-name " + vault + " --name " + name + "\n",
	} {
		if !strings.Contains(r.err, want) {
			t.Fatalf("stderr lacks %q:\n%s", want, r.err)
		}
	}
	purge := "coffer " + kind + " purge --vault-name " + vault + " --name " + name
	if purgeable != strings.Contains(r.err, purge) {
		t.Fatalf("purge command shown: %v, want %v:\n%s", !purgeable, purgeable, r.err)
	}
}

// TestSecretLifecycle drives every secret command and checks the JSON az prints, the
// files of --file, backup and download, and the help for deleted secrets.
func TestSecretLifecycle(t *testing.T) {
	cleanEnv(t)
	st := testenv.NewStack(t)
	login(t, st)
	dir := t.TempDir()
	vn := []string{"--vault-name", "default"}
	sec := func(args ...string) result { return coffer(t, append(append([]string{"secret"}, args...), vn...)...) }

	s := jsonOut[map[string]any](t, sec("set", "--name", "db", "--value", "v1", "--tags", "owner=ops").ok(t))
	if got := keysOf(s); got != "attributes,contentType,id,kid,managed,name,tags,value" {
		t.Fatalf("set keys %s", got)
	}
	a := s["attributes"].(map[string]any)
	if got := keysOf(a); got != "created,enabled,expires,notBefore,recoverableDays,recoveryLevel,updated" {
		t.Fatalf("attribute keys %s", got)
	}
	if !azDate.MatchString(a["created"].(string)) || a["expires"] != nil || a["enabled"] != true || a["recoveryLevel"] != "Recoverable+Purgeable" ||
		s["value"] != "v1" || s["name"] != "db" || at(s, "tags.file-encoding") != "utf-8" || at(s, "tags.owner") != "ops" || s["kid"] != nil || s["contentType"] != nil {
		t.Fatalf("set printed %s", sec("show", "-n", "db").out)
	}
	v1 := s["id"].(string)
	if !strings.HasPrefix(v1, st.Server.VaultURL("default")+"secrets/db/") {
		t.Fatalf("id %s", v1)
	}

	// A binary file, stored base64 as az stores it, downloaded back byte for byte.
	bin := bytes.Repeat([]byte{0, 1, 2, 250, 255}, 40)
	os.WriteFile(filepath.Join(dir, "bin"), bin, 0o600)
	s = jsonOut[map[string]any](t, sec("set", "-n", "db", "-f", filepath.Join(dir, "bin"), "--encoding", "base64", "--content-type", "application/octet-stream",
		"--expires", "2030-01-31", "--disabled", "false").ok(t))
	if at(s, "tags.file-encoding") != "base64" || s["contentType"] != "application/octet-stream" || at(s, "attributes.expires") != "2030-01-31T00:00:00+00:00" ||
		!strings.Contains(s["value"].(string), "\n") {
		t.Fatalf("set --file: %v", s)
	}
	sec("download", "-n", "db", "--file", filepath.Join(dir, "bin.out")).ok(t)
	if got, _ := os.ReadFile(filepath.Join(dir, "bin.out")); !bytes.Equal(got, bin) {
		t.Fatalf("download: %v", got)
	}
	sec("download", "-n", "db", "--file", filepath.Join(dir, "bin.out")).fails(t, "already exists").hinted(t)
	sec("download", "-n", "db", "--version", v1[strings.LastIndexByte(v1, '/')+1:], "--file", filepath.Join(dir, "v1.txt")).ok(t)
	if got, _ := os.ReadFile(filepath.Join(dir, "v1.txt")); string(got) != "v1" {
		t.Fatalf("download v1: %q", got)
	}

	if s := jsonOut[map[string]any](t, coffer(t, "secret", "show", "--id", v1).ok(t)); s["value"] != "v1" {
		t.Fatalf("show --id: %v", s)
	}
	if got := jsonOut[[]map[string]any](t, sec("list").ok(t)); len(got) != 1 || keysOf(got[0]) != "attributes,contentType,id,managed,name,tags" {
		t.Fatalf("list %v", got)
	}
	if got := jsonOut[[]map[string]any](t, sec("list-versions", "-n", "db").ok(t)); len(got) != 2 {
		t.Fatalf("list-versions %v", got)
	}
	if got := jsonOut[[]map[string]any](t, sec("list-versions", "-n", "db", "--maxresults", "1").ok(t)); len(got) != 1 {
		t.Fatalf("list-versions --maxresults 1: %v", got)
	}
	if tab := sec("list", "-o", "table").ok(t).out; !strings.HasPrefix(tab, "Name") || !strings.Contains(tab, "db") {
		t.Fatalf("table:\n%s", tab)
	}

	// set-attributes: --enabled false, --enabled true, bare --enabled.
	s = jsonOut[map[string]any](t, sec("set-attributes", "-n", "db", "--enabled", "false").ok(t))
	if at(s, "attributes.enabled") != false || s["value"] != nil || keysOf(s) != "attributes,contentType,id,kid,managed,name,tags,value" {
		t.Fatalf("set-attributes: %v", s)
	}
	sec("show", "-n", "db").conflict(t, "403")
	sec("set-attributes", "-n", "db", "--enabled", "true").ok(t)
	sec("set-attributes", "-n", "db", "--enabled=false").ok(t)
	if s := jsonOut[map[string]any](t, sec("set-attributes", "-n", "db", "--enabled").ok(t)); at(s, "attributes.enabled") != true {
		t.Fatalf("bare --enabled: %v", s)
	}
	sec("set-attributes", "-n", "db").usage(t, "nothing to change").hinted(t)

	backup := filepath.Join(dir, "db.bak")
	sec("backup", "-n", "db", "--file", backup).ok(t)
	sec("backup", "-n", "db", "--file", backup).fails(t, "already exists")

	// Delete: the deleted bundle as az prints it, and the way back on stderr.
	r := sec("delete", "-n", "db").ok(t)
	d := jsonOut[map[string]any](t, r)
	if keysOf(d) != "attributes,contentType,deletedDate,id,kid,managed,name,recoveryId,scheduledPurgeDate,tags,value" ||
		!azDate.MatchString(d["scheduledPurgeDate"].(string)) || d["recoveryId"] != st.Server.VaultURL("default")+"deletedsecrets/db" || d["value"] != nil {
		t.Fatalf("delete printed %s", r.out)
	}
	if !strings.Contains(r.err, "coffer secret recover --vault-name default --name db") {
		t.Fatalf("delete stderr %q", r.err)
	}

	// The help a person needs: show, set, set-attributes and download on the deleted name.
	for _, args := range [][]string{{"show", "-n", "db"}, {"set-attributes", "-n", "db", "--enabled", "false"}, {"download", "-n", "db", "-f", filepath.Join(dir, "x")}} {
		r := sec(args...).notFound(t, `secret "db" in vault "default" is deleted`)
		wantDeletedHints(t, r, "secret", "default", "db", true)
		if !strings.Contains(r.err, d["scheduledPurgeDate"].(string)[:19]) {
			t.Fatalf("no scheduledPurgeDate in %s", r.err)
		}
	}
	r = sec("set", "-n", "db", "--value", "again").conflict(t, `the name "db" is held by a deleted secret in vault "default"`)
	wantDeletedHints(t, r, "secret", "default", "db", true)
	r = sec("restore", "--file", backup).conflict(t, `the name "db" is held by a deleted secret`)
	wantDeletedHints(t, r, "secret", "default", "db", true)

	if got := jsonOut[[]map[string]any](t, sec("list-deleted").ok(t)); len(got) != 1 || got[0]["name"] != "db" || got[0]["scheduledPurgeDate"] != d["scheduledPurgeDate"] {
		t.Fatalf("list-deleted %v", got)
	}
	if got := jsonOut[map[string]any](t, coffer(t, "secret", "show-deleted", "--id", d["recoveryId"].(string)).ok(t)); got["deletedDate"] != d["deletedDate"] {
		t.Fatalf("show-deleted %v", got)
	}
	sec("show-deleted", "-n", "nope").notFound(t, `no deleted secret "nope"`).hinted(t)

	s = jsonOut[map[string]any](t, sec("recover", "-n", "db").ok(t))
	if s["name"] != "db" || s["value"] != nil || keysOf(s) != "attributes,contentType,id,kid,managed,name,tags,value" {
		t.Fatalf("recover %v", s)
	}
	if got := jsonOut[[]map[string]any](t, sec("list-versions", "-n", "db").ok(t)); len(got) != 2 {
		t.Fatalf("versions after recover: %v", got)
	}
	sec("recover", "-n", "db").notFound(t, `secret "db" in vault "default" is not deleted`).hinted(t)
	sec("purge", "-n", "db", "--yes").notFound(t, "is not deleted")

	// Purge with --yes asks no questions and prints nothing; the name is free afterwards.
	sec("delete", "-n", "db").ok(t)
	if r := sec("purge", "-n", "db", "--yes").ok(t); r.out != "" {
		t.Fatalf("purge printed %q", r.out)
	}
	sec("show-deleted", "-n", "db").notFound(t, "no deleted secret")
	sec("show", "-n", "db").notFound(t, "404")
	if s := jsonOut[map[string]any](t, sec("restore", "--file", backup).ok(t)); s["name"] != "db" {
		t.Fatalf("restore %v", s)
	}
	if s := jsonOut[map[string]any](t, sec("show", "-n", "db").ok(t)); !strings.Contains(s["value"].(string), "\n") {
		t.Fatalf("restored value %v", s["value"])
	}
	sec("restore", "--file", backup).conflict(t, "409")
}

// TestSecretPurgeProtection: under purge protection, purge refuses and says when the
// secret goes by itself; a deleted vault's secrets point at coffer vault recover.
func TestSecretPurgeProtection(t *testing.T) {
	cleanEnv(t)
	st := testenv.NewStack(t)
	login(t, st)
	armAvailable(t, st)
	coffer(t, "vault", "create", "-n", "guarded", "--retention-days", "7", "--enable-purge-protection").ok(t)
	vn := []string{"--vault-name", "guarded"}
	sec := func(args ...string) result { return coffer(t, append(append([]string{"secret"}, args...), vn...)...) }

	sec("set", "-n", "s", "--value", "x").ok(t)
	d := jsonOut[map[string]any](t, sec("delete", "-n", "s").ok(t))
	if at(d, "attributes.recoveryLevel") != "CustomizedRecoverable" {
		t.Fatalf("recoveryLevel %v", at(d, "attributes.recoveryLevel"))
	}
	r := sec("show", "-n", "s").notFound(t, "is deleted")
	wantDeletedHints(t, r, "secret", "guarded", "s", false)
	if !strings.Contains(r.err, "purge protection") {
		t.Fatalf("no purge protection hint: %s", r.err)
	}
	r = sec("purge", "-n", "s", "--yes").conflict(t, `secret "s" in vault "guarded" cannot be purged: the vault has purge protection`)
	if !strings.Contains(r.err, "Coffer purges it by itself at its scheduledPurgeDate "+d["scheduledPurgeDate"].(string)[:19]) ||
		!strings.Contains(r.err, "coffer secret recover --vault-name guarded --name s") {
		t.Fatalf("purge refusal: %s", r.err)
	}
	sec("show-deleted", "-n", "s").ok(t)

	coffer(t, "vault", "delete", "-n", "guarded").ok(t)
	r = sec("show", "-n", "s").notFound(t, `vault "guarded" is deleted`)
	if !strings.Contains(r.err, "coffer: hint: recover it: coffer vault recover --name guarded") || strings.Contains(r.err, "coffer vault purge") {
		t.Fatalf("deleted vault: %s", r.err)
	}
	sec("list").notFound(t, `vault "guarded" is deleted`)
	coffer(t, "secret", "list", "--vault-name", "nosuchvault").notFound(t, `no vault "nosuchvault"`).hinted(t)
}
