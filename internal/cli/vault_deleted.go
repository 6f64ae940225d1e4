package cli

import (
	"context"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/spf13/pflag"
)

// deletedVaultRef names a deleted vault: -n, and -l to skip listing the deleted vaults
// (az's form), --subscription.
type deletedVaultRef struct {
	vaultRef
	Location string
}

func (o *deletedVaultRef) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.Name, "name", "n", "", "name of the deleted vault (required)")
	fs.StringVarP(&o.Location, "location", "l", "", "location of the deleted vault (default: found by listing the deleted vaults)")
	fs.StringVar(&o.Subscription, "subscription", defaultSubscription, "subscription id")
}

// find returns the deleted vault, or an error that says whether the vault is live or
// gone.
func (o *deletedVaultRef) find(ctx context.Context, vc *armkeyvault.VaultsClient) (*armkeyvault.DeletedVault, error) {
	var d *armkeyvault.DeletedVault
	if o.Location != "" {
		got, err := vc.GetDeleted(ctx, o.Name, o.Location, nil)
		if err != nil && !isStatus(err, http.StatusNotFound) {
			return nil, err
		}
		if err == nil {
			d = &got.DeletedVault
		}
	} else {
		var err error
		if d, err = findDeletedVault(ctx, vc, o.Name); err != nil {
			return nil, err
		}
	}
	if d != nil {
		return d, nil
	}
	live := o.vaultRef
	live.Group = ""
	if _, err := live.group(ctx, vc); err == nil {
		return nil, &hintError{code: exitNotFound, err: fmt.Errorf("vault %q is not deleted", o.Name),
			hints: []string{"it is live: coffer vault show --name " + o.Name}}
	}
	where := ""
	if o.Location != "" {
		where = " in location " + o.Location
	}
	return nil, &hintError{code: exitNotFound, err: fmt.Errorf("no deleted vault %q%s in subscription %s", o.Name, where, o.Subscription),
		hints: []string{"the deleted vaults: coffer vault list-deleted",
			"a vault purged by hand or at the end of its retention is gone for good"}}
}
