package cli

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// keyOpSpec is sign, verify, encrypt or decrypt, for newKeyOpCommand: an operation with
// one version of a key (--vault-name and --name, or --id; --version) and an --algorithm
// of algorithms.
type keyOpSpec[A ~string] struct {
	verb       string
	help       cmdHelp
	algorithms []A
	flags      func(fs *pflag.FlagSet) // the operation's own flags
	check      func() error            // its own checks, after --algorithm's
	// answer calls the operation and answers az's JSON of it, printed with columns (as
	// dataSpec's answer).
	answer  func(r *dataRun[*azkeys.Client], alg A) (map[string]any, error)
	columns columns
}

func newKeyOpCommand[A ~string](s keyOpSpec[A]) *cobra.Command {
	var algorithm string
	var alg A
	return newDataCommand(dataSpec[*azkeys.Client]{
		kind: kindKey, verb: s.verb, help: s.help, target: &versionOptions{}, open: (*client).keysClient, columns: s.columns,
		flags: func(fs *pflag.FlagSet) {
			fs.StringVarP(&algorithm, "algorithm", "a", "", "algorithm (required): "+enumList(s.algorithms))
			s.flags(fs)
		},
		check: func(*dataRun[*azkeys.Client]) (err error) {
			if alg, err = checkAlgorithm(algorithm, s.algorithms, s.verb); err != nil {
				return err
			}
			return s.check()
		},
		answer: func(r *dataRun[*azkeys.Client]) (map[string]any, error) { return s.answer(r, alg) },
	})
}

// checkAlgorithm validates --algorithm against an SDK enum, case-insensitively, and
// returns it in the enum's spelling.
func checkAlgorithm[T ~string](name string, valid []T, verb string) (T, error) {
	if name == "" {
		return "", requireFlag("algorithm", "coffer key "+verb+" --vault-name VAULT --name KEY --algorithm ALGORITHM ...")
	}
	if i := slices.IndexFunc(valid, func(v T) bool { return strings.EqualFold(string(v), name) }); i >= 0 {
		return valid[i], nil
	}
	return "", &hintError{code: exitUsage, err: fmt.Errorf("--algorithm %q is not known", name), hints: []string{"valid: " + enumList(valid)}}
}

// kidJSON is a key id as az prints it.
func kidJSON(kid *azkeys.ID) any {
	if kid == nil {
		return nil
	}
	return string(*kid)
}

// cipherFlags are the flags encrypt and decrypt share: --value, --data-type, and --iv and
// --aad for AES keys.
type cipherFlags struct{ Value, DataType, IV, AAD string }

func (o *cipherFlags) AddFlags(fs *pflag.FlagSet, valueUsage, dataTypeUsage string) {
	fs.StringVar(&o.Value, "value", "", valueUsage)
	fs.StringVar(&o.DataType, "data-type", "base64", dataTypeUsage)
	fs.StringVar(&o.IV, "iv", "", "initialization vector, hex (AES-GCM and AES-CBC keys)")
	fs.StringVar(&o.AAD, "aad", "", "additional authenticated data, hex (AES-GCM keys)")
}

// parse checks the flags and sets the parameters' value, IV and additional authenticated
// data; value reads --value once --data-type is known to be base64 or plaintext. hint is
// the example of a missing --value.
func (o *cipherFlags) parse(p *azkeys.KeyOperationParameters, hint string, value func(v, dataType string) ([]byte, error)) (err error) {
	if o.Value == "" {
		return requireFlag("value", hint)
	}
	if o.DataType != "base64" && o.DataType != "plaintext" {
		return &hintError{code: exitUsage, err: fmt.Errorf("--data-type %q is not known", o.DataType), hints: []string{"use --data-type base64 or --data-type plaintext"}}
	}
	if p.Value, err = value(o.Value, o.DataType); err != nil {
		return err
	}
	if p.IV, err = hexFlag("iv", o.IV); err != nil {
		return err
	}
	p.AdditionalAuthenticatedData, err = hexFlag("aad", o.AAD)
	return err
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
