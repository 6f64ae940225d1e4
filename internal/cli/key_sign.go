package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type keySignOptions struct {
	keyOpOptions
	Digest string
}

func (o *keySignOptions) AddFlags(fs *pflag.FlagSet) {
	o.keyOpOptions.AddFlags(fs, enumList(azkeys.PossibleSignatureAlgorithmValues()))
	fs.StringVar(&o.Digest, "digest", "", "base64 of the digest to sign, e.g. of SHA-256 for RS256 and ES256 (required)")
}

func newKeySignCommand() *cobra.Command {
	o := &keySignOptions{}
	cmd := &cobra.Command{
		Use:   "sign",
		Short: "Sign a digest with a key (as az keyvault key sign)",
		Long: `Sign a digest with the key and print {"algorithm", "keyId", "signature"}, the signature
in base64. ES256 signatures are raw R||S (64 bytes).`,
		Example: `  coffer key sign --vault-name myvault --name signing -a RS256 --digest "$(printf hello | openssl dgst -sha256 -binary | base64)"`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			idVersion, err := o.check(kindKey, "sign")
			if err != nil {
				return err
			}
			alg, err := checkAlgorithm(o.Algorithm, azkeys.PossibleSignatureAlgorithmValues(), "sign")
			if err != nil {
				return err
			}
			if o.Digest == "" {
				return requireFlag("digest", "coffer key sign --vault-name VAULT --name KEY -a RS256 --digest BASE64")
			}
			digest, err := decodeB64("digest", o.Digest)
			if err != nil {
				return err
			}
			return onVault(cmd, &o.clientOptions, o.VaultName, (*client).keysClient, func(ctx context.Context, c *client, kc *azkeys.Client) error {
				res, err := kc.Sign(ctx, o.Name, pickVersion(o.Version, idVersion), azkeys.SignParameters{Algorithm: &alg, Value: digest}, nil)
				if err != nil {
					return c.explainObject(ctx, err, kindKey, o.VaultName, o.Name)
				}
				m := map[string]any{"algorithm": string(alg), "keyId": nil, "signature": b64(res.Result)}
				if res.KID != nil {
					m["keyId"] = string(*res.KID)
				}
				return printOut(cmd.OutOrStdout(), o.Output, m, mapTable([]map[string]any{m},
					[2]string{"Algorithm", "algorithm"}, [2]string{"KeyId", "keyId"}, [2]string{"Signature", "signature"}))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
