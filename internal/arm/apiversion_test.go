package arm

import (
	"net/url"
	"testing"
)

func TestARMAPIVersion(t *testing.T) {
	for _, tc := range []struct {
		name  string
		kind  apiKind
		query string
		code  string // "" when accepted
	}{
		{"ok/armkeyvault", apiKeyVault, "api-version=2024-11-01", ""},
		{"ok/az-2.45", apiKeyVault, "api-version=2022-07-01", ""},
		{"ok/newer", apiKeyVault, "api-version=2031-12-31", ""},
		{"ok/preview", apiKeyVault, "api-version=2025-02-01-preview", ""},
		{"fail/older", apiKeyVault, "api-version=2022-06-30", "InvalidApiVersionParameter"},
		{"fail/older-preview", apiKeyVault, "api-version=2021-04-01-preview", "InvalidApiVersionParameter"},
		{"fail/data-plane-version", apiKeyVault, "api-version=7.4", "InvalidApiVersionParameter"},
		{"fail/not-a-date", apiKeyVault, "api-version=2024-13-01", "InvalidApiVersionParameter"},
		{"fail/other-suffix", apiKeyVault, "api-version=2024-11-01-beta", "InvalidApiVersionParameter"},
		{"fail/preview-number", apiKeyVault, "api-version=2024-11-01-preview.1", "InvalidApiVersionParameter"},
		{"fail/short-date", apiKeyVault, "api-version=2024-1-01", "InvalidApiVersionParameter"},
		{"fail/missing", apiKeyVault, "", "MissingApiVersionParameter"},
		{"fail/empty", apiKeyVault, "api-version=", "MissingApiVersionParameter"},
		{"ok/generic-old", apiGeneric, "api-version=2015-11-01", ""},
		{"ok/generic-subscriptions", apiGeneric, "api-version=2019-11-01", ""},
		{"ok/generic-preview", apiGeneric, "api-version=2016-06-01-preview", ""},
		{"fail/generic-bogus", apiGeneric, "api-version=latest", "InvalidApiVersionParameter"},
		{"fail/generic-missing", apiGeneric, "", "MissingApiVersionParameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			err := checkAPIVersion(tc.kind, q)
			switch {
			case tc.code == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.code != "" && (err == nil || err.(*armError).code != tc.code || err.(*armError).status != 400):
				t.Fatalf("got %v, want 400 %s", err, tc.code)
			}
		})
	}
}

// FuzzParseVersion: parseVersion accepts exactly YYYY-MM-DD[-preview] with a real date,
// and what it accepts prints back the same.
func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"2024-11-01", "2022-07-01-preview", "7.4", "2024-02-30", "", "2024-11-01-preview-preview", "+024-11-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseVersion(s)
		if !ok {
			return
		}
		back := d.Format("2006-01-02")
		if s != back && s != back+"-preview" {
			t.Fatalf("%q parsed as %s", s, back)
		}
	})
}
