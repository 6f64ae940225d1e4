package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newVaultCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vault",
		Short: "Manage vaults and their access policies (as az keyvault)",
	}
	cmd.AddCommand(
		newVaultSetPolicyCommand(),
		newVaultDeletePolicyCommand(),
	)
	return cmd
}

// vaultRef names a vault on the management plane: -n, -g, --subscription.
type vaultRef struct {
	Name         string
	Group        string
	Subscription string
}

func (o *vaultRef) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.Name, "name", "n", "", "vault name (required)")
	fs.StringVarP(&o.Group, "resource-group", "g", "", "resource group of the vault (default: found by listing the subscription's vaults)")
	fs.StringVar(&o.Subscription, "subscription", defaultSubscription, "subscription id of the vault")
}

// vaultsClient returns the armkeyvault client of the reference's subscription.
func (o *vaultRef) vaultsClient(c *client) (*armkeyvault.VaultsClient, error) {
	return armkeyvault.NewVaultsClient(o.Subscription, c.cred, c.armOptions())
}

// group returns -g, or the resource group of the vault named -n, found by listing the
// subscription's vaults (az needs -g; Coffer's vault names are unique per server).
func (o *vaultRef) group(ctx context.Context, vc *armkeyvault.VaultsClient) (string, error) {
	if o.Group != "" {
		return o.Group, nil
	}
	pager := vc.NewListBySubscriptionPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return "", err
		}
		for _, v := range page.Value {
			if v == nil || v.Name == nil || v.ID == nil || !strings.EqualFold(*v.Name, o.Name) {
				continue
			}
			id, err := arm.ParseResourceID(*v.ID)
			if err != nil {
				return "", fmt.Errorf("vault %s has the id %q: %w", *v.Name, *v.ID, err)
			}
			return id.ResourceGroupName, nil
		}
	}
	return "", &hintError{err: fmt.Errorf("no vault %q in subscription %s", o.Name, o.Subscription),
		hints: []string{"check the name, or give its resource group with -g and its subscription with --subscription"}}
}

// vaultTable shows a vault's access policies, one row per principal.
func vaultTable(v armkeyvault.Vault) func() table {
	return func() table {
		t := table{header: []string{"Vault", "ObjectId", "Keys", "Secrets", "Certificates", "Storage"}}
		if v.Properties == nil {
			return t
		}
		name := deref(v.Name)
		for _, p := range v.Properties.AccessPolicies {
			if p == nil {
				continue
			}
			row := []string{name, deref(p.ObjectID), "", "", "", ""}
			if perms := p.Permissions; perms != nil {
				row[2], row[3], row[4], row[5] = joinPerms(perms.Keys), joinPerms(perms.Secrets), joinPerms(perms.Certificates), joinPerms(perms.Storage)
			}
			t.rows = append(t.rows, row)
		}
		return t
	}
}

func joinPerms[T ~string](ps []*T) string {
	var s []string
	for _, p := range ps {
		if p != nil {
			s = append(s, string(*p))
		}
	}
	return strings.Join(s, ",")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
