// Package cli is the `coffer` command tree. The server subcommand starts the server;
// offline maintenance commands (keyring, master-key) work on a stopped server's data
// dir; only these three use internal/server. Client commands (login, principal, vault,
// secret, key, certificate) reach the server only through Microsoft's Azure SDK for Go:
// the SDK clients, or azcore's pipeline for Coffer's own /admin routes (client.go). They
// never import Coffer's server packages, so they exercise the public contract.
//
// Every error ends the process with exit code 1 and is printed to stderr as
// "coffer: error: …" followed by "coffer: hint: …" lines. A command on a soft-deleted
// object or vault (deleted.go) says so in its hints, with the scheduledPurgeDate and the
// exact recover and purge commands. Bool flags take az's forms: --flag, --flag=true and
// --flag true (boolArgs).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Main runs the coffer command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCommand()
	root.SetArgs(boolArgs(root, args))
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	if cmd, err := root.ExecuteContextC(ctx); err != nil {
		if cmd != nil && cmd.Annotations[annotationClient] == "true" {
			err = explain(err)
		}
		msg := err.Error()
		var h *hintError
		if errors.As(err, &h) {
			msg = h.err.Error()
		}
		lines := strings.Split(msg, "\n")
		fmt.Fprintf(stderr, "coffer: error: %s\n", lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(stderr, "coffer: hint: %s\n", l)
		}
		if h != nil {
			for _, l := range h.hints {
				fmt.Fprintf(stderr, "coffer: hint: %s\n", l)
			}
		}
		return 1
	}
	return 0
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

// hintError carries hint lines for the person at the terminal.
type hintError struct {
	err   error
	hints []string
}

func (h *hintError) Error() string { return h.err.Error() }
func (h *hintError) Unwrap() error { return h.err }

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "coffer",
		Short:         "A self-hosted vault that speaks the Azure Key Vault API",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newServerCommand(),
		newKeyringCommand(),
		newMasterKeyCommand(),
		newStorageCommand(),
		newLoginCommand(),
		newPrincipalCommand(),
		newVaultCommand(),
		newSecretCommand(),
		newKeyCommand(),
		newCertificateCommand(),
	)
	return root
}
