package cli

// How a client command is built. Every one is a cobra command with its help and flags,
// refusing positional arguments, marked as a client command so that Main explains its
// Azure SDK errors; it checks what needs no server before it builds the client, so that a
// usage error comes first. newClientCommand builds one from a cmdSpec. A data-plane
// command (secret, key, certificate) also names its target, one object or a vault, and
// the SDK client it calls there: newDataCommand builds it from a dataSpec. A command of
// the management plane (coffer vault) calls armkeyvault: newVaultOpCommand (vault.go).

import (
	"context"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// cmdHelp is the help of a command: cobra's Short, Long and Example.
type cmdHelp struct{ short, long, example string }

// cmdSpec is a client command for newClientCommand. Its checks run in this order: the
// usage checks of require, the client's flags (-o), then check; then the client is built.
type cmdSpec struct {
	use     string
	help    cmdHelp
	args    cobra.PositionalArgs           // nil: noArgs
	opts    *clientOptions                 // the client's flags, added after the command's own
	flags   func(fs *pflag.FlagSet)        // the command's own flags; nil: none
	require func(args []string) error      // nil: none
	check   func(cmd *cobra.Command) error // nil: none
	run     func(cmd *cobra.Command, c *client) error
}

func newClientCommand(s cmdSpec) *cobra.Command {
	if s.args == nil {
		s.args = noArgs
	}
	cmd := &cobra.Command{
		Use: s.use, Short: s.help.short, Long: s.help.long, Example: s.help.example, Args: s.args,
		RunE: func(cmd *cobra.Command, args []string) error {
			if s.require != nil {
				if err := s.require(args); err != nil {
					return err
				}
			}
			if err := s.opts.validate(); err != nil {
				return err
			}
			if s.check != nil {
				if err := s.check(cmd); err != nil {
					return err
				}
			}
			c, err := newClient(s.opts)
			if err != nil {
				return err
			}
			return s.run(cmd, c)
		},
	}
	if s.flags != nil {
		s.flags(cmd.Flags())
	}
	s.opts.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}

// newGroup is a command group: its help and its commands, nothing to run of its own (an
// unknown command is a usage error: refuseUnknownSubcommands).
func newGroup(use string, h cmdHelp, cmds ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: h.short, Long: h.long}
	cmd.AddCommand(cmds...)
	return cmd
}

// dataTarget is what a data-plane command works on: one object (*objectOptions:
// --vault-name and --name, or --id), one version of it (*versionOptions: also --version)
// or a vault (*vaultOptions: --vault-name).
type dataTarget interface {
	addFlags(fs *pflag.FlagSet, kind string)
	// resolve checks the flags, as `coffer KIND VERB` takes them (after -o), and returns the
	// vault, object and version they name ("" when none; a version "" is the latest).
	resolve(kind, verb string) (vault, name, version string, err error)
	clientOpts() *clientOptions
}

// dataSpec is a data-plane command for newDataCommand. C is the SDK client it calls, or
// a kind's calls (objectCalls).
type dataSpec[C any] struct {
	kind   string
	verb   string // as the hints spell it ("list", "pending show"); the command is its last word
	help   cmdHelp
	target dataTarget
	flags  func(fs *pflag.FlagSet)   // the command's own flags; nil: none
	check  func(r *dataRun[C]) error // its own checks, after the target's and before the client; nil: none
	open   func(c *client, ctx context.Context, vault string) (C, error)

	// What the command does: run, or, for a command that prints one object, answer and
	// columns: an error of answer is explained by explain (nil: explainObject on the
	// object the target names) and its JSON is printed with columns.
	run     func(r *dataRun[C]) error
	answer  func(r *dataRun[C]) (map[string]any, error)
	explain func(r *dataRun[C], err error) error
	columns columns
}

// dataRun is a data-plane command at work: sdk is open on the vault. A command's own
// checks run before the client is built: they see only cmd, output and what the target
// names.
type dataRun[C any] struct {
	cmd                        *cobra.Command
	ctx                        context.Context
	c                          *client
	sdk                        C
	kind, vault, name, version string // name, version: what the target names ("" when not)
	output                     string
}

func newDataCommand[C any](s dataSpec[C]) *cobra.Command {
	r := &dataRun[C]{kind: s.kind}
	opts := s.target.clientOpts()
	return newClientCommand(cmdSpec{
		use:  s.verb[strings.LastIndexByte(s.verb, ' ')+1:],
		help: s.help,
		opts: opts,
		flags: func(fs *pflag.FlagSet) {
			s.target.addFlags(fs, s.kind)
			if s.flags != nil {
				s.flags(fs)
			}
		},
		check: func(cmd *cobra.Command) error {
			var err error
			if r.vault, r.name, r.version, err = s.target.resolve(s.kind, s.verb); err != nil {
				return err
			}
			r.cmd, r.output = cmd, opts.Output
			if s.check != nil {
				return s.check(r)
			}
			return nil
		},
		run: func(cmd *cobra.Command, c *client) error {
			ctx := cmd.Context()
			sdk, err := s.open(c, ctx, r.vault)
			if err != nil {
				return err
			}
			r.ctx, r.c, r.sdk = ctx, c, sdk
			if s.run != nil {
				return s.run(r)
			}
			m, err := s.answer(r)
			if err != nil {
				if s.explain != nil {
					return s.explain(r, err)
				}
				return r.explainObject(err, r.name)
			}
			return r.print(m, s.columns)
		},
	})
}

// explainObject explains an error about the named object of the command's kind
// (client.explainObject).
func (r *dataRun[C]) explainObject(err error, name string) error {
	return r.c.explainObject(r.ctx, err, r.kind, r.vault, name)
}

// explainDeletedOp explains an error of show-deleted, recover or purge on the object the
// target names (client.explainDeletedOp).
func (r *dataRun[C]) explainDeletedOp(err error) error {
	return r.c.explainDeletedOp(r.ctx, err, r.kind, r.vault, r.name)
}

// print prints one az-shaped object: JSON, or a table of cols with one row.
func (r *dataRun[C]) print(m map[string]any, cols columns) error {
	return printObject(r.cmd, r.output, m, cols)
}
