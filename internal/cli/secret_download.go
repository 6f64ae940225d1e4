package cli

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newSecretDownloadCommand() *cobra.Command {
	var dl downloadFlags
	return newDataCommand(dataSpec[*azsecrets.Client]{
		kind: kindSecret, verb: "download", target: &versionOptions{}, open: (*client).secretsClient,
		help: cmdHelp{
			short: "Write a secret's value to a file (as az keyvault secret download)",
			long: `Write the secret's value to --file, which must not exist yet, as az does: a value set
from a file with --encoding base64 or hex is decoded back to the original bytes (the
encoding comes from the secret's tag file-encoding unless --encoding is given).`,
			example: `  coffer secret download --vault-name myvault --name tls-key --file key.pem
  coffer secret download --vault-name myvault -n blob -f image.png --encoding base64`,
		},
		flags: func(fs *pflag.FlagSet) {
			dl.AddFlags(fs, "write the value to this new file (required)",
				"", "how the value is encoded: utf-8, utf-16le, utf-16be, ascii, base64, hex (default: the secret's tag file-encoding, else utf-8)")
		},
		check: func(*dataRun[*azsecrets.Client]) error {
			return dl.check(kindSecret, func(enc string) error {
				if enc == "" {
					return nil
				}
				return validEncoding(enc)
			})
		},
		run: func(r *dataRun[*azsecrets.Client]) error {
			res, err := r.sdk.GetSecret(r.ctx, r.name, r.version, nil)
			if err != nil {
				return r.explainObject(err, r.name)
			}
			enc := dl.Encoding
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
					return &hintError{err: fmt.Errorf("the value of secret %s is not base64", r.name),
						hints: []string{"download it as text: --encoding utf-8"}}
				}
			case "hex":
				if data, err = hex.DecodeString(strings.TrimSpace(value)); err != nil {
					return &hintError{err: fmt.Errorf("the value of secret %s is not hex", r.name),
						hints: []string{"download it as text: --encoding utf-8"}}
				}
			}
			return createNew("file", dl.File, data, 0o600)
		},
	})
}
