package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/testenv"
)

// TestRecycleBinCommand: coffer recycle-bin prints every deleted vault and object the
// caller can see, soonest purged first, as JSON (parsed here), a table or TSV; --vault-name
// narrows it; another principal sees what its policies let it list.
func TestRecycleBinCommand(t *testing.T) {
	cleanEnv(t)
	st := testenv.NewStack(t)
	login(t, st)
	armAvailable(t, st)

	if got := coffer(t, "recycle-bin").ok(t).out; got != "[]\n" {
		t.Fatalf("empty bin: %q", got)
	}
	coffer(t, "vault", "create", "-n", "short", "--retention-days", "7", "--enable-purge-protection").ok(t)
	coffer(t, "secret", "set", "--vault-name", "short", "-n", "s", "--value", "v").ok(t)
	coffer(t, "secret", "delete", "--vault-name", "short", "-n", "s").ok(t)
	coffer(t, "key", "create", "--vault-name", "default", "-n", "k").ok(t)
	coffer(t, "key", "delete", "--vault-name", "default", "-n", "k").ok(t)
	coffer(t, "vault", "create", "-n", "gone").ok(t)
	coffer(t, "vault", "delete", "-n", "gone").ok(t)

	items := jsonOut[[]map[string]any](t, coffer(t, "recycle-bin").ok(t))
	if len(items) != 3 {
		t.Fatalf("bin: %v", items)
	}
	var last string
	for _, it := range items {
		if keysOf(it) != "deletedDate,kind,name,purgeAllowed,recoveryId,scheduledPurgeDate,timeLeft,vault" {
			t.Fatalf("keys %s", keysOf(it))
		}
		d := it["scheduledPurgeDate"].(string)
		if !azDate.MatchString(d) || !azDate.MatchString(it["deletedDate"].(string)) || d < last {
			t.Fatalf("dates or order: %v", items)
		}
		last = d
	}
	if s := items[0]; s["kind"] != "secret" || s["vault"] != "short" || s["name"] != "s" || s["purgeAllowed"] != false ||
		s["recoveryId"] != st.Server.VaultURL("short")+"deletedsecrets/s" || (s["timeLeft"] != "6d 23h" && s["timeLeft"] != "7d 0h") {
		t.Fatalf("purge-protected secret: %v", s)
	}
	kinds := items[1]["kind"].(string) + "," + items[2]["kind"].(string)
	if kinds != "key,vault" && kinds != "vault,key" {
		t.Fatalf("kinds %s", kinds)
	}

	if got := jsonOut[[]map[string]any](t, coffer(t, "recycle-bin", "--vault-name", "default").ok(t)); len(got) != 1 || got[0]["name"] != "k" || got[0]["purgeAllowed"] != true {
		t.Fatalf("--vault-name default: %v", got)
	}
	tab := coffer(t, "recycle-bin", "-o", "table").ok(t).out
	if lines := strings.Split(strings.TrimSpace(tab), "\n"); len(lines) != 5 ||
		strings.Join(strings.Fields(lines[0]), " ") != "Kind Vault Name DeletedDate ScheduledPurgeDate TimeLeft PurgeAllowed" ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[2]), " "), "secret short s ") || !strings.HasSuffix(lines[2], " false") {
		t.Fatalf("table:\n%s", tab)
	}
	if tsv := coffer(t, "recycle-bin", "-o", "tsv", "--vault-name", "short").ok(t).out; !strings.HasPrefix(tsv, "secret\tshort\ts\t") || strings.Count(tsv, "\n") != 1 {
		t.Fatalf("tsv %q", tsv)
	}
	coffer(t, "recycle-bin", "--vault-name", "nosuch").notFound(t, `no vault "nosuch", live or deleted`).hinted(t)

	// A principal without access policies sees nothing, not even the deleted vault.
	var creds identity.Credentials
	json.Unmarshal([]byte(coffer(t, "principal", "create", "--name", "nobody").ok(t).out), &creds)
	t.Setenv("COFFER_CREDENTIALS", writeJSONFile(t, creds))
	if got := coffer(t, "recycle-bin").ok(t).out; got != "[]\n" {
		t.Fatalf("another principal sees %s", got)
	}
	coffer(t, "time-shift", "--seconds", "0").conflict(t, "403").hinted(t)
}

// TestTimeShiftCommand: time-shift moves the vault clock forward, prints the offset and
// the vault time, and the recycle bin counts down with it.
func TestTimeShiftCommand(t *testing.T) {
	cleanEnv(t)
	st := testenv.NewStack(t)
	login(t, st)

	r := jsonOut[map[string]any](t, coffer(t, "time-shift", "--seconds", "0").ok(t))
	if keysOf(r) != "offsetSeconds,vaultTime" || r["offsetSeconds"] != float64(0) || !azDate.MatchString(r["vaultTime"].(string)) {
		t.Fatalf("time-shift 0: %v", r)
	}
	before, _ := time.Parse(time.RFC3339, r["vaultTime"].(string))
	coffer(t, "secret", "set", "--vault-name", "default", "-n", "s", "--value", "v").ok(t)
	coffer(t, "secret", "delete", "--vault-name", "default", "-n", "s").ok(t)

	r = jsonOut[map[string]any](t, coffer(t, "time-shift", "--seconds", "86400").ok(t))
	after, _ := time.Parse(time.RFC3339, r["vaultTime"].(string))
	if r["offsetSeconds"] != float64(86400) || after.Sub(before) < 24*time.Hour || after.Sub(before) > 24*time.Hour+time.Minute {
		t.Fatalf("time-shift 1d: %v (before %s)", r, before)
	}
	if got := jsonOut[[]map[string]any](t, coffer(t, "recycle-bin").ok(t)); len(got) != 1 || (got[0]["timeLeft"] != "88d 23h" && got[0]["timeLeft"] != "89d 0h") {
		t.Fatalf("bin after a day: %v", got)
	}
	if tab := coffer(t, "time-shift", "--seconds", "60", "-o", "table").ok(t).out; !strings.Contains(tab, "OffsetSeconds") || !strings.Contains(tab, "86460") {
		t.Fatalf("table:\n%s", tab)
	}
	coffer(t, "time-shift").usage(t, "--seconds is required").hinted(t)
	coffer(t, "time-shift", "--seconds", "-1").usage(t, "never goes back")

	t.Run("off", func(t *testing.T) {
		cleanEnv(t)
		st := testenv.NewStack(t, testenv.Options{Config: func(c *server.Config) { c.AllowTimeShift = false }})
		login(t, st)
		r := coffer(t, "time-shift", "--seconds", "1").fails(t, "the server's time shift is off")
		if !strings.Contains(r.err, "coffer: hint: start the server with coffer server --allow-time-shift") {
			t.Fatalf("hint: %s", r.err)
		}
	})
}

// TestCompletion: cobra's completion command is there, listed, and prints a script for
// each shell; the command tree completes.
func TestCompletion(t *testing.T) {
	cleanEnv(t)
	if help := coffer(t, "--help").ok(t).out; !strings.Contains(help, "\n  completion ") {
		t.Fatalf("completion not listed:\n%s", help)
	}
	for shell, want := range map[string]string{
		"bash":       "# bash completion V2 for coffer",
		"zsh":        "#compdef coffer",
		"fish":       "# fish completion for coffer",
		"powershell": "Register-ArgumentCompleter -CommandName 'coffer'",
	} {
		if out := coffer(t, "completion", shell).ok(t).out; !strings.Contains(out, want) {
			t.Errorf("completion %s lacks %q:\n%.300s", shell, want, out)
		}
	}
	coffer(t, "completion", "tcsh").usage(t, `unknown command "tcsh" for "coffer completion"`)
	if out := coffer(t, "__complete", "vault", "pu").ok(t).out; !strings.HasPrefix(out, "purge\t") {
		t.Fatalf("__complete vault pu: %q", out)
	}
	if out := coffer(t, "__complete", "secret", "purge", "--y").ok(t).out; !strings.Contains(out, "--yes\t") {
		t.Fatalf("__complete secret purge --y: %q", out)
	}
}
