package cli

import (
	"fmt"
	"net/http"
	"os/exec"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newConsoleCommand() *cobra.Command {
	opts, noBrowser := &clientOptions{}, false
	return newClientCommand(cmdSpec{
		use: "console", opts: opts,
		help: cmdHelp{
			short: "Open the browser console, signed in as your own principal (single-use link)",
			long: `Ask the server for a single-use link to its browser console (https://HOST:PORT/console/)
that signs in as the principal this CLI is logged in as, print it, and open it with
xdg-open when there is one. The link works once, for about a minute; the console then
sees and may do exactly what this principal may through the API.

Without a browser here, open the printed link on a machine that reaches the server, or
sign in on the console's page with a client id and secret.`,
			example: `  coffer console
  coffer console --no-browser      # print the link only`,
		},
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVar(&noBrowser, "no-browser", false, "print the link without opening it")
		},
		run: func(cmd *cobra.Command, c *client) error {
			var out struct {
				URL     string    `json:"url"`
				Expires time.Time `json:"expires"`
			}
			if err := c.call(cmd.Context(), http.MethodPost, "/admin/console-link", nil, &out, http.StatusOK); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s\n", out.URL)
			fmt.Fprintf(cmd.ErrOrStderr(), "This link signs in once, until %s.\n", out.Expires.UTC().Format(time.RFC3339))
			if noBrowser {
				return nil
			}
			if open, err := exec.LookPath("xdg-open"); err == nil {
				// The browser is the person's: it is started and left running.
				if err := exec.Command(open, out.URL).Start(); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "Could not open a browser (%v); open the link yourself.\n", err)
				}
			}
			return nil
		},
	})
}
