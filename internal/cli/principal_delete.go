package cli

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newPrincipalDeleteCommand() *cobra.Command {
	objectID := ""
	return newClientCommand(cmdSpec{
		use: "delete", args: cobra.NoArgs, opts: &clientOptions{},
		help: cmdHelp{
			short: "Delete a service principal; its tokens stop working at once",
			long: `Delete a service principal. Its secret stops working and the tokens it already holds are
refused at once by this server. The administrator cannot be deleted.`,
			example: `  coffer principal delete --object-id 0b6f3c1e-52c4-4d27-9a0e-8f1d2c3b4a59`,
		},
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&objectID, "object-id", "", "object id of the principal to delete (required; see coffer principal list)")
		},
		require: func([]string) error {
			if objectID == "" {
				return &hintError{code: exitUsage, err: errors.New("--object-id is required"), hints: []string{"coffer principal list shows the object ids"}}
			}
			return nil
		},
		run: func(cmd *cobra.Command, c *client) error {
			return c.call(cmd.Context(), http.MethodDelete, "/admin/principals/"+url.PathEscape(objectID), nil, nil, http.StatusNoContent, http.StatusOK)
		},
	})
}
