package cli

import (
	"context"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type certificateDownloadOptions struct {
	objectOptions
	Version  string
	File     string
	Encoding string
}

func (o *certificateDownloadOptions) AddFlags(fs *pflag.FlagSet) {
	o.objectOptions.AddFlags(fs, kindCertificate)
	versionFlag(fs, &o.Version, kindCertificate)
	fs.StringVarP(&o.File, "file", "f", "", "write the certificate (public part) to this new file (required)")
	fs.StringVarP(&o.Encoding, "encoding", "e", "PEM", "PEM or DER")
}

func newCertificateDownloadCommand() *cobra.Command {
	o := &certificateDownloadOptions{}
	cmd := &cobra.Command{
		Use:   "download",
		Short: "Write a certificate's public part to a file (as az keyvault certificate download)",
		Long: `Write the certificate (its public part, the cer) to --file, which must not exist yet, as
PEM or DER. The private key is in the certificate's secret: coffer secret download.`,
		Example: `  coffer certificate download --vault-name myvault --name web --file web.crt
  coffer certificate download --vault-name myvault -n web -f web.der -e DER`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			idVersion, err := o.check(kindCertificate, "download")
			if err != nil {
				return err
			}
			if o.File == "" {
				return requireFlag("file", "coffer certificate download --vault-name VAULT --name NAME --file PATH")
			}
			enc := strings.ToUpper(o.Encoding)
			if enc != "PEM" && enc != "DER" {
				return &hintError{code: exitUsage, err: fmt.Errorf("--encoding %q is not known", o.Encoding), hints: []string{"use --encoding PEM or --encoding DER"}}
			}
			if _, err := os.Lstat(o.File); err == nil {
				return &hintError{err: fmt.Errorf("--file: file or directory %s already exists", o.File),
					hints: []string{"choose another path, or remove the file first"}}
			}
			return onVault(cmd, &o.clientOptions, o.VaultName, (*client).certificatesClient, func(ctx context.Context, c *client, cc *azcertificates.Client) error {
				res, err := cc.GetCertificate(ctx, o.Name, pickVersion(o.Version, idVersion), nil)
				if err != nil {
					return c.explainObject(ctx, err, kindCertificate, o.VaultName, o.Name)
				}
				data := res.CER
				if enc == "PEM" {
					data = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: res.CER})
				}
				return createNew("file", o.File, data, 0o644)
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
