package cli

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type principalDeleteOptions struct {
	clientOptions
	ObjectID string
}

func (o *principalDeleteOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.ObjectID, "object-id", "", "object id of the principal to delete (required; see coffer principal list)")
	o.clientOptions.AddFlags(fs)
}

func newPrincipalDeleteCommand() *cobra.Command {
	o := &principalDeleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a service principal; its tokens stop working at once",
		Long: `Delete a service principal. Its secret stops working and the tokens it already holds are
refused at once by this server. The administrator cannot be deleted.`,
		Example: `  coffer principal delete --object-id 0b6f3c1e-52c4-4d27-9a0e-8f1d2c3b4a59`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.ObjectID == "" {
				return &hintError{code: exitUsage, err: errors.New("--object-id is required"), hints: []string{"coffer principal list shows the object ids"}}
			}
			if err := o.validate(); err != nil {
				return err
			}
			c, err := newClient(&o.clientOptions)
			if err != nil {
				return err
			}
			return c.call(cmd.Context(), http.MethodDelete, "/admin/principals/"+url.PathEscape(o.ObjectID), nil, nil, http.StatusNoContent, http.StatusOK)
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
