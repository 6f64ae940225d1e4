package cli

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type keyDecryptOptions struct {
	keyOpOptions
	Value    string
	DataType string
	IV       string
	AAD      string
	Tag      string
}

func (o *keyDecryptOptions) AddFlags(fs *pflag.FlagSet) {
	o.keyOpOptions.AddFlags(fs, enumList(azkeys.PossibleEncryptionAlgorithmValues()))
	fs.StringVar(&o.Value, "value", "", "base64 of the ciphertext (required)")
	fs.StringVar(&o.DataType, "data-type", "base64", "how to print the result: base64 or plaintext")
	fs.StringVar(&o.IV, "iv", "", "initialization vector, hex (AES-GCM and AES-CBC keys)")
	fs.StringVar(&o.AAD, "aad", "", "additional authenticated data, hex (AES-GCM keys)")
	fs.StringVar(&o.Tag, "tag", "", "authentication tag, hex (AES-GCM keys)")
}

func newKeyDecryptCommand() *cobra.Command {
	o := &keyDecryptOptions{}
	cmd := &cobra.Command{
		Use:   "decrypt",
		Short: "Decrypt data with a key (as az keyvault key decrypt)",
		Long: `Decrypt --value (base64) with the key and print {"algorithm", "kid", "result"}: the
plaintext in base64, or as text with --data-type plaintext.`,
		Example: `  coffer key decrypt --vault-name myvault --name wrapping -a RSA-OAEP-256 --value "$CIPHERTEXT" --data-type plaintext`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			idVersion, err := o.check(kindKey, "decrypt")
			if err != nil {
				return err
			}
			alg, err := checkAlgorithm(o.Algorithm, azkeys.PossibleEncryptionAlgorithmValues(), "decrypt")
			if err != nil {
				return err
			}
			if o.Value == "" {
				return requireFlag("value", "coffer key decrypt --vault-name VAULT --name KEY -a RSA-OAEP-256 --value BASE64")
			}
			if o.DataType != "base64" && o.DataType != "plaintext" {
				return &hintError{code: exitUsage, err: fmt.Errorf("--data-type %q is not known", o.DataType), hints: []string{"use --data-type base64 or --data-type plaintext"}}
			}
			data, err := decodeB64("value", o.Value)
			if err != nil {
				return err
			}
			params := azkeys.KeyOperationParameters{Algorithm: &alg, Value: data}
			if params.IV, err = hexFlag("iv", o.IV); err != nil {
				return err
			}
			if params.AdditionalAuthenticatedData, err = hexFlag("aad", o.AAD); err != nil {
				return err
			}
			if params.AuthenticationTag, err = hexFlag("tag", o.Tag); err != nil {
				return err
			}
			return onVault(cmd, &o.clientOptions, o.VaultName, (*client).keysClient, func(ctx context.Context, c *client, kc *azkeys.Client) error {
				res, err := kc.Decrypt(ctx, o.Name, pickVersion(o.Version, idVersion), params, nil)
				if err != nil {
					return c.explainObject(ctx, err, kindKey, o.VaultName, o.Name)
				}
				m := map[string]any{"algorithm": string(alg), "kid": nil, "result": b64(res.Result)}
				if res.KID != nil {
					m["kid"] = string(*res.KID)
				}
				if o.DataType == "plaintext" {
					if !utf8.Valid(res.Result) {
						return &hintError{err: fmt.Errorf("the plaintext is not text"), hints: []string{"print it as base64: --data-type base64"}}
					}
					m["result"] = string(res.Result)
				}
				return printOut(cmd.OutOrStdout(), o.Output, m, mapTable([]map[string]any{m},
					[2]string{"Algorithm", "algorithm"}, [2]string{"Kid", "kid"}, [2]string{"Result", "result"}))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
