package cli

import (
	"errors"
	"net/http"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newPrincipalCreateCommand() *cobra.Command {
	opts, name := &clientOptions{}, ""
	return newClientCommand(cmdSpec{
		use: "create", args: cobra.NoArgs, opts: opts,
		help: cmdHelp{
			short: "Create a service principal and print its credentials",
			long: `Create a service principal with no rights and print its credentials:
{"tenantId", "clientId", "clientSecret", "objectId", "authorityHost"}. This is the only
time the secret is shown (the server keeps only its hash); save the output, it is a
credentials file for coffer login and for azidentity.NewClientSecretCredential.`,
			example: `  coffer principal create --name ci > ci.json && chmod 600 ci.json
  coffer vault set-policy --name default --object-id "$(jq -r .objectId ci.json)" --secret-permissions get,list`,
		},
		flags: func(fs *pflag.FlagSet) {
			fs.StringVarP(&name, "name", "n", "", "display name of the new principal (required)")
		},
		require: func([]string) error {
			if name == "" {
				return &hintError{code: exitUsage, err: errors.New("--name is required"), hints: []string{"coffer principal create --name NAME"}}
			}
			return nil
		},
		run: func(cmd *cobra.Command, c *client) error {
			var creds credentialsFile
			if err := c.call(cmd.Context(), http.MethodPost, "/admin/principals", map[string]string{"name": name}, &creds, http.StatusCreated, http.StatusOK); err != nil {
				return err
			}
			return printOut(cmd.OutOrStdout(), opts.Output, creds, func() table {
				return table{
					header: []string{"TenantId", "ClientId", "ClientSecret", "ObjectId", "AuthorityHost"},
					rows:   [][]string{{creds.TenantID, creds.ClientID, creds.ClientSecret, creds.ObjectID, creds.AuthorityHost}},
				}
			})
		},
	})
}
