package cli

import (
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
)

func newCertificatePendingShowCommand() *cobra.Command {
	return newDataCommand(dataSpec[*azcertificates.Client]{
		kind: kindCertificate, verb: "pending show", target: &objectOptions{}, open: (*client).certificatesClient,
		help: cmdHelp{
			short: "Show a certificate's creation operation, with its CSR (as az keyvault certificate pending show)",
			example: `  coffer certificate pending show --vault-name myvault --name web
  coffer certificate pending show --vault-name myvault -n web -o tsv`,
		},
		run: func(r *dataRun[*azcertificates.Client]) error {
			res, err := r.sdk.GetCertificateOperation(r.ctx, r.name, nil)
			if err != nil {
				return r.explainObject(err, r.name)
			}
			return r.print(certOperationJSON(res.CertificateOperation), certOperationColumns)
		},
	})
}
