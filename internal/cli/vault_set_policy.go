package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type vaultSetPolicyOptions struct {
	vaultRef
	permFlags
	clientOptions
	ObjectID string
}

func (o *vaultSetPolicyOptions) AddFlags(fs *pflag.FlagSet) {
	o.vaultRef.AddFlags(fs)
	fs.StringVar(&o.ObjectID, "object-id", "", "object id of the principal (required; coffer principal create prints it)")
	o.permFlags.AddFlags(fs)
	o.clientOptions.AddFlags(fs)
}

func newVaultSetPolicyCommand() *cobra.Command {
	o := &vaultSetPolicyOptions{}
	cmd := &cobra.Command{
		Use:   "set-policy",
		Short: "Grant a principal permissions on a vault (as az keyvault set-policy)",
		Long: `Set a principal's permissions on a vault, as az keyvault set-policy does: each
permission type given replaces that type's list in the principal's access policy; types not
given keep their lists; a principal without a policy gets a new one. It goes through
armkeyvault's UpdateAccessPolicy, so the rest of the vault is not rewritten, and prints the
vault.

Give several permissions comma-separated (get,list), in one quoted argument ("get list"),
or by repeating the flag.`,
		Example: `  coffer vault set-policy --name default --object-id 0b6f3c1e-52c4-4d27-9a0e-8f1d2c3b4a59 --secret-permissions get,list
  coffer vault set-policy -n myvault -g rg --object-id "$(jq -r .objectId ci.json)" --key-permissions "get sign verify" -o table`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &hintError{code: exitUsage, err: fmt.Errorf("unexpected argument %q", args[0]),
					hints: []string{"give several permissions as --secret-permissions get,list (or repeat the flag)"}}
			}
			if o.Name == "" || o.ObjectID == "" {
				return &hintError{code: exitUsage, err: errors.New("--name and --object-id are required"),
					hints: []string{"coffer vault set-policy --name VAULT --object-id OBJECT-ID --secret-permissions get,list"}}
			}
			perms, err := o.permFlags.parse()
			if err != nil {
				return err
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
			if tenant == "" {
				tenant = c.creds.TenantID
			}
			kind, entries := planSetPolicy(policies, tenant, strings.ToLower(o.ObjectID), perms)
			if _, err := vc.UpdateAccessPolicy(ctx, rg, o.Name, kind, armkeyvault.VaultAccessPolicyParameters{
				Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: entries},
			}, nil); err != nil {
				return err
			}
			after, err := vc.Get(ctx, rg, o.Name, nil)
			if err != nil {
				return err
			}
			if after.Properties == nil || !applied(after.Properties.AccessPolicies, tenant, o.ObjectID, perms) {
				return fmt.Errorf("the server answered accessPolicies/%s but the vault does not show the permissions asked for", kind)
			}
			return printOut(cmd.OutOrStdout(), o.Output, after.Vault, vaultTable(after.Vault))
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
