package cli

import (
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newCertificateDownloadCommand() *cobra.Command {
	var dl downloadFlags
	return newDataCommand(dataSpec[*azcertificates.Client]{
		kind: kindCertificate, verb: "download", target: &versionOptions{}, open: (*client).certificatesClient,
		help: cmdHelp{
			short: "Write a certificate's public part to a file (as az keyvault certificate download)",
			long: `Write the certificate (its public part, the cer) to --file, which must not exist yet, as
PEM or DER. The private key is in the certificate's secret: coffer secret download.`,
			example: `  coffer certificate download --vault-name myvault --name web --file web.crt
  coffer certificate download --vault-name myvault -n web -f web.der -e DER`,
		},
		flags: func(fs *pflag.FlagSet) {
			dl.AddFlags(fs, "write the certificate (public part) to this new file (required)", "PEM", "PEM or DER")
		},
		check: func(*dataRun[*azcertificates.Client]) error {
			return dl.check(kindCertificate, func(enc string) error {
				if e := strings.ToUpper(enc); e != "PEM" && e != "DER" {
					return &hintError{code: exitUsage, err: fmt.Errorf("--encoding %q is not known", enc), hints: []string{"use --encoding PEM or --encoding DER"}}
				}
				return nil
			})
		},
		run: func(r *dataRun[*azcertificates.Client]) error {
			res, err := r.sdk.GetCertificate(r.ctx, r.name, r.version, nil)
			if err != nil {
				return r.explainObject(err, r.name)
			}
			data := res.CER
			if strings.ToUpper(dl.Encoding) == "PEM" {
				data = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: res.CER})
			}
			return createNew("file", dl.File, data, 0o644)
		},
	})
}
