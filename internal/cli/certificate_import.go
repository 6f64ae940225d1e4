package cli

import (
	"bytes"
	"encoding/base64"
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type certificateImportOptions struct {
	certPropFlags
	File     string
	Password string
	Policy   string
}

func (o *certificateImportOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.File, "file", "f", "", "PFX (PKCS#12) or PEM file with the certificate and its private key (required)")
	fs.StringVar(&o.Password, "password", "", "password of the PFX")
	fs.StringVarP(&o.Policy, "policy", "p", "", "policy: JSON, a file or @FILE")
	o.certPropFlags.AddFlags(fs, "import it disabled")
}

func newCertificateImportCommand() *cobra.Command {
	o := &certificateImportOptions{}
	var params azcertificates.ImportCertificateParameters
	return newDataCommand(dataSpec[*azcertificates.Client]{
		kind: kindCertificate, verb: "import", target: &namedOptions{}, flags: o.AddFlags, open: (*client).certificatesClient,
		help: cmdHelp{
			short: "Import a certificate with its private key (as az keyvault certificate import)",
			long: `Import a certificate and its private key from a PFX or a PEM file, as az does: a PEM is
sent as text with content type application/x-pem-file, a PFX as base64 with
application/x-pkcs12. Prints the certificate.`,
			example: `  coffer certificate import --vault-name myvault --name web --file web.pfx --password "$PFX_PASSWORD"
  coffer certificate import --vault-name myvault -n web -f web.pem`,
		},
		check: func(r *dataRun[*azcertificates.Client]) error {
			if r.name == "" || o.File == "" {
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
			params = azcertificates.ImportCertificateParameters{Base64EncodedCertificate: &value, CertificatePolicy: policy}
			if o.Password != "" {
				params.Password = &o.Password
			}
			params.CertificateAttributes, params.Tags, err = o.parse()
			return err
		},
		columns: certColumns,
		answer: func(r *dataRun[*azcertificates.Client]) (map[string]any, error) {
			res, err := r.sdk.ImportCertificate(r.ctx, r.name, params, nil)
			return certJSON(res.Certificate), err
		},
	})
}
