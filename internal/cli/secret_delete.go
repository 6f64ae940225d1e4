package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type secretDeleteOptions struct {
	objectOptions
}

func (o *secretDeleteOptions) AddFlags(fs *pflag.FlagSet) { o.objectOptions.AddFlags(fs, kindSecret) }

func newSecretDeleteCommand() *cobra.Command {
	o := &secretDeleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a secret, all versions; it stays recoverable until its scheduledPurgeDate (as az keyvault secret delete)",
		Long: `Soft-delete a secret with all its versions and print the deleted secret as az does
(deletedDate, recoveryId, scheduledPurgeDate). Until its scheduledPurgeDate it can be
recovered (coffer secret recover), and its name cannot be reused.`,
		Example: `  coffer secret delete --vault-name myvault --name db-password
  coffer secret recover --vault-name myvault --name db-password    # changed your mind`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := o.check(kindSecret, "delete"); err != nil {
				return err
			}
			return runSecrets(cmd, &o.clientOptions, o.VaultName, func(ctx context.Context, c *client, sc *azsecrets.Client) error {
				res, err := sc.DeleteSecret(ctx, o.Name, nil)
				if err != nil {
					return c.explainObject(ctx, err, kindSecret, o.VaultName, o.Name)
				}
				m := deletedSecretJSON(res.DeletedSecret)
				if err := printOut(cmd.OutOrStdout(), o.Output, m, deletedTable([]map[string]any{m}, "recoveryId")); err != nil {
					return err
				}
				noteDeleted(cmd, kindSecret, o.VaultName, o.Name, res.ScheduledPurgeDate)
				return nil
			})
		},
	}
	o.AddFlags(cmd.Flags())
	return clientCommand(cmd)
}
