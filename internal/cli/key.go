package cli

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/spf13/cobra"
)

func newKeyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Manage keys and use them (as az keyvault key)",
		Long: `Manage the keys of a vault and use them to sign, verify, encrypt and decrypt, as az
keyvault key does, through Microsoft's azkeys SDK. -o json prints what az prints. A deleted
key stays recoverable until its scheduledPurgeDate: coffer key list-deleted, recover, purge.`,
	}
	cmd.AddCommand(
		newKeyCreateCommand(),
		newKeyImportCommand(),
		newKeyShowCommand(),
		newKeyListCommand(),
		newKeyListVersionsCommand(),
		newKeyDeleteCommand(),
		newKeyListDeletedCommand(),
		newKeyShowDeletedCommand(),
		newKeyRecoverCommand(),
		newKeyPurgeCommand(),
		newKeyBackupCommand(),
		newKeyRestoreCommand(),
		newKeyRotateCommand(),
		newKeySignCommand(),
		newKeyVerifyCommand(),
		newKeyEncryptCommand(),
		newKeyDecryptCommand(),
	)
	return cmd
}

// The JSON az prints for keys (az's keyvault transform_key_output): a key is
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

func deletedKeyItemJSON(d *azkeys.DeletedKeyProperties) map[string]any {
	m := keyItemJSON(d.Attributes, d.KID, d.Managed, d.Tags)
	m["deletedDate"], m["recoveryId"], m["scheduledPurgeDate"] = azDate(d.DeletedDate), orNil(d.RecoveryID), azDate(d.ScheduledPurgeDate)
	return m
}

// deletedKeyTable is -o table for one deleted key, which az prints without a name.
func deletedKeyTable(items []map[string]any) func() table {
	return mapTable(items, [2]string{"Kid", "key.kid"}, [2]string{"DeletedDate", "deletedDate"}, [2]string{"ScheduledPurgeDate", "scheduledPurgeDate"},
		[2]string{"RecoveryLevel", "attributes.recoveryLevel"}, [2]string{"RecoveryId", "recoveryId"})
}

func keyTable(items []map[string]any) func() table {
	return mapTable(items, [2]string{"Kid", "key.kid"}, [2]string{"Kty", "key.kty"}, [2]string{"Enabled", "attributes.enabled"},
		[2]string{"Expires", "attributes.expires"}, [2]string{"RecoveryLevel", "attributes.recoveryLevel"})
}

func keysTable(items []map[string]any) func() table {
	return mapTable(items, [2]string{"Name", "name"}, [2]string{"Enabled", "attributes.enabled"}, [2]string{"Expires", "attributes.expires"},
		[2]string{"Updated", "attributes.updated"}, [2]string{"Kid", "kid"})
}

// runKeys builds the client and the vault's azkeys client and runs f.
func runKeys(cmd *cobra.Command, o *clientOptions, vault string, f func(ctx context.Context, c *client, kc *azkeys.Client) error) error {
	c, err := newClient(o)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	kc, err := c.keysClient(ctx, vault)
	if err != nil {
		return err
	}
	return f(ctx, c, kc)
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
