package cli

import (
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type vaultPurgeOptions struct {
	deletedVaultRef
	clientOptions
	NoWait bool
}

func (o *vaultPurgeOptions) AddFlags(fs *pflag.FlagSet) {
	o.deletedVaultRef.AddFlags(fs)
	fs.BoolVar(&o.NoWait, "no-wait", false, "return once the server has accepted the purge")
	o.clientOptions.AddFlags(fs)
}

func newVaultPurgeCommand() *cobra.Command {
	o := &vaultPurgeOptions{}
	cmd := &cobra.Command{
		Use:   "purge",
		Short: "Purge a deleted vault for good; this cannot be undone (as az keyvault purge)",
		Long: `Purge a soft-deleted vault and everything in it, for good, as az keyvault purge does;
the name becomes free. This cannot be undone. Under purge protection the vault cannot be
purged: the command says when Coffer will purge it by itself.`,
		Example: `  coffer vault purge --name myvault
  coffer vault purge -n myvault -l local --no-wait`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.requireName("purge"); err != nil {
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
			d, err := o.find(ctx, vc)
			if err != nil {
				return err
			}
			dv := deletedVaultObject(d, deletedVaultName(d))
			if dv.purgeProtected {
				return &hintError{err: fmt.Errorf("vault %q cannot be purged: it has purge protection", o.Name),
					hints: []string{
						fmt.Sprintf("Coffer purges it by itself at its scheduledPurgeDate %s", humanDate(dv.purgeDate)),
						"until then it can be recovered: " + dv.command("recover"),
					}}
			}
			loc := o.Location
			if d.Properties != nil && d.Properties.Location != nil {
				loc = *d.Properties.Location
			}
			poller, err := vc.BeginPurgeDeleted(ctx, dv.name, loc, nil)
			if err != nil {
				return err
			}
			if o.NoWait {
				return nil
			}
			_, err = poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: time.Second})
			return err
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
