package cli

import (
	"net/http"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type principalListOptions struct {
	clientOptions
}

func (o *principalListOptions) AddFlags(fs *pflag.FlagSet) { o.clientOptions.AddFlags(fs) }

func newPrincipalListCommand() *cobra.Command {
	o := &principalListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the service principals (never their secrets)",
		Example: `  coffer principal list
  coffer principal list -o table`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			c, err := newClient(&o.clientOptions)
			if err != nil {
				return err
			}
			var out struct {
				Value []principalJSON `json:"value"`
			}
			if err := c.call(cmd.Context(), http.MethodGet, "/admin/principals", nil, &out, http.StatusOK); err != nil {
				return err
			}
			if out.Value == nil {
				out.Value = []principalJSON{}
			}
			return printOut(cmd.OutOrStdout(), o.Output, out.Value, principalTable(out.Value))
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
