package cli

import (
	"errors"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type vaultDeletePolicyOptions struct {
	vaultRef
	clientOptions
	ObjectID string
}

func (o *vaultDeletePolicyOptions) AddFlags(fs *pflag.FlagSet) {
	o.vaultRef.AddFlags(fs)
	fs.StringVar(&o.ObjectID, "object-id", "", "object id of the principal (required)")
	o.clientOptions.AddFlags(fs)
}

func newVaultDeletePolicyCommand() *cobra.Command {
	o := &vaultDeletePolicyOptions{}
	cmd := &cobra.Command{
		Use:   "delete-policy",
		Short: "Remove a principal's access policy from a vault (as az keyvault delete-policy)",
		Long: `Remove the principal's access policy from the vault, as az keyvault delete-policy does,
through armkeyvault's UpdateAccessPolicy (remove), and print the vault. A principal without
a policy on the vault is an error.`,
		Example: `  coffer vault delete-policy --name default --object-id 0b6f3c1e-52c4-4d27-9a0e-8f1d2c3b4a59`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Name == "" || o.ObjectID == "" {
				return &hintError{code: exitUsage, err: errors.New("--name and --object-id are required"),
					hints: []string{"coffer vault delete-policy --name VAULT --object-id OBJECT-ID"}}
			}
			if err := o.validate(); err != nil {
				return err
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
			rg, err := o.group(ctx, vc)
			if err != nil {
				return err
			}
			got, err := vc.Get(ctx, rg, o.Name, nil)
			if err != nil {
				return err
			}
			tenant := ""
			var policies []*armkeyvault.AccessPolicyEntry
			if p := got.Properties; p != nil {
				tenant, policies = deref(p.TenantID), p.AccessPolicies
			}
			i := findPolicy(policies, tenant, o.ObjectID)
			if i < 0 {
				return &hintError{code: exitNotFound, err: fmt.Errorf("vault %s has no access policy for object id %s", o.Name, o.ObjectID),
					hints: []string{"no matching policy found; nothing was changed"}}
			}
			if _, err := vc.UpdateAccessPolicy(ctx, rg, o.Name, armkeyvault.AccessPolicyUpdateKindRemove, armkeyvault.VaultAccessPolicyParameters{
				Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: []*armkeyvault.AccessPolicyEntry{policies[i]}},
			}, nil); err != nil {
				return err
			}
			after, err := vc.Get(ctx, rg, o.Name, nil)
			if err != nil {
				return err
			}
			if after.Properties != nil && findPolicy(after.Properties.AccessPolicies, tenant, o.ObjectID) >= 0 {
				return errors.New("the server answered accessPolicies/remove but the vault still has the principal's policy")
			}
			return printOut(cmd.OutOrStdout(), o.Output, after.Vault, vaultTable(after.Vault))
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
