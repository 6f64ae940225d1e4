package cli

// What the CLI does differently for a person at a terminal: purge asks before it
// destroys anything, and long operations show their progress. In a pipe or a script the
// CLI never waits for an answer and writes nothing but its output and its errors.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/clock"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// isTerminal reports whether a command's stdin, stdout or stderr is a terminal: an
// *os.File on a tty. Tests replace it.
var isTerminal = func(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// purgeFlags are the flags of every purge command.
type purgeFlags struct {
	Yes bool
}

func (o *purgeFlags) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVarP(&o.Yes, "yes", "y", false, "purge without asking; needed when stdin is not a terminal (scripts, pipes)")
}

// checkAsk is the first step of a purge: with --yes, or with a terminal to ask on, it
// lets the purge go on; without either it refuses at once, before any request.
func (o *purgeFlags) checkAsk(cmd *cobra.Command, command string) error {
	if o.Yes || isTerminal(cmd.InOrStdin()) {
		return nil
	}
	return usageError(errors.New("purge needs a confirmation and stdin is not a terminal to ask on"),
		"add --yes to purge without a question: "+command+" --yes",
		"a purge cannot be undone: what is purged is gone for good")
}

// confirm asks the person at the terminal to type the name of what is purged; with --yes
// it asks nothing. what is e.g. `secret "db" in vault "v" and all its versions`.
func (o *purgeFlags) confirm(cmd *cobra.Command, what, name string) error {
	if o.Yes {
		return nil
	}
	w := cmd.ErrOrStderr()
	fmt.Fprintf(w, "Purging deletes %s for good. This cannot be undone.\n", what)
	fmt.Fprintf(w, "Type the name (%s) to purge it, or anything else to keep it: ", name)
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the answer: %w", err)
	}
	if got := strings.TrimSpace(line); !strings.EqualFold(got, name) {
		if errors.Is(err, io.EOF) && line == "" {
			fmt.Fprintln(w)
		}
		return &hintError{err: fmt.Errorf("not purged: the answer was not %q", name),
			hints: []string{"nothing was changed; it can still be recovered"}}
	}
	return nil
}

// progress shows a long operation on stderr when stderr is a terminal: one line,
// rewritten in place, with the seconds so far; done clears it. In a pipe it is silent.
type progress struct {
	w     io.Writer
	on    bool
	clock clock.Clock
	start time.Time
	shown bool
}

func newProgress(cmd *cobra.Command) *progress {
	w := cmd.ErrOrStderr()
	c := clock.Real{}
	return &progress{w: w, on: isTerminal(w), clock: c, start: c.Now()}
}

// update rewrites the progress line.
func (p *progress) update(format string, args ...any) {
	if p == nil || !p.on {
		return
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s … %ds", fmt.Sprintf(format, args...), int(p.clock.Now().Sub(p.start).Seconds()))
	p.shown = true
}

// done clears the progress line, so that what follows starts on a clean line.
func (p *progress) done() {
	if p == nil || !p.shown {
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K")
	p.shown = false
}
