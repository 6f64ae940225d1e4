package cli

import (
	"context"
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type secretSetAttributesOptions struct {
	objectOptions
	attrFlags
	tagFlags
	Version     string
	ContentType string
	fs          *pflag.FlagSet
}

func (o *secretSetAttributesOptions) AddFlags(fs *pflag.FlagSet) {
	o.fs = fs
	o.objectOptions.AddFlags(fs, kindSecret)
	versionFlag(fs, &o.Version, kindSecret)
	fs.StringVar(&o.ContentType, "content-type", "", "content type of the value")
	o.attrFlags.AddFlags(fs, true)
	o.tagFlags.AddFlags(fs)
}

func newSecretSetAttributesCommand() *cobra.Command {
	o := &secretSetAttributesOptions{}
	cmd := &cobra.Command{
		Use:   "set-attributes",
		Short: "Change a secret's attributes, not its value (as az keyvault secret set-attributes)",
		Example: `  coffer secret set-attributes --vault-name myvault --name db-password --enabled false
  coffer secret set-attributes --vault-name myvault -n db-password --expires 2030-01-01 --tags "owner=ops"`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			idVersion, err := o.check(kindSecret, "set-attributes")
			if err != nil {
				return err
			}
			attrs, err := o.attrFlags.parse()
			if err != nil {
				return err
			}
			tags, err := o.tagFlags.parse()
			if err != nil {
				return err
			}
			params := azsecrets.UpdateSecretPropertiesParameters{Tags: tags}
			if o.fs.Changed("content-type") {
				params.ContentType = &o.ContentType
			}
			if attrs.any() {
				params.SecretAttributes = &azsecrets.SecretAttributes{Enabled: attrs.Enabled, Expires: attrs.Expires, NotBefore: attrs.NotBefore}
			}
			if params.ContentType == nil && params.SecretAttributes == nil && tags == nil {
				return &hintError{code: exitUsage, err: errors.New("nothing to change"),
					hints: []string{"give --enabled, --expires, --not-before, --content-type or --tags"}}
			}
			return onVault(cmd, &o.clientOptions, o.VaultName, (*client).secretsClient, func(ctx context.Context, c *client, sc *azsecrets.Client) error {
				res, err := sc.UpdateSecretProperties(ctx, o.Name, pickVersion(o.Version, idVersion), params, nil)
				if err != nil {
					return c.explainObject(ctx, err, kindSecret, o.VaultName, o.Name)
				}
				m := secretJSON(res.Secret, false)
				return printObject(cmd, o.Output, m, secretItemColumns)
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
