package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newVaultPurgeCommand() *cobra.Command {
	ref, pf, noWait := &deletedVaultRef{}, &purgeFlags{}, false
	return newVaultOpCommand(vaultSpec{
		verb: "purge", ref: &ref.vaultRef, require: ref.nameRequired("purge"),
		help: cmdHelp{
			short: "Purge a deleted vault for good; this cannot be undone (as az keyvault purge)",
			long: `Purge a soft-deleted vault and everything in it, for good, as az keyvault purge does;
the name becomes free. This cannot be undone. Under purge protection the vault cannot be
purged: the command says when Coffer will purge it by itself.

On a terminal it asks you to type the vault's name first, and shows the purge's progress;
--yes purges without asking, and is needed when stdin is not a terminal (a script, a
pipe): without it the command refuses at once with exit code 2. --no-wait returns as soon
as the server has accepted the purge.`,
			example: `  coffer vault purge --name myvault
  coffer vault purge -n myvault -l local --yes --no-wait   # in a script`,
		},
		flags: func(fs *pflag.FlagSet) {
			ref.AddFlags(fs)
			fs.BoolVar(&noWait, "no-wait", false, "return once the server has accepted the purge")
			pf.AddFlags(fs)
		},
		check: func(cmd *cobra.Command) error {
			return pf.checkAsk(cmd, "coffer vault purge --name "+ref.Name)
		},
		run: func(r *vaultRun) error {
			d, err := ref.find(r.ctx, r.vc)
			if err != nil {
				return err
			}
			dv := deletedVaultObject(d, deletedVaultName(d))
			if dv.purgeProtected {
				return dv.purgeProtectedError()
			}
			if err := pf.confirm(r.cmd, fmt.Sprintf("vault %q with every secret, key and certificate in it", dv.name), dv.name); err != nil {
				return err
			}
			loc := ref.Location
			if d.Properties != nil && d.Properties.Location != nil {
				loc = *d.Properties.Location
			}
			poller, err := r.vc.BeginPurgeDeleted(r.ctx, dv.name, loc, nil)
			if err != nil {
				return err
			}
			if noWait {
				return nil
			}
			return waitPoller(r.ctx, newProgress(r.cmd), "purging vault "+dv.name, poller)
		},
	})
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
