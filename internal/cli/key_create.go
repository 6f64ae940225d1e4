package cli

import (
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type keyCreateOptions struct {
	keyPropFlags
	Kty        string
	Size       int
	Curve      string
	Protection string
}

func (o *keyCreateOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kty, "kty", "", "key type: RSA, EC or oct (default: RSA, or EC with --curve)")
	fs.IntVar(&o.Size, "size", 0, "RSA key size in bits: 2048, 3072 or 4096")
	fs.StringVar(&o.Curve, "curve", "", "EC curve: P-256, P-384, P-521 or P-256K")
	fs.StringVar(&o.Protection, "protection", "software", "software (Coffer has no HSM)")
	o.keyPropFlags.AddFlags(fs, `permitted operations: encrypt, decrypt, sign, verify, wrapKey, unwrapKey ("sign verify" or sign,verify)`)
}

func newKeyCreateCommand() *cobra.Command {
	o := &keyCreateOptions{}
	var params azkeys.CreateKeyParameters
	return newDataCommand(dataSpec[*azkeys.Client]{
		kind: kindKey, verb: "create", flags: o.AddFlags, open: (*client).keysClient,
		target: &namedOptions{nameHint: "coffer key create --vault-name VAULT --name NAME [--kty RSA|EC]"},
		help: cmdHelp{
			short: "Create a key or a new version of it (as az keyvault key create)",
			long: `Create a key, or a new version of an existing one, and print it as az does. A name
held by a deleted key cannot be reused: create then says when that key will be purged and
prints the commands that recover or purge it.`,
			example: `  coffer key create --vault-name myvault --name signing --kty RSA --size 3072
  coffer key create --vault-name myvault -n ec-key --curve P-256 --ops sign,verify`,
		},
		check: func(*dataRun[*azkeys.Client]) (err error) {
			if !strings.EqualFold(o.Protection, "software") {
				return &hintError{code: exitUsage, err: fmt.Errorf("--protection %s: Coffer has no HSM", o.Protection), hints: []string{"use --protection software"}}
			}
			kty := o.Kty
			if kty == "" {
				kty = "RSA"
				if o.Curve != "" {
					kty = "EC"
				}
			}
			params = azkeys.CreateKeyParameters{Kty: ptr(azkeys.KeyType(kty))}
			if o.Size > 0 {
				params.KeySize = ptr(int32(o.Size))
			}
			if o.Curve != "" {
				params.Curve = ptr(azkeys.CurveName(o.Curve))
			}
			params.KeyOps, params.KeyAttributes, params.Tags, err = o.parse()
			return err
		},
		columns: keyColumns,
		answer: func(r *dataRun[*azkeys.Client]) (map[string]any, error) {
			res, err := r.sdk.CreateKey(r.ctx, r.name, params, nil)
			return keyJSON(res.KeyBundle), err
		},
	})
}
