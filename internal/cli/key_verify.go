package cli

import (
	"context"
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type keyVerifyOptions struct {
	keyOpOptions
	Digest    string
	Signature string
}

func (o *keyVerifyOptions) AddFlags(fs *pflag.FlagSet) {
	o.keyOpOptions.AddFlags(fs, enumList(azkeys.PossibleSignatureAlgorithmValues()))
	fs.StringVar(&o.Digest, "digest", "", "base64 of the signed digest (required)")
	fs.StringVar(&o.Signature, "signature", "", "base64 of the signature (required)")
}

func newKeyVerifyCommand() *cobra.Command {
	o := &keyVerifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify a signature with a key (as az keyvault key verify)",
		Long: `Verify a signature of a digest with the key and print {"algorithm", "isValid", "keyId"}.
An invalid signature is not an error: isValid is false and the exit code 0.`,
		Example: `  coffer key verify --vault-name myvault --name signing -a RS256 --digest "$DIGEST" --signature "$SIG"`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			idVersion, err := o.check(kindKey, "verify")
			if err != nil {
				return err
			}
			alg, err := checkAlgorithm(o.Algorithm, azkeys.PossibleSignatureAlgorithmValues(), "verify")
			if err != nil {
				return err
			}
			if o.Digest == "" || o.Signature == "" {
				return &hintError{code: exitUsage, err: errors.New("--digest and --signature are required"),
					hints: []string{"coffer key verify --vault-name VAULT --name KEY -a RS256 --digest BASE64 --signature BASE64"}}
			}
			digest, err := decodeB64("digest", o.Digest)
			if err != nil {
				return err
			}
			sig, err := decodeB64("signature", o.Signature)
			if err != nil {
				return err
			}
			return onVault(cmd, &o.clientOptions, o.VaultName, (*client).keysClient, func(ctx context.Context, c *client, kc *azkeys.Client) error {
				version := pickVersion(o.Version, idVersion)
				res, err := kc.Verify(ctx, o.Name, version, azkeys.VerifyParameters{Algorithm: &alg, Digest: digest, Signature: sig}, nil)
				if err != nil {
					return c.explainObject(ctx, err, kindKey, o.VaultName, o.Name)
				}
				m := map[string]any{"algorithm": string(alg), "isValid": orNil(res.Value), "keyId": nil}
				if u, err := c.vaultURL(ctx, o.VaultName); err == nil {
					m["keyId"] = u + "keys/" + o.Name
					if version != "" {
						m["keyId"] = u + "keys/" + o.Name + "/" + version
					}
				}
				return printOut(cmd.OutOrStdout(), o.Output, m, mapTable([]map[string]any{m},
					[2]string{"Algorithm", "algorithm"}, [2]string{"IsValid", "isValid"}, [2]string{"KeyId", "keyId"}))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
