package cli

import (
	"errors"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type loginOptions struct {
	Server      string
	Credentials string
	CA          string
}

func (o *loginOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Server, "server", "", "the server's bare address, e.g. https://127.0.0.1:8443 (required)")
	fs.StringVar(&o.Credentials, "credentials", "", "credentials file: DATA-DIR/bootstrap-credentials.json or the saved output of coffer principal create (required)")
	fs.StringVar(&o.CA, "ca", "", "PEM file of the CA to trust, e.g. DATA-DIR/tls/ca.crt (default: SSL_CERT_FILE and the system roots)")
}

// loginResult is what login prints: the stored profile and who it authenticates as.
type loginResult struct {
	Profile     string `json:"profile"`
	Server      string `json:"server"`
	Credentials string `json:"credentials"`
	CA          string `json:"ca,omitempty"`
	TenantID    string `json:"tenantId"`
	ClientID    string `json:"clientId"`
	VaultSuffix string `json:"vaultSuffix"`
}

func newLoginCommand() *cobra.Command {
	o := &loginOptions{}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Store the server, credentials and CA that client commands use",
		Long: `Store a profile for the client commands: the server's bare address, the credentials
file and the CA to trust. Login first checks them: it reads the server's cloud metadata and
gets a token. The profile (mode 0600) is $COFFER_CONFIG_DIR/profile.json, or
coffer/profile.json under the user's config directory; it holds paths, never a secret.

COFFER_SERVER and COFFER_CREDENTIALS override the profile; --ca on a command overrides
its CA. Without a CA, SSL_CERT_FILE and the system roots apply.`,
		Example: `  coffer login --server https://127.0.0.1:8443 --credentials ./coffer-data/bootstrap-credentials.json --ca ./coffer-data/tls/ca.crt
  coffer principal create --name ci > ci.json && coffer login --server https://127.0.0.1:8443 --credentials ci.json --ca ./coffer-data/tls/ca.crt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Server == "" || o.Credentials == "" {
				return &hintError{code: exitUsage, err: errors.New("--server and --credentials are required"), hints: hintLogin[:1]}
			}
			p := profile{Server: o.Server}
			var err error
			if p.Credentials, err = absPath(o.Credentials); err != nil {
				return err
			}
			if p.CA, err = absPath(o.CA); err != nil {
				return err
			}
			c, err := newClientFor(target(p))
			if err != nil {
				return err
			}
			p.Server = c.server.String()
			ctx := cmd.Context()
			suffix, err := c.vaultSuffix(ctx)
			if err != nil {
				return explain(err)
			}
			if _, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}}); err != nil {
				return explain(err)
			}
			path, err := saveProfile(p)
			if err != nil {
				return err
			}
			if err := printJSON(cmd.OutOrStdout(), loginResult{
				Profile: path, Server: p.Server, Credentials: p.Credentials, CA: p.CA,
				TenantID: c.creds.TenantID, ClientID: c.creds.ClientID, VaultSuffix: suffix,
			}); err != nil {
				return fmt.Errorf("print: %w", err)
			}
			return nil
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
