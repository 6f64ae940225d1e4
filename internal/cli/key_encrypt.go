package cli

import (
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// dataTypeValue reads --value in the form --data-type says.
func dataTypeValue(value, dataType string) ([]byte, error) {
	if err := checkDataType(dataType); err != nil {
		return nil, err
	}
	if dataType == "base64" {
		return decodeB64("value", value)
	}
	return []byte(value), nil
}

func newKeyEncryptCommand() *cobra.Command {
	var value, dataType string
	var aes aesFlags
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
			fs.StringVar(&value, "value", "", "the data to encrypt (required)")
			fs.StringVar(&dataType, "data-type", "base64", "how --value is given: base64 or plaintext")
			aes.AddFlags(fs)
		},
		check: func() (err error) {
			if value == "" {
				return requireFlag("value", "coffer key encrypt --vault-name VAULT --name KEY -a RSA-OAEP-256 --value TEXT --data-type plaintext")
			}
			if params.Value, err = dataTypeValue(value, dataType); err != nil {
				return err
			}
			return aes.parse(&params)
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
