package identity

import (
	"errors"
	"fmt"
	"strings"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/kvjson"
)

// OwnsKey reports whether key is one of identity's records: the tenant, the token-signing
// keys, the principals.
func OwnsKey(key string) bool {
	return key == keyTenant || key == keyTokenKeys || strings.HasPrefix(key, prefixPrincipals)
}

// Problem is one way identity's records are damaged (see [CheckRecords]).
type Problem struct {
	Key     string
	Affects string // for a person: "the tenant and its administrator", "principal N", …
	Text    string
}

// CheckRecords reads identity's records in tx (the barrier: they are sealed) and reports
// what a start would fail on or a sign-in would miss: a record that does not open or
// decode, a tenant without its administrator or signing key, a principal stored under
// another id, a signing key that does not parse. keys are the storage keys present that
// identity owns (see [OwnsKey]), listed below the barrier, so that each principal is read
// on its own and one that does not open is named.
func CheckRecords(tx storage.Tx, keys []string) []Problem {
	var out []Problem
	fail := func(key, affects, format string, args ...any) {
		out = append(out, Problem{Key: key, Affects: affects, Text: fmt.Sprintf(format, args...)})
	}
	const tenantAffects = "the tenant: every token and sign-in"
	var tr tenantRecord
	tenantOK := false
	switch err := kvjson.Get(tx, keyTenant, &tr); {
	case errors.Is(err, storage.ErrNotFound):
		fail(keyTenant, tenantAffects, "missing: the next start would make a new tenant, administrator and signing key, and no token issued before would be accepted")
	case err != nil:
		fail(keyTenant, tenantAffects, "does not open or decode: %v", err)
	default:
		tenantOK = true
	}
	var signing tokenKeysRecord
	switch err := kvjson.Get(tx, keyTokenKeys, &signing); {
	case err != nil:
		fail(keyTokenKeys, "the token-signing keys: every token", "does not open or decode: %v", err)
	case len(signing.Keys) == 0:
		fail(keyTokenKeys, "the token-signing keys: every token", "holds no key")
	default:
		for _, k := range signing.Keys {
			if _, err := parseKey(k.PEM); err != nil {
				fail(keyTokenKeys, "the token-signing keys: every token", "key %s does not parse: %v", k.Kid, err)
			}
		}
	}
	admin := false
	for _, key := range keys {
		id, ok := strings.CutPrefix(key, prefixPrincipals)
		if !ok {
			continue
		}
		affects := "principal " + id
		var rec principalRecord
		if err := kvjson.Get(tx, key, &rec); err != nil {
			fail(key, affects, "does not open or decode: %v", err)
			continue
		}
		if rec.ClientID != id {
			fail(key, affects, "holds principal %q", rec.ClientID)
		}
		if len(rec.SecretHash) != 32 {
			fail(key, affects, "its secret hash is %d bytes, not 32: it cannot sign in", len(rec.SecretHash))
		}
		admin = admin || (tenantOK && id == tr.AdminClientID)
	}
	if tenantOK && !admin {
		fail(prefixPrincipals+tr.AdminClientID, "the administrator", "the tenant's administrator %s is missing or does not open: the server does not start without it", tr.AdminClientID)
	}
	return out
}
