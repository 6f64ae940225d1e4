package cli

import (
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/spf13/cobra"
)

func newCertificatePendingShowCommand() *cobra.Command {
	return newDataCommand(dataSpec[*azcertificates.Client]{
		kind: kindCertificate, verb: "pending show", target: &objectOptions{}, open: (*client).certificatesClient,
		columns: certOperationColumns,
		help: cmdHelp{
			short: "Show a certificate's creation operation, with its CSR (as az keyvault certificate pending show)",
			example: `  coffer certificate pending show --vault-name myvault --name web
  coffer certificate pending show --vault-name myvault -n web -o tsv`,
		},
		answer: func(r *dataRun[*azcertificates.Client]) (map[string]any, error) {
			res, err := r.sdk.GetCertificateOperation(r.ctx, r.name, nil)
			return certOperationJSON(res.CertificateOperation), err
		},
	})
}
