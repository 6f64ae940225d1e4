package cli

import (
	"bytes"
	"encoding/pem"
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type certificatePendingMergeOptions struct {
	certPropFlags
	File string
}

func (o *certificatePendingMergeOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.File, "file", "f", "", "the signed certificate, or its chain leaf first: PEM or DER (required)")
	o.certPropFlags.AddFlags(fs, "make it disabled")
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
	var params azcertificates.MergeCertificateParameters
	return newDataCommand(dataSpec[*azcertificates.Client]{
		kind: kindCertificate, verb: "pending merge", target: &namedOptions{}, flags: o.AddFlags, open: (*client).certificatesClient,
		help: cmdHelp{
			short: "Complete a pending certificate with the certificate its CA signed (as az keyvault certificate pending merge)",
			long: `Merge the certificate a CA signed from the pending operation's CSR (issuer "Unknown"),
and print the certificate.`,
			example: `  coffer certificate pending show --vault-name myvault --name web -o json | jq -r .csr   # sign it with your CA
  coffer certificate pending merge --vault-name myvault --name web --file signed.pem`,
		},
		check: func(r *dataRun[*azcertificates.Client]) error {
			if r.name == "" || o.File == "" {
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
			params = azcertificates.MergeCertificateParameters{X509Certificates: certs}
			params.CertificateAttributes, params.Tags, err = o.parse()
			return err
		},
		columns: certColumns,
		answer: func(r *dataRun[*azcertificates.Client]) (map[string]any, error) {
			res, err := r.sdk.MergeCertificate(r.ctx, r.name, params, nil)
			return certJSON(res.Certificate), err
		},
	})
}
