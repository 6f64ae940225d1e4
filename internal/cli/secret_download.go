package cli

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type secretDownloadOptions struct {
	objectOptions
	Version  string
	File     string
	Encoding string
}

func (o *secretDownloadOptions) AddFlags(fs *pflag.FlagSet) {
	o.objectOptions.AddFlags(fs, kindSecret)
	versionFlag(fs, &o.Version, kindSecret)
	fs.StringVarP(&o.File, "file", "f", "", "write the value to this new file (required)")
	fs.StringVarP(&o.Encoding, "encoding", "e", "", "how the value is encoded: utf-8, utf-16le, utf-16be, ascii, base64, hex (default: the secret's tag file-encoding, else utf-8)")
}

func newSecretDownloadCommand() *cobra.Command {
	o := &secretDownloadOptions{}
	cmd := &cobra.Command{
		Use:   "download",
		Short: "Write a secret's value to a file (as az keyvault secret download)",
		Long: `Write the secret's value to --file, which must not exist yet, as az does: a value set
from a file with --encoding base64 or hex is decoded back to the original bytes (the
encoding comes from the secret's tag file-encoding unless --encoding is given).`,
		Example: `  coffer secret download --vault-name myvault --name tls-key --file key.pem
  coffer secret download --vault-name myvault -n blob -f image.png --encoding base64`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			idVersion, err := o.check(kindSecret, "download")
			if err != nil {
				return err
			}
			if o.File == "" {
				return requireFlag("file", "coffer secret download --vault-name VAULT --name NAME --file PATH")
			}
			if o.Encoding != "" {
				if err := validEncoding(o.Encoding); err != nil {
					return err
				}
			}
			if _, err := os.Lstat(o.File); err == nil {
				return &hintError{err: fmt.Errorf("--file: file or directory %s already exists", o.File),
					hints: []string{"choose another path, or remove the file first"}}
			}
			return onVault(cmd, &o.clientOptions, o.VaultName, (*client).secretsClient, func(ctx context.Context, c *client, sc *azsecrets.Client) error {
				res, err := sc.GetSecret(ctx, o.Name, pickVersion(o.Version, idVersion), nil)
				if err != nil {
					return c.explainObject(ctx, err, kindSecret, o.VaultName, o.Name)
				}
				enc := o.Encoding
				if enc == "" {
					enc = "utf-8"
					if t := res.Tags["file-encoding"]; t != nil && validEncoding(*t) == nil {
						enc = *t
					}
				}
				value := deref(res.Value)
				data := []byte(value)
				switch enc {
				case "base64":
					if data, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(value), "")); err != nil {
						return &hintError{err: fmt.Errorf("the value of secret %s is not base64", o.Name),
							hints: []string{"download it as text: --encoding utf-8"}}
					}
				case "hex":
					if data, err = hex.DecodeString(strings.TrimSpace(value)); err != nil {
						return &hintError{err: fmt.Errorf("the value of secret %s is not hex", o.Name),
							hints: []string{"download it as text: --encoding utf-8"}}
					}
				}
				return createNew("file", o.File, data, 0o600)
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
