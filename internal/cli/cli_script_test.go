package cli_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/coffer/coffer/internal/cli"
	"github.com/coffer/coffer/internal/testenv"
)

// TestMain lets the scripts of TestScripts run "exec coffer …": the test binary, run
// as "coffer", is the command line (cli.Main), in a process of its own.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"coffer": func() {
			os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
		},
	})
}

// TestScripts runs the scenarios of testdata/*.txtar: what a person types, with what
// coffer answers on stdout and stderr and its exit code. Each script gets a server of its
// own in a temp dir, reached through the environment a user would set: COFFER_SERVER,
// COFFER_CREDENTIALS (the administrator's), SSL_CERT_FILE (the server's CA) and
// COFFER_CONFIG_DIR (an empty profile dir). $DATA is the server's data dir.
//
// Beyond testscript's commands, "exitcode N command [args...]" runs a command and
// asserts its exit code, so that stdout and stderr can be checked afterwards as for exec.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			tb, ok := env.T().(testing.TB)
			if !ok {
				return errors.New("testscript's T is not a testing.TB")
			}
			st := testenv.NewStack(tb)
			env.Setenv("COFFER_SERVER", st.Server.URL())
			env.Setenv("COFFER_CREDENTIALS", st.Server.CredentialsPath())
			env.Setenv("SSL_CERT_FILE", st.Server.CAPath())
			env.Setenv("COFFER_CONFIG_DIR", filepath.Join(env.WorkDir, ".config"))
			env.Setenv("DATA", st.DataDir)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: exitcode N command [args...]")
				}
				want, err := strconv.Atoi(args[0])
				if err != nil {
					ts.Fatalf("usage: exitcode N command [args...]: %v", err)
				}
				got := 0
				var ee *exec.ExitError
				if err := ts.Exec(args[1], args[2:]...); errors.As(err, &ee) {
					got = ee.ExitCode()
				} else if err != nil {
					ts.Fatalf("%s: %v", args[1], err)
				}
				if got != want {
					ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
				}
			},
		},
	})
}
