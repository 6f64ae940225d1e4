package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type certificateImportOptions struct {
	vaultOptions
	attrFlags
	tagFlags
	Name     string
	File     string
	Password string
	Policy   string
}

func (o *certificateImportOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.Name, "name", "n", "", "name of the certificate (required)")
	fs.StringVarP(&o.File, "file", "f", "", "PFX (PKCS#12) or PEM file with the certificate and its private key (required)")
	fs.StringVar(&o.Password, "password", "", "password of the PFX")
	fs.StringVarP(&o.Policy, "policy", "p", "", "policy: JSON, a file or @FILE")
	fs.BoolVar(&o.Disabled, "disabled", false, "import it disabled")
	o.tagFlags.AddFlags(fs)
	o.vaultOptions.AddFlags(fs)
}

func newCertificateImportCommand() *cobra.Command {
	o := &certificateImportOptions{}
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import a certificate with its private key (as az keyvault certificate import)",
		Long: `Import a certificate and its private key from a PFX or a PEM file, as az does: a PEM is
sent as text with content type application/x-pem-file, a PFX as base64 with
application/x-pkcs12. Prints the certificate.`,
		Example: `  coffer certificate import --vault-name myvault --name web --file web.pfx --password "$PFX_PASSWORD"
  coffer certificate import --vault-name myvault -n web -f web.pem`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(kindCertificate, "import"); err != nil {
				return err
			}
			if o.Name == "" || o.File == "" {
				return &hintError{code: exitUsage, err: errors.New("--name and --file are required"), hints: []string{"coffer certificate import --vault-name VAULT --name NAME --file cert.pfx"}}
			}
			data, err := readFile("file", o.File)
			if err != nil {
				return err
			}
			value, contentType := base64.StdEncoding.EncodeToString(data), "application/x-pkcs12"
			if bytes.Contains(data, []byte("-----BEGIN")) {
				value, contentType = string(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))), "application/x-pem-file"
			}
			policy := &azcertificates.CertificatePolicy{}
			if o.Policy != "" {
				if policy, err = parsePolicy(o.Policy); err != nil {
					return err
				}
			}
			policy.SecretProperties = &azcertificates.SecretProperties{ContentType: &contentType}
			params := azcertificates.ImportCertificateParameters{Base64EncodedCertificate: &value, CertificatePolicy: policy}
			if o.Password != "" {
				params.Password = &o.Password
			}
			attrs, err := o.attrFlags.parse()
			if err != nil {
				return err
			}
			if attrs.Enabled != nil {
				params.CertificateAttributes = &azcertificates.CertificateAttributes{Enabled: attrs.Enabled}
			}
			if params.Tags, err = o.tagFlags.parse(); err != nil {
				return err
			}
			return onVault(cmd, &o.clientOptions, o.VaultName, (*client).certificatesClient, func(ctx context.Context, c *client, cc *azcertificates.Client) error {
				res, err := cc.ImportCertificate(ctx, o.Name, params, nil)
				if err != nil {
					return c.explainObject(ctx, err, kindCertificate, o.VaultName, o.Name)
				}
				m := certJSON(res.Certificate)
				return printObject(cmd, o.Output, m, certColumns)
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
