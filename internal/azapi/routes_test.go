package azapi

import (
	"slices"
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/authz"
)

func TestMatch(t *testing.T) {
	cases := []struct {
		method, path, op, name, version string
	}{
		{"GET", "/secrets", "ListSecrets", "", ""},
		{"GET", "/secrets/", "ListSecrets", "", ""},
		{"GET", "/secrets/n", "GetSecret", "n", ""},
		{"GET", "/secrets/n/", "GetSecret", "n", ""},
		{"GET", "/secrets/n/0123456789abcdef0123456789abcdef", "GetSecret", "n", "0123456789abcdef0123456789abcdef"},
		{"PATCH", "/secrets/n/", "UpdateSecret", "n", ""},
		{"GET", "/secrets/n/versions", "ListSecretVersions", "n", ""},
		{"POST", "/secrets/n/backup", "BackupSecret", "n", ""},
		{"POST", "/secrets/restore", "RestoreSecret", "", ""},
		{"PUT", "/secrets/restore", "SetSecret", "restore", ""},
		{"DELETE", "/deletedsecrets/n", "PurgeDeletedSecret", "n", ""},
		{"POST", "/deletedsecrets/n/recover", "RecoverDeletedSecret", "n", ""},
		{"GET", "/DeletedSecrets/n", "GetDeletedSecret", "n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			rt, params, err := match(tc.method, tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if rt.op != tc.op || params["name"] != tc.name || params["version"] != tc.version {
				t.Fatalf("got %s %v", rt.op, params)
			}
		})
	}
	for _, bad := range []string{"/", "/nothing", "/secrets/a/b/c", "/secrets/%zz"} {
		if _, _, err := match("GET", bad); err == nil {
			t.Errorf("%s matched", bad)
		}
	}
	if _, _, err := match("POST", "/secrets/n"); err == nil || !strings.Contains(err.Error(), "405") {
		t.Errorf("POST /secrets/n: %v", err)
	}
}

func TestAPIVersion(t *testing.T) {
	for v, want := range map[string]bool{
		"2026-04-01": true, "2025-07-01": true, "7.0": true, "7.6": true, "7.4-preview.1": true, "7.12": true,
		"2031-02-03-preview": true, "2025-01-01": true,
		"": false, "6.0": false, "0.1": false, "1.0-bogus": false, "2016-10-01": false, "2025-13-01": false,
		"7.": false, "7.x": false, "7.6-preview.": false, "7.6-previewx": false, "2025-07-01-preview.1a": false, "7.+1": false,
	} {
		if got := validAPIVersion(v); got != want {
			t.Errorf("%q: %v, want %v", v, got, want)
		}
	}
}

func FuzzMatch(f *testing.F) {
	for _, s := range []string{"/secrets", "/secrets/n/", "/secrets/n/v", "/deletedsecrets/n/recover", "//", "/secrets/%2F", "/secrets/n/versions/x"} {
		f.Add("GET", s)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		rt, params, err := match(method, path)
		if err == nil && (rt == nil || rt.method != method) {
			t.Fatalf("bad match for %s %s", method, path)
		}
		_ = params
	})
}

func FuzzAPIVersion(f *testing.F) {
	for _, s := range []string{"7.6", "2026-04-01", "7.4-preview.1", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) { validAPIVersion(v) })
}

// TestEveryRouteHasAPermission: a route without a permission would be open to every
// principal with a token.
func TestEveryRouteHasAPermission(t *testing.T) {
	for _, rt := range routes {
		kind, perm, ok := strings.Cut(rt.perm, "/")
		valid := authz.Valid[kind]
		if !ok || !slices.ContainsFunc(valid, func(v string) bool { return strings.EqualFold(v, perm) }) || perm == "all" {
			t.Errorf("%s %s: permission %q is not an Azure %s permission", rt.method, rt.pattern, rt.perm, kind)
		}
	}
}
