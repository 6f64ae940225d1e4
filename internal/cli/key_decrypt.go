package cli

import (
	"fmt"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newKeyDecryptCommand() *cobra.Command {
	var cf cipherFlags
	var tag string
	var params azkeys.KeyOperationParameters
	return newKeyOpCommand(keyOpSpec[azkeys.EncryptionAlgorithm]{
		verb: "decrypt", algorithms: azkeys.PossibleEncryptionAlgorithmValues(),
		help: cmdHelp{
			short: "Decrypt data with a key (as az keyvault key decrypt)",
			long: `Decrypt --value (base64) with the key and print {"algorithm", "kid", "result"}: the
plaintext in base64, or as text with --data-type plaintext.`,
			example: `  coffer key decrypt --vault-name myvault --name wrapping -a RSA-OAEP-256 --value "$CIPHERTEXT" --data-type plaintext`,
		},
		flags: func(fs *pflag.FlagSet) {
			cf.AddFlags(fs, "base64 of the ciphertext (required)", "how to print the result: base64 or plaintext")
			fs.StringVar(&tag, "tag", "", "authentication tag, hex (AES-GCM keys)")
		},
		check: func() (err error) {
			if err := cf.parse(&params, "coffer key decrypt --vault-name VAULT --name KEY -a RSA-OAEP-256 --value BASE64",
				func(v, _ string) ([]byte, error) { return decodeB64("value", v) }); err != nil {
				return err
			}
			params.AuthenticationTag, err = hexFlag("tag", tag)
			return err
		},
		columns: columns{{"Algorithm", "algorithm"}, {"Kid", "kid"}, {"Result", "result"}},
		answer: func(r *dataRun[*azkeys.Client], alg azkeys.EncryptionAlgorithm) (map[string]any, error) {
			params.Algorithm = &alg
			res, err := r.sdk.Decrypt(r.ctx, r.name, r.version, params, nil)
			if err != nil {
				return nil, err
			}
			m := map[string]any{"algorithm": string(alg), "kid": kidJSON(res.KID), "result": b64(res.Result)}
			if cf.DataType == "plaintext" {
				if !utf8.Valid(res.Result) {
					return nil, &hintError{err: fmt.Errorf("the plaintext is not text"), hints: []string{"print it as base64: --data-type base64"}}
				}
				m["result"] = string(res.Result)
			}
			return m, nil
		},
	})
}
