package cli

import (
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// vaultProps are the vault's bool properties that create and update set when their flag
// is given.
type vaultProps struct {
	EnablePurgeProtection        bool
	EnableRbacAuthorization      bool
	EnabledForDeployment         bool
	EnabledForDiskEncryption     bool
	EnabledForTemplateDeployment bool
	fs                           *pflag.FlagSet
}

// AddFlags adds the flags; purgeProtection is the usage of --enable-purge-protection.
func (o *vaultProps) AddFlags(fs *pflag.FlagSet, purgeProtection string) {
	o.fs = fs
	fs.BoolVar(&o.EnablePurgeProtection, "enable-purge-protection", false, purgeProtection)
	fs.BoolVar(&o.EnableRbacAuthorization, "enable-rbac-authorization", false, "decide the data plane by role assignments instead of access policies (false: back to the access policies, which are kept)")
	fs.BoolVar(&o.EnabledForDeployment, "enabled-for-deployment", false, "stored and shown, as Azure's property")
	fs.BoolVar(&o.EnabledForDiskEncryption, "enabled-for-disk-encryption", false, "stored and shown, as Azure's property")
	fs.BoolVar(&o.EnabledForTemplateDeployment, "enabled-for-template-deployment", false, "stored and shown, as Azure's property")
}

// set sets the properties whose flag was given, and reports whether there was one.
func (o *vaultProps) set(purgeProtection, rbac, deployment, diskEncryption, templateDeployment **bool) bool {
	changed := false
	for _, f := range []struct {
		name string
		v    bool
		dst  **bool
	}{
		{"enable-purge-protection", o.EnablePurgeProtection, purgeProtection},
		{"enable-rbac-authorization", o.EnableRbacAuthorization, rbac},
		{"enabled-for-deployment", o.EnabledForDeployment, deployment},
		{"enabled-for-disk-encryption", o.EnabledForDiskEncryption, diskEncryption},
		{"enabled-for-template-deployment", o.EnabledForTemplateDeployment, templateDeployment},
	} {
		if o.fs.Changed(f.name) {
			*f.dst, changed = ptr(f.v), true
		}
	}
	return changed
}

func newVaultUpdateCommand() *cobra.Command {
	ref, props, tags, retentionDays := &vaultRef{}, &vaultProps{}, &tagFlags{}, 0
	var patch armkeyvault.VaultPatchParameters
	return newVaultOpCommand(vaultSpec{
		verb: "update", ref: ref, require: ref.nameRequired("update"),
		help: cmdHelp{
			short: "Change a vault's properties (as az keyvault update)",
			long: `Change the properties given and keep the others (armkeyvault's Update, a PATCH), then
print the vault. Azure's one-way rules hold: purge protection cannot be turned off and the
retention cannot change after creation.`,
			example: `  coffer vault update --name myvault --enable-purge-protection
  coffer vault update -n myvault --tags "env=prod team=db"`,
		},
		flags: func(fs *pflag.FlagSet) {
			ref.AddFlags(fs)
			fs.IntVar(&retentionDays, "retention-days", 0, "retention in days; only its current value is accepted (fixed at creation, as in Azure)")
			props.AddFlags(fs, "turn purge protection on (it cannot be turned off)")
			tags.AddFlags(fs)
		},
		check: func(*cobra.Command) (err error) {
			if patch.Tags, err = tags.parse(); err != nil {
				return err
			}
			p := &armkeyvault.VaultPatchProperties{}
			changed := props.set(&p.EnablePurgeProtection, &p.EnableRbacAuthorization, &p.EnabledForDeployment, &p.EnabledForDiskEncryption, &p.EnabledForTemplateDeployment)
			if props.fs.Changed("retention-days") {
				p.SoftDeleteRetentionInDays, changed = ptr(int32(retentionDays)), true
			}
			if !changed && patch.Tags == nil {
				return &hintError{code: exitUsage, err: errors.New("nothing to update"),
					hints: []string{"give a property, e.g. coffer vault update --name " + ref.Name + " --enable-purge-protection"}}
			}
			patch.Properties = p
			return nil
		},
		run: func(r *vaultRun) error {
			rg, _, err := ref.get(r.ctx, r.vc)
			if err != nil {
				return err
			}
			res, err := r.vc.Update(r.ctx, rg, ref.Name, patch, nil)
			if err != nil {
				return err
			}
			return r.print(res.Vault, vaultColumns)
		},
	})
}
