package cli

import (
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
)

func newKeyRotateCommand() *cobra.Command {
	return newDataCommand(dataSpec[*azkeys.Client]{
		kind: kindKey, verb: "rotate", target: &objectOptions{}, open: (*client).keysClient, columns: keyColumns,
		help: cmdHelp{
			short:   "Create a new version of a key with the same type and size (as az keyvault key rotate)",
			example: `  coffer key rotate --vault-name myvault --name signing`,
		},
		answer: func(r *dataRun[*azkeys.Client]) (map[string]any, error) {
			res, err := r.sdk.RotateKey(r.ctx, r.name, nil)
			return keyJSON(res.KeyBundle), err
		},
	})
}
