package cli

import (
	"errors"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newVaultDeletePolicyCommand() *cobra.Command {
	ref, objectID := &vaultRef{}, ""
	return newVaultOpCommand(vaultSpec{
		verb: "delete-policy", ref: ref, args: cobra.NoArgs,
		help: cmdHelp{
			short: "Remove a principal's access policy from a vault (as az keyvault delete-policy)",
			long: `Remove the principal's access policy from the vault, as az keyvault delete-policy does,
through armkeyvault's UpdateAccessPolicy (remove), and print the vault. A principal without
a policy on the vault is an error.`,
			example: `  coffer vault delete-policy --name default --object-id 0b6f3c1e-52c4-4d27-9a0e-8f1d2c3b4a59`,
		},
		flags: func(fs *pflag.FlagSet) {
			ref.AddFlags(fs)
			fs.StringVar(&objectID, "object-id", "", "object id of the principal (required)")
		},
		require: func([]string) error {
			if ref.Name == "" || objectID == "" {
				return &hintError{code: exitUsage, err: errors.New("--name and --object-id are required"),
					hints: []string{"coffer vault delete-policy --name VAULT --object-id OBJECT-ID"}}
			}
			return nil
		},
		run: func(r *vaultRun) error {
			rg, tenant, policies, err := r.accessPolicies(ref)
			if err != nil {
				return err
			}
			i := findPolicy(policies, tenant, objectID)
			if i < 0 {
				return &hintError{code: exitNotFound, err: fmt.Errorf("vault %s has no access policy for object id %s", ref.Name, objectID),
					hints: []string{"no matching policy found; nothing was changed"}}
			}
			entries := []*armkeyvault.AccessPolicyEntry{policies[i]}
			return r.updateAccessPolicies(ref, rg, armkeyvault.AccessPolicyUpdateKindRemove, entries, func(after *armkeyvault.VaultProperties) error {
				if after != nil && findPolicy(after.AccessPolicies, tenant, objectID) >= 0 {
					return errors.New("the server answered accessPolicies/remove but the vault still has the principal's policy")
				}
				return nil
			})
		},
	})
}
