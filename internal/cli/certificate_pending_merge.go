package cli

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type certificatePendingMergeOptions struct {
	vaultOptions
	attrFlags
	tagFlags
	Name string
	File string
}

func (o *certificatePendingMergeOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.Name, "name", "n", "", "name of the certificate (required)")
	fs.StringVarP(&o.File, "file", "f", "", "the signed certificate, or its chain leaf first: PEM or DER (required)")
	fs.BoolVar(&o.Disabled, "disabled", false, "make it disabled")
	o.tagFlags.AddFlags(fs)
	o.vaultOptions.AddFlags(fs)
}

// certificatesFromFile reads the certificates of a PEM file, or a DER file's one.
func certificatesFromFile(data []byte) [][]byte {
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		return [][]byte{data}
	}
	var out [][]byte
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return out
		}
		if b.Type == "CERTIFICATE" {
			out = append(out, b.Bytes)
		}
	}
}

func newCertificatePendingMergeCommand() *cobra.Command {
	o := &certificatePendingMergeOptions{}
	cmd := &cobra.Command{
		Use:   "merge",
		Short: "Complete a pending certificate with the certificate its CA signed (as az keyvault certificate pending merge)",
		Long: `Merge the certificate a CA signed from the pending operation's CSR (issuer "Unknown"),
and print the certificate.`,
		Example: `  coffer certificate pending show --vault-name myvault --name web -o json | jq -r .csr   # sign it with your CA
  coffer certificate pending merge --vault-name myvault --name web --file signed.pem`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(kindCertificate, "pending merge"); err != nil {
				return err
			}
			if o.Name == "" || o.File == "" {
				return &hintError{code: exitUsage, err: errors.New("--name and --file are required"),
					hints: []string{"coffer certificate pending merge --vault-name VAULT --name NAME --file signed.pem"}}
			}
			data, err := readFile("file", o.File)
			if err != nil {
				return err
			}
			certs := certificatesFromFile(data)
			if len(certs) == 0 {
				return &hintError{err: errors.New("--file holds no certificate"), hints: []string{"give the signed certificate as PEM (BEGIN CERTIFICATE) or DER"}}
			}
			params := azcertificates.MergeCertificateParameters{X509Certificates: certs}
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
				res, err := cc.MergeCertificate(ctx, o.Name, params, nil)
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
