package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/spf13/cobra"
)

func newSecretCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Manage secrets (as az keyvault secret)",
		Long: `Manage the secrets of a vault, as az keyvault secret does, through Microsoft's azsecrets
SDK. -o json prints what az prints. A deleted secret stays recoverable until its
scheduledPurgeDate: coffer secret list-deleted, recover, purge.`,
	}
	cmd.AddCommand(
		newSecretSetCommand(),
		newSecretShowCommand(),
		newSecretListCommand(),
		newSecretListVersionsCommand(),
		newSecretSetAttributesCommand(),
		newSecretDeleteCommand(),
		newSecretListDeletedCommand(),
		newSecretShowDeletedCommand(),
		newSecretRecoverCommand(),
		newSecretPurgeCommand(),
		newSecretBackupCommand(),
		newSecretRestoreCommand(),
		newSecretDownloadCommand(),
	)
	return cmd
}

// The JSON az prints for secrets (az's keyvault _transformers.py): the base properties
// {attributes, contentType, id, managed, name, tags}; set, show, set-attributes, recover
// and restore add kid and value (null but for set and show); the deleted forms add
// deletedDate, recoveryId and scheduledPurgeDate.

func secretAttrsJSON(a *azsecrets.SecretAttributes) any {
	if a == nil {
		return nil
	}
	return map[string]any{
		"created":         azDate(a.Created),
		"enabled":         orNil(a.Enabled),
		"expires":         azDate(a.Expires),
		"notBefore":       azDate(a.NotBefore),
		"recoverableDays": orNil(a.RecoverableDays),
		"recoveryLevel":   orNil(a.RecoveryLevel),
		"updated":         azDate(a.Updated),
	}
}

func secretBaseJSON(a *azsecrets.SecretAttributes, contentType *string, id *azsecrets.ID, managed *bool, tags map[string]*string) map[string]any {
	m := map[string]any{
		"attributes":  secretAttrsJSON(a),
		"contentType": orNil(contentType),
		"id":          nil,
		"managed":     orNil(managed),
		"name":        nil,
		"tags":        tagsJSON(tags),
	}
	if id != nil {
		m["id"], m["name"] = string(*id), id.Name()
	}
	return m
}

func idJSON(id *azsecrets.ID) any {
	if id == nil {
		return nil
	}
	return string(*id)
}

// secretJSON is secret set / show (withValue) or set-attributes / recover / restore.
func secretJSON(s azsecrets.Secret, withValue bool) map[string]any {
	m := secretBaseJSON(s.Attributes, s.ContentType, s.ID, s.Managed, s.Tags)
	m["kid"], m["value"] = idJSON(s.KID), nil
	if withValue {
		m["value"] = orNil(s.Value)
	}
	return m
}

func deletedSecretJSON(d azsecrets.DeletedSecret) map[string]any {
	m := secretBaseJSON(d.Attributes, d.ContentType, d.ID, d.Managed, d.Tags)
	m["kid"], m["value"] = idJSON(d.KID), nil
	m["deletedDate"], m["recoveryId"], m["scheduledPurgeDate"] = azDate(d.DeletedDate), orNil(d.RecoveryID), azDate(d.ScheduledPurgeDate)
	return m
}

func deletedSecretItemJSON(d *azsecrets.DeletedSecretProperties) map[string]any {
	m := secretBaseJSON(d.Attributes, d.ContentType, d.ID, d.Managed, d.Tags)
	m["deletedDate"], m["recoveryId"], m["scheduledPurgeDate"] = azDate(d.DeletedDate), orNil(d.RecoveryID), azDate(d.ScheduledPurgeDate)
	return m
}

// Tables of -o table / tsv.

func secretsTable(items []map[string]any) func() table {
	return mapTable(items, [2]string{"Name", "name"}, [2]string{"Enabled", "attributes.enabled"}, [2]string{"ContentType", "contentType"},
		[2]string{"Expires", "attributes.expires"}, [2]string{"Updated", "attributes.updated"}, [2]string{"Id", "id"})
}

func secretValueTable(items []map[string]any) func() table {
	return mapTable(items, [2]string{"Name", "name"}, [2]string{"Enabled", "attributes.enabled"}, [2]string{"ContentType", "contentType"},
		[2]string{"Id", "id"}, [2]string{"Value", "value"})
}

// deletedTable is -o table for deleted secrets, keys and certificates.
func deletedTable(items []map[string]any, idKey string) func() table {
	return mapTable(items, [2]string{"Name", "name"}, [2]string{"DeletedDate", "deletedDate"}, [2]string{"ScheduledPurgeDate", "scheduledPurgeDate"},
		[2]string{"RecoveryLevel", "attributes.recoveryLevel"}, [2]string{"Id", idKey})
}

// noteDeleted tells, on stderr, until when a deleted object can be recovered and how.
func noteDeleted(cmd *cobra.Command, kind, vault, name string, purge *time.Time) {
	d := &deletedObject{kind: kind, vault: vault, name: name, purgeDate: purge}
	fmt.Fprintf(cmd.ErrOrStderr(), "coffer: hint: %s %s is deleted; it can be recovered until %s: %s\n", kind, name, humanDate(purge), d.command("recover"))
}

// runSecrets builds the client and the vault's azsecrets client and runs f.
func runSecrets(cmd *cobra.Command, o *clientOptions, vault string, f func(ctx context.Context, c *client, sc *azsecrets.Client) error) error {
	c, err := newClient(o)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	sc, err := c.secretsClient(ctx, vault)
	if err != nil {
		return err
	}
	return f(ctx, c, sc)
}
