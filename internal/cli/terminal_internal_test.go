package cli

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/coffer/coffer/internal/testenv"
)

// fakeTerminal makes isTerminal true for the given readers and writers only.
func fakeTerminal(t *testing.T, ttys ...any) {
	t.Helper()
	old := isTerminal
	t.Cleanup(func() { isTerminal = old })
	isTerminal = func(f any) bool {
		for _, tty := range ttys {
			if f == tty {
				return true
			}
		}
		return false
	}
}

func testCommand(in io.Reader, errw io.Writer) *cobra.Command {
	cmd := &cobra.Command{}
	cmd.SetIn(in)
	cmd.SetErr(errw)
	return cmd
}

// TestProgressOnlyOnTerminal: progress is one line rewritten in place on a terminal, and
// nothing at all in a pipe.
func TestProgressOnlyOnTerminal(t *testing.T) {
	var tty, pipe bytes.Buffer
	fakeTerminal(t, &tty)
	for _, w := range []*bytes.Buffer{&tty, &pipe} {
		p := newProgress(testCommand(nil, w))
		p.update("creating certificate %s", "web")
		p.update("creating certificate %s", "web")
		p.done()
	}
	if want := "\r\x1b[Kcreating certificate web … 0s\r\x1b[Kcreating certificate web … 0s\r\x1b[K"; tty.String() != want {
		t.Fatalf("terminal got %q, want %q", tty.String(), want)
	}
	if pipe.Len() != 0 {
		t.Fatalf("pipe got %q", pipe.String())
	}
	var p *progress // a nil progress is quiet too
	p.update("x")
	p.done()
}

// TestPurgeAsks: --yes asks nothing; a terminal is asked for the name; with neither, the
// purge is refused at once with exit code 2 and the hint to add --yes.
func TestPurgeAsks(t *testing.T) {
	var errw bytes.Buffer
	stdin := strings.NewReader("")
	fakeTerminal(t)
	pf := &purgeFlags{Yes: true}
	if err := pf.checkAsk(testCommand(stdin, &errw), "coffer secret purge"); err != nil {
		t.Fatalf("--yes: %v", err)
	}
	if err := pf.confirm(testCommand(stdin, &errw), "secret x", "x"); err != nil || errw.Len() != 0 {
		t.Fatalf("--yes asked: %v %q", err, errw.String())
	}
	pf.Yes = false
	err := pf.checkAsk(testCommand(stdin, &errw), "coffer secret purge --vault-name v --name x")
	if exitCode(err) != exitUsage || !strings.Contains(strings.Join(err.(*hintError).hints, "\n"), "add --yes to purge without a question: coffer secret purge --vault-name v --name x --yes") {
		t.Fatalf("no terminal: %v (exit %d)", err, exitCode(err))
	}

	for _, tc := range []struct {
		answer string
		ok     bool
	}{{"db\n", true}, {"  DB \n", true}, {"db", true}, {"y\n", false}, {"\n", false}, {"", false}} {
		in := strings.NewReader(tc.answer)
		fakeTerminal(t, in)
		errw.Reset()
		cmd := testCommand(in, &errw)
		if err := pf.checkAsk(cmd, "coffer secret purge"); err != nil {
			t.Fatalf("terminal: %v", err)
		}
		err := pf.confirm(cmd, `secret "db" in vault "v"`, "db")
		if (err == nil) != tc.ok {
			t.Errorf("answer %q: %v", tc.answer, err)
		}
		if !strings.Contains(errw.String(), `Purging deletes secret "db" in vault "v" for good. This cannot be undone.`) ||
			!strings.Contains(errw.String(), "Type the name (db) to purge it") {
			t.Errorf("question %q", errw.String())
		}
		if err != nil && exitCode(err) != exitError {
			t.Errorf("answer %q: exit %d", tc.answer, exitCode(err))
		}
	}
}

// TestVaultPurgeProgress: a vault purge shows its progress when stderr is a terminal,
// and stdout stays empty.
func TestVaultPurgeProgress(t *testing.T) {
	t.Setenv("COFFER_CONFIG_DIR", t.TempDir())
	st := testenv.NewStack(t)
	t.Setenv("COFFER_SERVER", st.Server.URL())
	t.Setenv("COFFER_CREDENTIALS", st.Server.CredentialsPath())
	t.Setenv("SSL_CERT_FILE", st.Server.CAPath())
	run := func(args ...string) (string, string) {
		t.Helper()
		var out, errw bytes.Buffer
		fakeTerminal(t, &errw)
		if code := Main(t.Context(), args, strings.NewReader(""), &out, &errw); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errw.String())
		}
		return out.String(), errw.String()
	}
	run("vault", "create", "-n", "doomed")
	run("vault", "delete", "-n", "doomed")
	out, errs := run("vault", "purge", "-n", "doomed", "--yes")
	if out != "" || !strings.HasPrefix(errs, "\r\x1b[Kpurging vault doomed … 0s") || !strings.HasSuffix(errs, "\r\x1b[K") {
		t.Fatalf("purge: stdout %q, stderr %q", out, errs)
	}
}
