package cli

import (
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type secretSetAttributesOptions struct {
	propFlags
	ContentType string
	fs          *pflag.FlagSet
}

func (o *secretSetAttributesOptions) AddFlags(fs *pflag.FlagSet) {
	o.fs = fs
	fs.StringVar(&o.ContentType, "content-type", "", "content type of the value")
	o.propFlags.AddFlags(fs, true)
}

func newSecretSetAttributesCommand() *cobra.Command {
	o := &secretSetAttributesOptions{}
	var params azsecrets.UpdateSecretPropertiesParameters
	return newDataCommand(dataSpec[*azsecrets.Client]{
		kind: kindSecret, verb: "set-attributes", target: &versionOptions{}, flags: o.AddFlags, open: (*client).secretsClient,
		help: cmdHelp{
			short: "Change a secret's attributes, not its value (as az keyvault secret set-attributes)",
			example: `  coffer secret set-attributes --vault-name myvault --name db-password --enabled false
  coffer secret set-attributes --vault-name myvault -n db-password --expires 2030-01-01 --tags "owner=ops"`,
		},
		check: func(*dataRun[*azsecrets.Client]) error {
			attrs, tags, err := o.parse()
			if err != nil {
				return err
			}
			params.Tags = tags
			if o.fs.Changed("content-type") {
				params.ContentType = &o.ContentType
			}
			if attrs.any() {
				params.SecretAttributes = &azsecrets.SecretAttributes{Enabled: attrs.Enabled, Expires: attrs.Expires, NotBefore: attrs.NotBefore}
			}
			if params.ContentType == nil && params.SecretAttributes == nil && params.Tags == nil {
				return &hintError{code: exitUsage, err: errors.New("nothing to change"),
					hints: []string{"give --enabled, --expires, --not-before, --content-type or --tags"}}
			}
			return nil
		},
		columns: secretItemColumns,
		answer: func(r *dataRun[*azsecrets.Client]) (map[string]any, error) {
			res, err := r.sdk.UpdateSecretProperties(r.ctx, r.name, r.version, params, nil)
			return secretJSON(res.Secret, false), err
		},
	})
}
