// Package cli is the `coffer` command tree. The server subcommand starts the server; the
// offline maintenance commands (keyring, master-key, storage, check) work on a stopped
// server's data dir; only these use internal/server (server.go, keys.go, storage.go,
// check.go). Client
// commands (login, principal, vault, secret, key, certificate, recycle-bin, time-shift,
// webhook, ledger) reach the server only through Microsoft's Azure SDK for Go: the SDK
// clients, or azcore's pipeline for Coffer's own /admin routes (client.go). They never
// import Coffer's server packages, so they exercise the public contract.
//
// Where to start reading: Main, below, runs a command and turns its error into an exit
// code and hints. command.go builds the client commands: newClientCommand runs a
// command's checks before any request, newDataCommand gives a secret, key or certificate
// command its target and SDK client, and newVaultOpCommand (vault.go) gives a vault
// command armkeyvault's. kind.go is the table that the lifecycle verbs of secrets, keys
// and certificates (show, list, delete, recover, purge, backup, restore, …) are written
// over, one file each (object_*.go); its rows are in secret.go, key.go and
// certificate.go. deleted.go explains what fails because something is deleted.
//
// Every error is printed to stderr as "coffer: error: …" followed by "coffer: hint: …"
// lines, and ends the process with the exit code of its kind (exitCode): 1 error, 2
// usage, 3 not found, 4 conflict or forbidden. A command on a soft-deleted object or
// vault (deleted.go) says so in its hints, with the scheduledPurgeDate and the exact
// recover and purge commands. Bool flags take az's forms: --flag, --flag=true and
// --flag true (boolArgs).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes of the coffer command, as the root command's help documents them.
const (
	exitOK       = 0
	exitError    = 1 // anything else: the network, a file, the server failed
	exitUsage    = 2 // an unknown command or flag, a missing or bad flag, purge without --yes off a terminal
	exitNotFound = 3 // no such vault or object: the server answered 404
	exitConflict = 4 // conflict or forbidden: the server answered 409 or 403
)

// Main runs the coffer command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCommand()
	root.SetIn(stdin)
	root.SetOut(stdout) // before the completion command, which keeps the writer it finds
	root.SetErr(stderr)
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	refuseUnknownSubcommands(root)
	// An error before a command's RunE starts is cobra's: an unknown command or flag, a
	// bad flag value, wrong arguments. Those are usage errors.
	var started bool
	markStarted(root, &started)
	root.SetArgs(boolArgs(root, args))
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var h *hintError
	if !started && !errors.As(err, &h) {
		path := "coffer"
		if cmd != nil {
			path = cmd.CommandPath()
		}
		err = usageError(err, path+" --help lists the commands and flags")
	}
	if cmd != nil && cmd.Annotations[annotationClient] == "true" {
		err = explain(err)
	}
	code := exitCode(err)
	msg := err.Error()
	h = nil
	if errors.As(err, &h) {
		msg = h.err.Error()
	}
	var hints []string
	if h != nil {
		hints = h.hints
	}
	writeError(stderr, msg, hints)
	return code
}

// writeError prints an error's message and hints. They may carry the server's text, so
// each line is made safe for a terminal (terminalSafe); the server's \r\n line ends end
// lines as \n does.
func writeError(stderr io.Writer, msg string, hints []string) {
	lines := strings.Split(msg, "\n")
	for _, h := range hints {
		lines = append(lines, strings.Split(h, "\n")...)
	}
	for i, l := range lines {
		prefix := "coffer: hint: "
		if i == 0 {
			prefix = "coffer: error: "
		}
		fmt.Fprintf(stderr, "%s%s\n", prefix, terminalSafe(strings.TrimSuffix(l, "\r")))
	}
}

// refuseUnknownSubcommands makes a command group (coffer vault, coffer secret pending, …)
// answer an unknown subcommand with a usage error; cobra would print the group's help
// and exit 0. The group alone still prints its help.
func refuseUnknownSubcommands(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		refuseUnknownSubcommands(c)
	}
	if !cmd.HasParent() || !cmd.HasSubCommands() || cmd.Run != nil || cmd.RunE != nil {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.DisableFlagsInUseLine = true
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return c.Help()
		}
		hints := []string{c.CommandPath() + " --help lists the commands"}
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			hints = append([]string{"did you mean: " + c.CommandPath() + " " + s[0]}, hints...)
		}
		return usageError(fmt.Errorf("unknown command %q for %q", args[0], c.CommandPath()), hints...)
	}
}

// markStarted makes every command's RunE set *started before it runs.
func markStarted(cmd *cobra.Command, started *bool) {
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			*started = true
			return run(c, args)
		}
	}
	if run := cmd.Run; run != nil {
		cmd.Run = func(c *cobra.Command, args []string) {
			*started = true
			run(c, args)
		}
	}
	for _, c := range cmd.Commands() {
		markStarted(c, started)
	}
}

// exitCode is the exit code of an error: the code of the outermost hintError that has
// one, else the one of the Azure SDK's HTTP status, else exitError.
func exitCode(err error) int {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if h, ok := e.(*hintError); ok && h.code != 0 {
			return h.code
		}
	}
	if e, ok := azErrorOf(err); ok {
		return codeOfStatus(e.status)
	}
	return exitError
}

// codeOfStatus maps an HTTP status of the server to an exit code.
func codeOfStatus(status int) int {
	switch status {
	case http.StatusNotFound:
		return exitNotFound
	case http.StatusConflict, http.StatusForbidden:
		return exitConflict
	}
	return exitError
}

// boolArgs lets a bool flag take its value as the next argument, as az's true/false
// flags do: "--enable-purge-protection true" becomes "--enable-purge-protection=true".
// "--flag" alone and "--flag=false" work as they do in pflag.
func boolArgs(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return args
	}
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if strings.HasPrefix(a, "--") && !strings.Contains(a, "=") && i+1 < len(args) {
			if f := cmd.Flags().Lookup(a[2:]); f != nil && f.Value.Type() == "bool" {
				if v := strings.ToLower(args[i+1]); v == "true" || v == "false" {
					out = append(out, a+"="+v)
					i++
					continue
				}
			}
		}
		out = append(out, a)
	}
	return out
}

// hintError carries hint lines for the person at the terminal, and the exit code of the
// error (0: decided by the error inside, see exitCode).
type hintError struct {
	err   error
	hints []string
	code  int
}

func (h *hintError) Error() string { return h.err.Error() }
func (h *hintError) Unwrap() error { return h.err }

// usageError is an error in the command line: exit code 2.
func usageError(err error, hints ...string) *hintError {
	return &hintError{err: err, hints: hints, code: exitUsage}
}

// notFoundError is an error about a vault or object that does not exist: exit code 3.
func notFoundError(err error, hints ...string) *hintError {
	return &hintError{err: err, hints: hints, code: exitNotFound}
}

// conflictError is an error about a name that is taken or an operation that is
// forbidden (purge protection, a missing permission): exit code 4.
func conflictError(err error, hints ...string) *hintError {
	return &hintError{err: err, hints: hints, code: exitConflict}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "coffer",
		Short: "A self-hosted vault that speaks the Azure Key Vault API",
		Long: `Coffer is a self-hosted vault that speaks the Azure Key Vault API. coffer server runs
it; the other commands are its client, an az keyvault analogue built on Microsoft's Azure
SDK for Go. Start with coffer login; coffer recycle-bin shows what is deleted and until
when it can be recovered.

Output is JSON by default (-o table and -o tsv for people and scripts). Errors go to
stderr as "coffer: error: ..." followed by "coffer: hint: ..." lines with the next step.

Exit codes:
  0  success
  1  error: the server failed, the network, a file
  2  usage: an unknown command or flag, a missing or bad flag value, or a purge
     without --yes when stdin is not a terminal
  3  not found: no such vault or object (the server answered 404), or it is deleted
  4  conflict or forbidden: the name is taken or held by a deleted object (409), the
     caller lacks the permission, or purge protection forbids the purge (403)`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newServerCommand(),
		newKeyringCommand(),
		newMasterKeyCommand(),
		newStorageCommand(),
		newSnapshotCommand(),
		newCheckCommand(),
		newLoginCommand(),
		newPrincipalCommand(),
		newRoleCommand(),
		newVaultCommand(),
		newSecretCommand(),
		newKeyCommand(),
		newCertificateCommand(),
		newRecycleBinCommand(),
		newConsoleCommand(),
		newTimeShiftCommand(),
		newWebhookCommand(),
		newLedgerCommand(),
	)
	return root
}
