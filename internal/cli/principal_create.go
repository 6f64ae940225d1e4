package cli

import (
	"errors"
	"net/http"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type principalCreateOptions struct {
	clientOptions
	Name string
}

func (o *principalCreateOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.Name, "name", "n", "", "display name of the new principal (required)")
	o.clientOptions.AddFlags(fs)
}

func newPrincipalCreateCommand() *cobra.Command {
	o := &principalCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a service principal and print its credentials",
		Long: `Create a service principal with no rights and print its credentials:
{"tenantId", "clientId", "clientSecret", "objectId", "authorityHost"}. This is the only
time the secret is shown (the server keeps only its hash); save the output, it is a
credentials file for coffer login and for azidentity.NewClientSecretCredential.`,
		Example: `  coffer principal create --name ci > ci.json && chmod 600 ci.json
  coffer vault set-policy --name default --object-id "$(jq -r .objectId ci.json)" --secret-permissions get,list`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Name == "" {
				return &hintError{code: exitUsage, err: errors.New("--name is required"), hints: []string{"coffer principal create --name NAME"}}
			}
			if err := o.validate(); err != nil {
				return err
			}
			c, err := newClient(&o.clientOptions)
			if err != nil {
				return err
			}
			var creds credentialsFile
			if err := c.call(cmd.Context(), http.MethodPost, "/admin/principals", map[string]string{"name": o.Name}, &creds, http.StatusCreated, http.StatusOK); err != nil {
				return err
			}
			return printOut(cmd.OutOrStdout(), o.Output, creds, func() table {
				return table{
					header: []string{"TenantId", "ClientId", "ClientSecret", "ObjectId", "AuthorityHost"},
					rows:   [][]string{{creds.TenantID, creds.ClientID, creds.ClientSecret, creds.ObjectID, creds.AuthorityHost}},
				}
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
