package cli

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// secretEncodings are az's --encoding values: text encodings keep the file's text as the
// value; base64 and hex store binary files encoded.
var (
	secretTextEncodings   = []string{"utf-8", "utf-16le", "utf-16be", "ascii"}
	secretBinaryEncodings = []string{"base64", "hex"}
)

func validEncoding(e string) error {
	if slices.Contains(secretTextEncodings, e) || slices.Contains(secretBinaryEncodings, e) {
		return nil
	}
	return &hintError{code: exitUsage, err: fmt.Errorf("--encoding %q is not known", e),
		hints: []string{"use one of: " + strings.Join(append(slices.Clone(secretTextEncodings), secretBinaryEncodings...), ", ")}}
}

type secretSetOptions struct {
	propFlags
	Value       string
	File        string
	Encoding    string
	ContentType string
}

func (o *secretSetOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Value, "value", "", "the value (or --file)")
	fs.StringVarP(&o.File, "file", "f", "", "read the value from this file (or --value)")
	fs.StringVarP(&o.Encoding, "encoding", "e", "utf-8", "encoding of --file: utf-8, utf-16le, utf-16be, ascii (text) or base64, hex (binary); stored in the tag file-encoding")
	fs.StringVar(&o.ContentType, "description", "", "content type of the value (same as --content-type)")
	fs.StringVar(&o.ContentType, "content-type", "", "content type of the value, e.g. text/plain")
	o.propFlags.AddFlags(fs, false)
}

// fileValue reads --file as az does: text encodings take the file's text (universal
// newlines, as Python's text mode), base64 is Python's encodebytes (76-character lines),
// hex is lower-case.
func fileValue(path, encoding string) (string, error) {
	b, err := readFile("file", path)
	if err != nil {
		return "", err
	}
	switch encoding {
	case "base64":
		s := base64.StdEncoding.EncodeToString(b)
		var sb strings.Builder
		for len(s) > 76 {
			sb.WriteString(s[:76] + "\n")
			s = s[76:]
		}
		if s != "" {
			sb.WriteString(s + "\n")
		}
		return sb.String(), nil
	case "hex":
		return hex.EncodeToString(b), nil
	}
	if !utf8.Valid(b) {
		return "", &hintError{err: fmt.Errorf("unable to decode file %s with %s encoding", path, encoding),
			hints: []string{"for a binary file use --encoding base64 (or hex)"}}
	}
	s := strings.ReplaceAll(strings.ReplaceAll(string(b), "\r\n", "\n"), "\r", "\n")
	if encoding == "ascii" {
		for _, r := range s {
			if r >= 0x80 {
				return "", &hintError{err: fmt.Errorf("invalid encoding 'ascii': %s holds non-ASCII text", path),
					hints: []string{"use --encoding utf-8"}}
			}
		}
	}
	return s, nil
}

func newSecretSetCommand() *cobra.Command {
	o := &secretSetOptions{}
	var params azsecrets.SetSecretParameters
	return newDataCommand(dataSpec[*azsecrets.Client]{
		kind: kindSecret, verb: "set", flags: o.AddFlags, open: (*client).secretsClient,
		target: &namedOptions{nameHint: "coffer secret set --vault-name VAULT --name NAME --value VALUE"},
		help: cmdHelp{
			short: "Create a secret or add a new version of it (as az keyvault secret set)",
			long: `Create a secret, or add a new version to an existing one, and print it as az does.
The value comes from --value or from --file (read with --encoding); as az does, the
encoding is stored in the tag file-encoding so that coffer secret download writes the file
back as it was.

A name held by a deleted secret cannot be reused: set then says when that secret will be
purged and prints the commands that recover or purge it.`,
			example: `  coffer secret set --vault-name myvault --name db-password --value 'hunter2'
  coffer secret set --vault-name myvault -n tls-key -f key.pem --content-type application/x-pem-file
  coffer secret set --vault-name myvault -n blob -f image.png --encoding base64 --expires 2030-01-01`,
		},
		check: func(*dataRun[*azsecrets.Client]) error {
			if (o.Value == "") == (o.File == "") {
				return &hintError{code: exitUsage, err: errors.New("give exactly one of --value and --file"),
					hints: []string{"coffer secret set --vault-name VAULT --name NAME --value VALUE",
						"coffer secret set --vault-name VAULT --name NAME --file PATH [--encoding base64]"}}
			}
			if err := validEncoding(o.Encoding); err != nil {
				return err
			}
			attrs, tags, err := o.parse()
			if err != nil {
				return err
			}
			value := o.Value
			if o.File != "" {
				if value, err = fileValue(o.File, o.Encoding); err != nil {
					return err
				}
			}
			if tags == nil {
				tags = map[string]*string{}
			}
			tags["file-encoding"] = ptr(o.Encoding)
			params = azsecrets.SetSecretParameters{Value: &value, Tags: tags}
			if o.ContentType != "" {
				params.ContentType = &o.ContentType
			}
			if attrs.any() {
				params.SecretAttributes = &azsecrets.SecretAttributes{Enabled: attrs.Enabled, Expires: attrs.Expires, NotBefore: attrs.NotBefore}
			}
			return nil
		},
		columns: secretValueColumns,
		answer: func(r *dataRun[*azsecrets.Client]) (map[string]any, error) {
			res, err := r.sdk.SetSecret(r.ctx, r.name, params, nil)
			return secretJSON(res.Secret, true), err
		},
	})
}
