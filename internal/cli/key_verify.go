package cli

import (
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newKeyVerifyCommand() *cobra.Command {
	var digestFlag, signatureFlag string
	var params azkeys.VerifyParameters
	return newKeyOpCommand(keyOpSpec[azkeys.SignatureAlgorithm]{
		verb: "verify", algorithms: azkeys.PossibleSignatureAlgorithmValues(),
		help: cmdHelp{
			short: "Verify a signature with a key (as az keyvault key verify)",
			long: `Verify a signature of a digest with the key and print {"algorithm", "isValid", "keyId"}.
An invalid signature is not an error: isValid is false and the exit code 0.`,
			example: `  coffer key verify --vault-name myvault --name signing -a RS256 --digest "$DIGEST" --signature "$SIG"`,
		},
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&digestFlag, "digest", "", "base64 of the signed digest (required)")
			fs.StringVar(&signatureFlag, "signature", "", "base64 of the signature (required)")
		},
		check: func() (err error) {
			if digestFlag == "" || signatureFlag == "" {
				return &hintError{code: exitUsage, err: errors.New("--digest and --signature are required"),
					hints: []string{"coffer key verify --vault-name VAULT --name KEY -a RS256 --digest BASE64 --signature BASE64"}}
			}
			if params.Digest, err = decodeB64("digest", digestFlag); err != nil {
				return err
			}
			params.Signature, err = decodeB64("signature", signatureFlag)
			return err
		},
		columns: columns{{"Algorithm", "algorithm"}, {"IsValid", "isValid"}, {"KeyId", "keyId"}},
		answer: func(r *dataRun[*azkeys.Client], alg azkeys.SignatureAlgorithm) (map[string]any, error) {
			params.Algorithm = &alg
			res, err := r.sdk.Verify(r.ctx, r.name, r.version, params, nil)
			if err != nil {
				return nil, err
			}
			// The SDK's answer names no key; az prints the one it was asked to use.
			m := map[string]any{"algorithm": string(alg), "isValid": orNil(res.Value), "keyId": nil}
			if u, err := r.c.vaultURL(r.ctx, r.vault); err == nil {
				m["keyId"] = u + "keys/" + r.name
				if r.version != "" {
					m["keyId"] = u + "keys/" + r.name + "/" + r.version
				}
			}
			return m, nil
		},
	})
}
