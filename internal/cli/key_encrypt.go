package cli

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type keyEncryptOptions struct {
	keyOpOptions
	Value    string
	DataType string
	IV       string
	AAD      string
}

func (o *keyEncryptOptions) AddFlags(fs *pflag.FlagSet) {
	o.keyOpOptions.AddFlags(fs, enumList(azkeys.PossibleEncryptionAlgorithmValues()))
	fs.StringVar(&o.Value, "value", "", "the data to encrypt (required)")
	fs.StringVar(&o.DataType, "data-type", "base64", "how --value is given: base64 or plaintext")
	fs.StringVar(&o.IV, "iv", "", "initialization vector, hex (AES-GCM and AES-CBC keys)")
	fs.StringVar(&o.AAD, "aad", "", "additional authenticated data, hex (AES-GCM keys)")
}

// dataTypeValue reads --value in the form --data-type says.
func dataTypeValue(value, dataType string) ([]byte, error) {
	switch dataType {
	case "base64":
		return decodeB64("value", value)
	case "plaintext":
		return []byte(value), nil
	}
	return nil, &hintError{code: exitUsage, err: fmt.Errorf("--data-type %q is not known", dataType), hints: []string{"use --data-type base64 or --data-type plaintext"}}
}

func hexFlag(flag, s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, &hintError{code: exitUsage, err: fmt.Errorf("--%s is not hex", flag)}
	}
	return b, nil
}

func hexOrNil(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return hex.EncodeToString(b)
}

func newKeyEncryptCommand() *cobra.Command {
	o := &keyEncryptOptions{}
	cmd := &cobra.Command{
		Use:   "encrypt",
		Short: "Encrypt data with a key (as az keyvault key encrypt)",
		Long: `Encrypt --value with the key and print what az prints: {"aad", "algorithm", "iv", "kid",
"result", "tag"}, the ciphertext in base64 and iv, tag and aad in hex.`,
		Example: `  coffer key encrypt --vault-name myvault --name wrapping -a RSA-OAEP-256 --value 'hello' --data-type plaintext
  coffer key encrypt --vault-name myvault -n wrapping -a RSA-OAEP-256 --value aGVsbG8=`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			idVersion, err := o.check(kindKey, "encrypt")
			if err != nil {
				return err
			}
			alg, err := checkAlgorithm(o.Algorithm, azkeys.PossibleEncryptionAlgorithmValues(), "encrypt")
			if err != nil {
				return err
			}
			if o.Value == "" {
				return requireFlag("value", "coffer key encrypt --vault-name VAULT --name KEY -a RSA-OAEP-256 --value TEXT --data-type plaintext")
			}
			data, err := dataTypeValue(o.Value, o.DataType)
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
			return onVault(cmd, &o.clientOptions, o.VaultName, (*client).keysClient, func(ctx context.Context, c *client, kc *azkeys.Client) error {
				res, err := kc.Encrypt(ctx, o.Name, pickVersion(o.Version, idVersion), params, nil)
				if err != nil {
					return c.explainObject(ctx, err, kindKey, o.VaultName, o.Name)
				}
				m := map[string]any{
					"aad": hexOrNil(res.AdditionalAuthenticatedData), "algorithm": string(alg), "iv": hexOrNil(res.IV),
					"kid": nil, "result": b64(res.Result), "tag": hexOrNil(res.AuthenticationTag),
				}
				if res.KID != nil {
					m["kid"] = string(*res.KID)
				}
				return printOut(cmd.OutOrStdout(), o.Output, m, mapTable([]map[string]any{m},
					[2]string{"Algorithm", "algorithm"}, [2]string{"Kid", "kid"}, [2]string{"Result", "result"}))
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
