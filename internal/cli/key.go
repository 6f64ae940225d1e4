package cli

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newKeyCommand() *cobra.Command {
	return keyKind.group(cmdHelp{
		short: "Manage keys and use them (as az keyvault key)",
		long: `Manage the keys of a vault and use them to sign, verify, encrypt and decrypt, as az
keyvault key does, through Microsoft's azkeys SDK. -o json prints what az prints. A deleted
key stays recoverable until its scheduledPurgeDate: coffer key list-deleted, recover, purge.`,
	}, newKeyCreateCommand(), newKeyImportCommand(), newKeyRotateCommand(),
		newKeySignCommand(), newKeyVerifyCommand(), newKeyEncryptCommand(), newKeyDecryptCommand())
}

// The JSON az prints for keys: a key is
// {attributes, key, managed, releasePolicy, tags}, its JSON web key with every field and
// binary fields in standard base64; list items are {attributes, kid, managed, name,
// tags}; the deleted forms add deletedDate, recoveryId and scheduledPurgeDate.

func keyAttrsJSON(a *azkeys.KeyAttributes) any {
	if a == nil {
		return nil
	}
	return map[string]any{
		"created":         azDate(a.Created),
		"enabled":         orNil(a.Enabled),
		"expires":         azDate(a.Expires),
		"exportable":      orNil(a.Exportable),
		"hsmPlatform":     orNil(a.HSMPlatform),
		"notBefore":       azDate(a.NotBefore),
		"recoverableDays": orNil(a.RecoverableDays),
		"recoveryLevel":   orNil(a.RecoveryLevel),
		"updated":         azDate(a.Updated),
	}
}

func jwkJSON(k *azkeys.JSONWebKey) any {
	if k == nil {
		return nil
	}
	var ops any
	if k.KeyOps != nil {
		l := []string{}
		for _, op := range k.KeyOps {
			if op != nil {
				l = append(l, string(*op))
			}
		}
		ops = l
	}
	m := map[string]any{
		"crv": orNil(k.Crv), "d": b64(k.D), "dp": b64(k.DP), "dq": b64(k.DQ), "e": b64(k.E), "k": b64(k.K),
		"keyOps": ops, "kid": nil, "kty": orNil(k.Kty), "n": b64(k.N), "p": b64(k.P), "q": b64(k.Q),
		"qi": b64(k.QI), "t": b64(k.T), "x": b64(k.X), "y": b64(k.Y),
	}
	if k.KID != nil {
		m["kid"] = string(*k.KID)
	}
	return m
}

func releasePolicyJSON(p *azkeys.KeyReleasePolicy) any {
	if p == nil {
		return nil
	}
	return map[string]any{"contentType": orNil(p.ContentType), "encodedPolicy": b64(p.EncodedPolicy), "immutable": orNil(p.Immutable)}
}

func keyJSON(k azkeys.KeyBundle) map[string]any {
	return map[string]any{
		"attributes":    keyAttrsJSON(k.Attributes),
		"key":           jwkJSON(k.Key),
		"managed":       orNil(k.Managed),
		"releasePolicy": releasePolicyJSON(k.ReleasePolicy),
		"tags":          tagsJSON(k.Tags),
	}
}

func deletedKeyJSON(d azkeys.DeletedKey) map[string]any {
	m := keyJSON(azkeys.KeyBundle{Attributes: d.Attributes, Key: d.Key, Managed: d.Managed, ReleasePolicy: d.ReleasePolicy, Tags: d.Tags})
	m["deletedDate"], m["recoveryId"], m["scheduledPurgeDate"] = azDate(d.DeletedDate), orNil(d.RecoveryID), azDate(d.ScheduledPurgeDate)
	return m
}

func keyItemJSON(a *azkeys.KeyAttributes, kid *azkeys.ID, managed *bool, tags map[string]*string) map[string]any {
	m := map[string]any{"attributes": keyAttrsJSON(a), "kid": nil, "managed": orNil(managed), "name": nil, "tags": tagsJSON(tags)}
	if kid != nil {
		m["kid"], m["name"] = string(*kid), kid.Name()
	}
	return m
}

func deletedKeyObject(d azkeys.DeletedKey) *deletedObject {
	return deletedForm(deletedKeyJSON(d), d.DeletedDate, d.ScheduledPurgeDate)
}

// keyPropsJSON is a list item: a version's properties.
func keyPropsJSON(p *azkeys.KeyProperties) map[string]any {
	return keyItemJSON(p.Attributes, p.KID, p.Managed, p.Tags)
}

func deletedKeyItemJSON(d *azkeys.DeletedKeyProperties) map[string]any {
	m := keyItemJSON(d.Attributes, d.KID, d.Managed, d.Tags)
	m["deletedDate"], m["recoveryId"], m["scheduledPurgeDate"] = azDate(d.DeletedDate), orNil(d.RecoveryID), azDate(d.ScheduledPurgeDate)
	return m
}

// The -o table columns of keys: a key; a list item; one deleted key, which az prints
// without a name.
var (
	keyColumns = columns{{"Kid", "key.kid"}, {"Kty", "key.kty"}, {"Enabled", "attributes.enabled"},
		{"Expires", "attributes.expires"}, {"RecoveryLevel", "attributes.recoveryLevel"}}
	keyItemColumns = columns{{"Name", "name"}, {"Enabled", "attributes.enabled"}, {"Expires", "attributes.expires"},
		{"Updated", "attributes.updated"}, {"Kid", "kid"}}
	deletedKeyColumns = columns{{"Kid", "key.kid"}, {"DeletedDate", "deletedDate"}, {"ScheduledPurgeDate", "scheduledPurgeDate"},
		{"RecoveryLevel", "attributes.recoveryLevel"}, {"RecoveryId", "recoveryId"}}
)

// keyKind is the row of keys for the lifecycle verbs.
var keyKind = &kind{
	name:   kindKey,
	sample: "signing",
	open:   bind((*client).keysClient, keyCalls),

	itemColumns:    keyItemColumns,
	showColumns:    keyColumns,
	objectColumns:  keyColumns,
	deletedColumns: deletedKeyColumns,

	listFlag:      "include-managed",
	listFlagUsage: "also list the keys that back certificates",

	purgeLong: `Remove a deleted key and all its versions for good, and free its name. This cannot be
undone: what the key encrypted can no longer be decrypted. Under purge protection the key
cannot be purged: the command says when Coffer purges it by itself.`,
	purgeQuestion: "and all its versions: what it encrypted can no longer be decrypted",

	help: map[string]cmdHelp{
		"show": {
			short: "Show a key's public part and attributes (as az keyvault key show)",
			long: `Show a key's latest version, or --version, as az prints it: the public JSON web key
(n/e or crv/x/y) and the attributes. A deleted key is reported with the date it will be
purged and the commands that recover or purge it.`,
			example: `  coffer key show --vault-name myvault --name signing
  coffer key show --id https://myvault.localhost:8443/keys/signing/0123456789abcdef`,
		},
	},
}

// keyCalls are the lifecycle verbs' calls of azkeys.
func keyCalls(kc *azkeys.Client) objectCalls {
	return objectCalls{
		get: func(ctx context.Context, name, version string) (map[string]any, error) {
			r, err := kc.GetKey(ctx, name, version, nil)
			return keyJSON(r.KeyBundle), err
		},
		list: func(ctx context.Context, includeManaged bool, max maxResults) ([]map[string]any, error) {
			return collect(ctx, kc.NewListKeyPropertiesPager(nil), max, func(page azkeys.ListKeyPropertiesResponse) []map[string]any {
				return each(page.Value, func(p *azkeys.KeyProperties) map[string]any {
					if !includeManaged && isTrue(p.Managed) {
						return nil
					}
					return keyPropsJSON(p)
				})
			})
		},
		listVersions: func(ctx context.Context, name string, max maxResults) ([]map[string]any, error) {
			return collect(ctx, kc.NewListKeyPropertiesVersionsPager(name, nil), max, func(page azkeys.ListKeyPropertiesVersionsResponse) []map[string]any {
				return each(page.Value, keyPropsJSON)
			})
		},
		listDeleted: func(ctx context.Context, max maxResults) ([]map[string]any, error) {
			return collect(ctx, kc.NewListDeletedKeyPropertiesPager(nil), max, func(page azkeys.ListDeletedKeyPropertiesResponse) []map[string]any {
				return each(page.Value, deletedKeyItemJSON)
			})
		},
		delete: func(ctx context.Context, name string) (*deletedObject, error) {
			r, err := kc.DeleteKey(ctx, name, nil)
			return deletedKeyObject(r.DeletedKey), err
		},
		getDeleted: func(ctx context.Context, name string) (*deletedObject, error) {
			r, err := kc.GetDeletedKey(ctx, name, nil)
			return deletedKeyObject(r.DeletedKey), err
		},
		recover: func(ctx context.Context, name string) (map[string]any, error) {
			r, err := kc.RecoverDeletedKey(ctx, name, nil)
			return keyJSON(r.KeyBundle), err
		},
		purge: func(ctx context.Context, name string) error {
			_, err := kc.PurgeDeletedKey(ctx, name, nil)
			return err
		},
		backup: func(ctx context.Context, name string) ([]byte, error) {
			r, err := kc.BackupKey(ctx, name, nil)
			return r.Value, err
		},
		restore: func(ctx context.Context, blob []byte) (map[string]any, error) {
			r, err := kc.RestoreKey(ctx, azkeys.RestoreKeyParameters{KeyBackup: blob}, nil)
			return keyJSON(r.KeyBundle), err
		},
	}
}

// keyPropFlags are the flags of key create and key import beside the key itself: --ops,
// --exportable, the attributes and --tags.
type keyPropFlags struct {
	propFlags
	Ops        []string
	Exportable bool
	fs         *pflag.FlagSet
}

func (o *keyPropFlags) AddFlags(fs *pflag.FlagSet, opsUsage string) {
	o.fs = fs
	fs.StringSliceVar(&o.Ops, "ops", nil, opsUsage)
	fs.BoolVar(&o.Exportable, "exportable", false, "whether the private key can be exported")
	o.propFlags.AddFlags(fs, false)
}

// parse returns what the flags set: the permitted operations, the attributes (nil when
// none is given) and the tags.
func (o *keyPropFlags) parse() (ops []*azkeys.KeyOperation, attrs *azkeys.KeyAttributes, tags map[string]*string, err error) {
	if ops, err = keyOpsFlag(o.Ops); err != nil {
		return nil, nil, nil, err
	}
	a, tags, err := o.propFlags.parse()
	if err != nil {
		return nil, nil, nil, err
	}
	if a.any() || o.fs.Changed("exportable") {
		attrs = &azkeys.KeyAttributes{Enabled: a.Enabled, Expires: a.Expires, NotBefore: a.NotBefore}
		if o.fs.Changed("exportable") {
			attrs.Exportable = ptr(o.Exportable)
		}
	}
	return ops, attrs, tags, nil
}

// keyOpsFlag parses az's --ops: operations, comma- or space-separated.
func keyOpsFlag(raw []string) ([]*azkeys.KeyOperation, error) {
	if raw == nil {
		return nil, nil
	}
	valid := azkeys.PossibleKeyOperationValues()
	out := []*azkeys.KeyOperation{}
	for _, r := range raw {
		for _, w := range strings.Fields(r) {
			found := false
			for _, v := range valid {
				if strings.EqualFold(string(v), w) {
					out = append(out, ptr(v))
					found = true
					break
				}
			}
			if !found {
				return nil, &hintError{code: exitUsage, err: fmt.Errorf("--ops: unknown operation %q", w), hints: []string{"valid: " + enumList(valid)}}
			}
		}
	}
	return out, nil
}

// decodeB64 reads a base64 flag (standard or URL alphabet, padding optional).
func decodeB64(flag, s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, &hintError{code: exitUsage, err: fmt.Errorf("--%s is not base64", flag)}
}
