package cli

import (
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newKeyEncryptCommand() *cobra.Command {
	var cf cipherFlags
	var params azkeys.KeyOperationParameters
	return newKeyOpCommand(keyOpSpec[azkeys.EncryptionAlgorithm]{
		verb: "encrypt", algorithms: azkeys.PossibleEncryptionAlgorithmValues(),
		help: cmdHelp{
			short: "Encrypt data with a key (as az keyvault key encrypt)",
			long: `Encrypt --value with the key and print what az prints: {"aad", "algorithm", "iv", "kid",
"result", "tag"}, the ciphertext in base64 and iv, tag and aad in hex.`,
			example: `  coffer key encrypt --vault-name myvault --name wrapping -a RSA-OAEP-256 --value 'hello' --data-type plaintext
  coffer key encrypt --vault-name myvault -n wrapping -a RSA-OAEP-256 --value aGVsbG8=`,
		},
		flags: func(fs *pflag.FlagSet) {
			cf.AddFlags(fs, "the data to encrypt (required)", "how --value is given: base64 or plaintext")
		},
		check: func() error {
			return cf.parse(&params, "coffer key encrypt --vault-name VAULT --name KEY -a RSA-OAEP-256 --value TEXT --data-type plaintext",
				func(v, dataType string) ([]byte, error) {
					if dataType == "base64" {
						return decodeB64("value", v)
					}
					return []byte(v), nil
				})
		},
		columns: columns{{"Algorithm", "algorithm"}, {"Kid", "kid"}, {"Result", "result"}},
		answer: func(r *dataRun[*azkeys.Client], alg azkeys.EncryptionAlgorithm) (map[string]any, error) {
			params.Algorithm = &alg
			res, err := r.sdk.Encrypt(r.ctx, r.name, r.version, params, nil)
			return map[string]any{
				"aad": hexOrNil(res.AdditionalAuthenticatedData), "algorithm": string(alg), "iv": hexOrNil(res.IV),
				"kid": kidJSON(res.KID), "result": b64(res.Result), "tag": hexOrNil(res.AuthenticationTag),
			}, err
		},
	})
}
