package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newVaultSetPolicyCommand() *cobra.Command {
	ref, perms, objectID := &vaultRef{}, &permFlags{}, ""
	var set permSet
	return newVaultOpCommand(vaultSpec{
		verb: "set-policy", ref: ref,
		help: cmdHelp{
			short: "Grant a principal permissions on a vault (as az keyvault set-policy)",
			long: `Set a principal's permissions on a vault, as az keyvault set-policy does: each
permission type given replaces that type's list in the principal's access policy; types not
given keep their lists; a principal without a policy gets a new one. It goes through
armkeyvault's UpdateAccessPolicy, so the rest of the vault is not rewritten, and prints the
vault.

Give several permissions comma-separated (get,list), in one quoted argument ("get list"),
or by repeating the flag.`,
			example: `  coffer vault set-policy --name default --object-id 0b6f3c1e-52c4-4d27-9a0e-8f1d2c3b4a59 --secret-permissions get,list
  coffer vault set-policy -n myvault -g rg --object-id "$(jq -r .objectId ci.json)" --key-permissions "get sign verify" -o table`,
		},
		// Positional arguments get a hint of their own: most are a list given as az's
		// space-separated words.
		args: cobra.ArbitraryArgs,
		flags: func(fs *pflag.FlagSet) {
			ref.AddFlags(fs)
			fs.StringVar(&objectID, "object-id", "", "object id of the principal (required; coffer principal create prints it)")
			perms.AddFlags(fs)
		},
		require: func(args []string) (err error) {
			if len(args) > 0 {
				return &hintError{code: exitUsage, err: fmt.Errorf("unexpected argument %q", args[0]),
					hints: []string{"give several permissions as --secret-permissions get,list (or repeat the flag)"}}
			}
			if ref.Name == "" || objectID == "" {
				return &hintError{code: exitUsage, err: errors.New("--name and --object-id are required"),
					hints: []string{"coffer vault set-policy --name VAULT --object-id OBJECT-ID --secret-permissions get,list"}}
			}
			set, err = perms.parse()
			return err
		},
		run: func(r *vaultRun) error {
			rg, tenant, policies, err := r.accessPolicies(ref)
			if err != nil {
				return err
			}
			if tenant == "" {
				tenant = r.c.creds.TenantID
			}
			kind, entries := planSetPolicy(policies, tenant, strings.ToLower(objectID), set)
			return r.updateAccessPolicies(ref, rg, kind, entries, func(after *armkeyvault.VaultProperties) error {
				if after == nil || !applied(after.AccessPolicies, tenant, objectID, set) {
					return fmt.Errorf("the server answered accessPolicies/%s but the vault does not show the permissions asked for", kind)
				}
				return nil
			})
		},
	})
}
