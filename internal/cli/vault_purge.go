package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type vaultPurgeOptions struct {
	deletedVaultRef
	clientOptions
	purgeFlags
	NoWait bool
}

func (o *vaultPurgeOptions) AddFlags(fs *pflag.FlagSet) {
	o.deletedVaultRef.AddFlags(fs)
	fs.BoolVar(&o.NoWait, "no-wait", false, "return once the server has accepted the purge")
	o.purgeFlags.AddFlags(fs)
	o.clientOptions.AddFlags(fs)
}

func newVaultPurgeCommand() *cobra.Command {
	o := &vaultPurgeOptions{}
	cmd := &cobra.Command{
		Use:   "purge",
		Short: "Purge a deleted vault for good; this cannot be undone (as az keyvault purge)",
		Long: `Purge a soft-deleted vault and everything in it, for good, as az keyvault purge does;
the name becomes free. This cannot be undone. Under purge protection the vault cannot be
purged: the command says when Coffer will purge it by itself.

On a terminal it asks you to type the vault's name first, and shows the purge's progress;
--yes purges without asking, and is needed when stdin is not a terminal (a script, a
pipe): without it the command refuses at once with exit code 2. --no-wait returns as soon
as the server has accepted the purge.`,
		Example: `  coffer vault purge --name myvault
  coffer vault purge -n myvault -l local --yes --no-wait   # in a script`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.requireName("purge"); err != nil {
				return err
			}
			if err := o.validate(); err != nil {
				return err
			}
			if err := o.checkAsk(cmd, "coffer vault purge --name "+o.Name); err != nil {
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
				return dv.purgeProtectedError()
			}
			if err := o.confirm(cmd, fmt.Sprintf("vault %q with every secret, key and certificate in it", dv.name), dv.name); err != nil {
				return err
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
			return waitPoller(ctx, newProgress(cmd), "purging vault "+dv.name, poller)
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}

// waitPoller polls a long-running ARM operation, with a short growing delay up to a
// second, until it is done, showing its progress on a terminal.
func waitPoller[T any](ctx context.Context, p *progress, what string, poller *runtime.Poller[T]) error {
	defer p.done()
	delay := 100 * time.Millisecond
	for !poller.Done() {
		p.update("%s", what)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
		if _, err := poller.Poll(ctx); err != nil {
			return err
		}
	}
	_, err := poller.Result(ctx)
	return err
}
