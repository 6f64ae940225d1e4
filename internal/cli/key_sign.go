package cli

import (
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newKeySignCommand() *cobra.Command {
	var digestFlag string
	var digest []byte
	return newKeyOpCommand(keyOpSpec[azkeys.SignatureAlgorithm]{
		verb: "sign", algorithms: azkeys.PossibleSignatureAlgorithmValues(),
		help: cmdHelp{
			short: "Sign a digest with a key (as az keyvault key sign)",
			long: `Sign a digest with the key and print {"algorithm", "keyId", "signature"}, the signature
in base64. ES256 signatures are raw R||S (64 bytes).`,
			example: `  coffer key sign --vault-name myvault --name signing -a RS256 --digest "$(printf hello | openssl dgst -sha256 -binary | base64)"`,
		},
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&digestFlag, "digest", "", "base64 of the digest to sign, e.g. of SHA-256 for RS256 and ES256 (required)")
		},
		check: func() (err error) {
			if digestFlag == "" {
				return requireFlag("digest", "coffer key sign --vault-name VAULT --name KEY -a RS256 --digest BASE64")
			}
			digest, err = decodeB64("digest", digestFlag)
			return err
		},
		columns: columns{{"Algorithm", "algorithm"}, {"KeyId", "keyId"}, {"Signature", "signature"}},
		answer: func(r *dataRun[*azkeys.Client], alg azkeys.SignatureAlgorithm) (map[string]any, error) {
			res, err := r.sdk.Sign(r.ctx, r.name, r.version, azkeys.SignParameters{Algorithm: &alg, Value: digest}, nil)
			return map[string]any{"algorithm": string(alg), "keyId": kidJSON(res.KID), "signature": b64(res.Result)}, err
		},
	})
}
