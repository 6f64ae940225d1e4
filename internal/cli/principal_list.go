package cli

import "github.com/spf13/cobra"

func newPrincipalListCommand() *cobra.Command {
	return newAdminListCommand(cobra.NoArgs, cmdHelp{
		short: "List the service principals (never their secrets)",
		example: `  coffer principal list
  coffer principal list -o table`,
	}, "/admin/principals", principalTable)
}
