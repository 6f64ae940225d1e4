package cli

import (
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type vaultUpdateOptions struct {
	vaultRef
	tagFlags
	clientOptions
	RetentionDays                int
	EnablePurgeProtection        bool
	EnableRbacAuthorization      bool
	EnabledForDeployment         bool
	EnabledForDiskEncryption     bool
	EnabledForTemplateDeployment bool
	fs                           *pflag.FlagSet
}

func (o *vaultUpdateOptions) AddFlags(fs *pflag.FlagSet) {
	o.fs = fs
	o.vaultRef.AddFlags(fs)
	fs.IntVar(&o.RetentionDays, "retention-days", 0, "retention in days; only its current value is accepted (fixed at creation, as in Azure)")
	fs.BoolVar(&o.EnablePurgeProtection, "enable-purge-protection", false, "turn purge protection on (it cannot be turned off)")
	fs.BoolVar(&o.EnableRbacAuthorization, "enable-rbac-authorization", false, "not supported: Coffer authorises through access policies")
	fs.BoolVar(&o.EnabledForDeployment, "enabled-for-deployment", false, "stored and shown, as Azure's property")
	fs.BoolVar(&o.EnabledForDiskEncryption, "enabled-for-disk-encryption", false, "stored and shown, as Azure's property")
	fs.BoolVar(&o.EnabledForTemplateDeployment, "enabled-for-template-deployment", false, "stored and shown, as Azure's property")
	o.tagFlags.AddFlags(fs)
	o.clientOptions.AddFlags(fs)
}

func newVaultUpdateCommand() *cobra.Command {
	o := &vaultUpdateOptions{}
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Change a vault's properties (as az keyvault update)",
		Long: `Change the properties given and keep the others (armkeyvault's Update, a PATCH), then
print the vault. Azure's one-way rules hold: purge protection cannot be turned off and the
retention cannot change after creation.`,
		Example: `  coffer vault update --name myvault --enable-purge-protection
  coffer vault update -n myvault --tags "env=prod team=db"`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.requireName("update"); err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			tags, err := o.tagFlags.parse()
			if err != nil {
				return err
			}
			props := &armkeyvault.VaultPatchProperties{}
			changed := tags != nil
			for _, f := range []struct {
				name string
				v    bool
				dst  **bool
			}{
				{"enable-purge-protection", o.EnablePurgeProtection, &props.EnablePurgeProtection},
				{"enable-rbac-authorization", o.EnableRbacAuthorization, &props.EnableRbacAuthorization},
				{"enabled-for-deployment", o.EnabledForDeployment, &props.EnabledForDeployment},
				{"enabled-for-disk-encryption", o.EnabledForDiskEncryption, &props.EnabledForDiskEncryption},
				{"enabled-for-template-deployment", o.EnabledForTemplateDeployment, &props.EnabledForTemplateDeployment},
			} {
				if o.fs.Changed(f.name) {
					*f.dst, changed = ptr(f.v), true
				}
			}
			if o.fs.Changed("retention-days") {
				props.SoftDeleteRetentionInDays, changed = ptr(int32(o.RetentionDays)), true
			}
			if !changed {
				return &hintError{code: exitUsage, err: errors.New("nothing to update"),
					hints: []string{"give a property, e.g. coffer vault update --name " + o.Name + " --enable-purge-protection"}}
			}
			c, err := newClient(&o.clientOptions)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			vc, err := o.vaultsClient(c)
			if err != nil {
				return err
			}
			rg, _, err := o.get(ctx, vc)
			if err != nil {
				return err
			}
			res, err := vc.Update(ctx, rg, o.Name, armkeyvault.VaultPatchParameters{Properties: props, Tags: tags}, nil)
			if err != nil {
				return err
			}
			return printVault(cmd, o.Output, res.Vault)
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
