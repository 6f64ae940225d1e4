package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type keyCreateOptions struct {
	vaultOptions
	attrFlags
	tagFlags
	Name       string
	Kty        string
	Size       int
	Curve      string
	Ops        []string
	Exportable bool
	Protection string
	fs         *pflag.FlagSet
}

func (o *keyCreateOptions) AddFlags(fs *pflag.FlagSet) {
	o.fs = fs
	fs.StringVarP(&o.Name, "name", "n", "", "name of the key (required)")
	fs.StringVar(&o.Kty, "kty", "", "key type: RSA, EC or oct (default: RSA, or EC with --curve)")
	fs.IntVar(&o.Size, "size", 0, "RSA key size in bits: 2048, 3072 or 4096")
	fs.StringVar(&o.Curve, "curve", "", "EC curve: P-256, P-384, P-521 or P-256K")
	fs.StringSliceVar(&o.Ops, "ops", nil, `permitted operations: encrypt, decrypt, sign, verify, wrapKey, unwrapKey ("sign verify" or sign,verify)`)
	fs.BoolVar(&o.Exportable, "exportable", false, "whether the private key can be exported")
	fs.StringVar(&o.Protection, "protection", "software", "software (Coffer has no HSM)")
	o.attrFlags.AddFlags(fs, false)
	o.tagFlags.AddFlags(fs)
	o.vaultOptions.AddFlags(fs)
}

func newKeyCreateCommand() *cobra.Command {
	o := &keyCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a key or a new version of it (as az keyvault key create)",
		Long: `Create a key, or a new version of an existing one, and print it as az does. A name
held by a deleted key cannot be reused: create then says when that key will be purged and
prints the commands that recover or purge it.`,
		Example: `  coffer key create --vault-name myvault --name signing --kty RSA --size 3072
  coffer key create --vault-name myvault -n ec-key --curve P-256 --ops sign,verify`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.check(kindKey, "create"); err != nil {
				return err
			}
			if o.Name == "" {
				return requireFlag("name", "coffer key create --vault-name VAULT --name NAME [--kty RSA|EC]")
			}
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
			params := azkeys.CreateKeyParameters{Kty: ptr(azkeys.KeyType(kty))}
			if o.Size > 0 {
				params.KeySize = ptr(int32(o.Size))
			}
			if o.Curve != "" {
				params.Curve = ptr(azkeys.CurveName(o.Curve))
			}
			var err error
			if params.KeyOps, err = keyOpsFlag(o.Ops); err != nil {
				return err
			}
			attrs, err := o.attrFlags.parse()
			if err != nil {
				return err
			}
			if params.Tags, err = o.tagFlags.parse(); err != nil {
				return err
			}
			if attrs.any() || o.fs.Changed("exportable") {
				params.KeyAttributes = &azkeys.KeyAttributes{Enabled: attrs.Enabled, Expires: attrs.Expires, NotBefore: attrs.NotBefore}
				if o.fs.Changed("exportable") {
					params.KeyAttributes.Exportable = ptr(o.Exportable)
				}
			}
			return onVault(cmd, &o.clientOptions, o.VaultName, (*client).keysClient, func(ctx context.Context, c *client, kc *azkeys.Client) error {
				res, err := kc.CreateKey(ctx, o.Name, params, nil)
				if err != nil {
					return c.explainObject(ctx, err, kindKey, o.VaultName, o.Name)
				}
				m := keyJSON(res.KeyBundle)
				return printObject(cmd, o.Output, m, keyColumns)
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
