// Command coffer is the Coffer server and its command-line client. It only wires signals to
// a context; everything else starts in internal/cli (cli.Main), and docs/README.md says
// where to read on.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/coffer/coffer/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
