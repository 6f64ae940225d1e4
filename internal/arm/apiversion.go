package arm

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// oldestKeyVaultVersion is the oldest Microsoft.KeyVault api-version Coffer serves (az
// 2.45 sends it; armkeyvault v1.5 sends 2024-11-01). Every later date is accepted too,
// so SDKs released after Coffer keep working.
const oldestKeyVaultVersion = "2022-07-01"

// keyVaultVersions are the Microsoft.KeyVault api-versions the provider document lists,
// newest first as Resource Manager lists them: Azure's published versions from
// oldestKeyVaultVersion on whose vault semantics Coffer follows. Clients that do not
// name a version (az resource) take the first stable one here. Later dates are
// accepted but not listed: from rbacByDefaultVersion on, Azure makes a vault created
// without enableRbacAuthorization an RBAC vault (Coffer does too, for such a version),
// and a client that does not name a version should not get that change because Coffer
// advertised it.
var keyVaultVersions = []string{
	"2025-05-01",
	"2024-12-01-preview",
	"2024-11-01",
	"2024-04-01-preview",
	"2023-07-01",
	"2023-02-01",
	"2022-11-01",
	oldestKeyVaultVersion,
}

// rbacByDefaultVersion is the first Microsoft.KeyVault api-version under which a vault
// created without enableRbacAuthorization is an RBAC vault.
const rbacByDefaultVersion = "2026-02-01"

// rbacByDefault reports whether api-version v creates RBAC vaults by default.
func rbacByDefault(v string) bool {
	date, ok := parseVersion(v)
	first, _ := parseVersion(rbacByDefaultVersion)
	return ok && !date.Before(first)
}

// parseVersion reads an ARM api-version: YYYY-MM-DD, a real date, optionally followed
// by "-preview". ok is false for anything else.
func parseVersion(v string) (date time.Time, ok bool) {
	d := strings.TrimSuffix(v, "-preview")
	if len(d) != len("2006-01-02") {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02", d)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// checkAPIVersion applies a route's api-version rule to the request's query.
func checkAPIVersion(kind apiKind, q url.Values) error {
	vs, present := q["api-version"]
	if !present || len(vs) == 0 || vs[0] == "" {
		return &armError{http.StatusBadRequest, "MissingApiVersionParameter",
			"The api-version query parameter (?api-version=) is required for all requests."}
	}
	v := vs[0]
	date, ok := parseVersion(v)
	switch kind {
	case apiKeyVault:
		oldest, _ := parseVersion(oldestKeyVaultVersion)
		if ok && !date.Before(oldest) {
			return nil
		}
		return &armError{http.StatusBadRequest, "InvalidApiVersionParameter",
			"The api-version '" + echo(v) + "' is invalid. The supported versions are '" + oldestKeyVaultVersion +
				"' and every later date in the form YYYY-MM-DD, optionally with -preview (e.g. '2024-11-01')."}
	default:
		if ok {
			return nil
		}
		return &armError{http.StatusBadRequest, "InvalidApiVersionParameter",
			"The api-version '" + echo(v) + "' is invalid. Use a date in the form YYYY-MM-DD, optionally with -preview (e.g. '2019-11-01')."}
	}
}
