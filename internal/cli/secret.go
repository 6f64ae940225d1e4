package cli

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/spf13/cobra"
)

func newSecretCommand() *cobra.Command {
	return secretKind.group(cmdHelp{
		short: "Manage secrets (as az keyvault secret)",
		long: `Manage the secrets of a vault, as az keyvault secret does, through Microsoft's azsecrets
SDK. -o json prints what az prints. A deleted secret stays recoverable until its
scheduledPurgeDate: coffer secret list-deleted, recover, purge.`,
	}, newSecretSetCommand(), newSecretSetAttributesCommand(), newSecretDownloadCommand())
}

// The JSON az prints for secrets: the base properties
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

func deletedSecretObject(d azsecrets.DeletedSecret) *deletedObject {
	return deletedForm(deletedSecretJSON(d), d.DeletedDate, d.ScheduledPurgeDate)
}

// secretPropsJSON is a list item: a version's properties.
func secretPropsJSON(p *azsecrets.SecretProperties) map[string]any {
	return secretBaseJSON(p.Attributes, p.ContentType, p.ID, p.Managed, p.Tags)
}

func deletedSecretItemJSON(d *azsecrets.DeletedSecretProperties) map[string]any {
	m := secretBaseJSON(d.Attributes, d.ContentType, d.ID, d.Managed, d.Tags)
	m["deletedDate"], m["recoveryId"], m["scheduledPurgeDate"] = azDate(d.DeletedDate), orNil(d.RecoveryID), azDate(d.ScheduledPurgeDate)
	return m
}

// The -o table columns of secrets: a version's properties; a version with its value.
var (
	secretItemColumns = columns{{"Name", "name"}, {"Enabled", "attributes.enabled"}, {"ContentType", "contentType"},
		{"Expires", "attributes.expires"}, {"Updated", "attributes.updated"}, {"Id", "id"}}
	secretValueColumns = columns{{"Name", "name"}, {"Enabled", "attributes.enabled"}, {"ContentType", "contentType"},
		{"Id", "id"}, {"Value", "value"}}
)

// secretKind is the row of secrets for the lifecycle verbs.
var secretKind = &kind{
	name:   kindSecret,
	sample: "db-password",
	open:   bind((*client).secretsClient, secretCalls),

	itemColumns:    secretItemColumns,
	showColumns:    secretValueColumns,
	objectColumns:  secretItemColumns,
	deletedColumns: deletedListColumns,

	listFlag:      "include-managed",
	listFlagUsage: "also list the secrets that back certificates",

	purgeLong: `Remove a deleted secret and all its versions for good, as az keyvault secret purge
does, and free its name. This cannot be undone. Under purge protection the secret cannot be
purged: the command says when Coffer purges it by itself.`,
	purgeQuestion: "and all its versions",

	help: map[string]cmdHelp{
		"show": {
			short: "Show a secret with its value (as az keyvault secret show)",
			long: `Show a secret's latest version, or --version, with its value, as az prints it. A secret
that is deleted is reported with the date it will be purged and the commands that recover
or purge it.`,
			example: `  coffer secret show --vault-name myvault --name db-password
  coffer secret show --vault-name myvault -n db-password -o tsv
  coffer secret show --id https://myvault.localhost:8443/secrets/db-password/0123456789abcdef`,
		},
		"list": {short: "List a vault's secrets, without values (as az keyvault secret list)"},
		"list-versions": {
			short: "List the versions of a secret, without values (as az keyvault secret list-versions)",
			example: `  coffer secret list-versions --vault-name myvault --name db-password
  coffer secret list-versions --vault-name myvault -n db-password -o table`,
		},
		"delete": {long: `Soft-delete a secret with all its versions and print the deleted secret as az does
(deletedDate, recoveryId, scheduledPurgeDate). Until its scheduledPurgeDate it can be
recovered (coffer secret recover), and its name cannot be reused.`},
		"show-deleted": {
			short: "Show a deleted secret, without its value (as az keyvault secret show-deleted)",
			example: `  coffer secret show-deleted --vault-name myvault --name db-password
  coffer secret show-deleted --id https://myvault.localhost:8443/deletedsecrets/db-password`,
		},
		"backup": {
			short: "Write a secret's backup blob, all versions, to a file (as az keyvault secret backup)",
			long: `Write the secret's backup blob (all versions; opaque and integrity-protected, no value
in clear) to --file. The file must not exist yet, so that no backup is overwritten by
mistake. coffer secret restore brings the secret back from it.`,
		},
		"restore": {long: `Restore a secret with all its versions and their ids from a backup blob, as az does.
The name must be free: not used by a live secret nor held by a deleted one.`},
	},
}

// secretCalls are the lifecycle verbs' calls of azsecrets.
func secretCalls(sc *azsecrets.Client) objectCalls {
	return objectCalls{
		get: func(ctx context.Context, name, version string) (map[string]any, error) {
			r, err := sc.GetSecret(ctx, name, version, nil)
			return secretJSON(r.Secret, true), err
		},
		list: func(ctx context.Context, includeManaged bool, max maxResults) ([]map[string]any, error) {
			return collect(ctx, sc.NewListSecretPropertiesPager(nil), max, func(page azsecrets.ListSecretPropertiesResponse) []map[string]any {
				return each(page.Value, func(p *azsecrets.SecretProperties) map[string]any {
					if !includeManaged && isTrue(p.Managed) {
						return nil
					}
					return secretPropsJSON(p)
				})
			})
		},
		listVersions: func(ctx context.Context, name string, max maxResults) ([]map[string]any, error) {
			return collect(ctx, sc.NewListSecretPropertiesVersionsPager(name, nil), max, func(page azsecrets.ListSecretPropertiesVersionsResponse) []map[string]any {
				return each(page.Value, secretPropsJSON)
			})
		},
		listDeleted: func(ctx context.Context, max maxResults) ([]map[string]any, error) {
			return collect(ctx, sc.NewListDeletedSecretPropertiesPager(nil), max, func(page azsecrets.ListDeletedSecretPropertiesResponse) []map[string]any {
				return each(page.Value, deletedSecretItemJSON)
			})
		},
		delete: func(ctx context.Context, name string) (*deletedObject, error) {
			r, err := sc.DeleteSecret(ctx, name, nil)
			return deletedSecretObject(r.DeletedSecret), err
		},
		getDeleted: func(ctx context.Context, name string) (*deletedObject, error) {
			r, err := sc.GetDeletedSecret(ctx, name, nil)
			return deletedSecretObject(r.DeletedSecret), err
		},
		recover: func(ctx context.Context, name string) (map[string]any, error) {
			r, err := sc.RecoverDeletedSecret(ctx, name, nil)
			return secretJSON(r.Secret, false), err
		},
		purge: func(ctx context.Context, name string) error {
			_, err := sc.PurgeDeletedSecret(ctx, name, nil)
			return err
		},
		backup: func(ctx context.Context, name string) ([]byte, error) {
			r, err := sc.BackupSecret(ctx, name, nil)
			return r.Value, err
		},
		restore: func(ctx context.Context, blob []byte) (map[string]any, error) {
			r, err := sc.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: blob}, nil)
			return secretJSON(r.Secret, false), err
		},
	}
}
