package cli

import (
	"github.com/spf13/cobra"
)

func newPrincipalListCommand() *cobra.Command {
	opts := &clientOptions{}
	return newClientCommand(cmdSpec{
		use: "list", args: cobra.NoArgs, opts: opts,
		help: cmdHelp{
			short: "List the service principals (never their secrets)",
			example: `  coffer principal list
  coffer principal list -o table`,
		},
		run: func(cmd *cobra.Command, c *client) error {
			ps, err := adminList[principalJSON](cmd.Context(), c, "/admin/principals")
			if err != nil {
				return err
			}
			return printOut(cmd.OutOrStdout(), opts.Output, ps, principalTable(ps))
		},
	})
}
