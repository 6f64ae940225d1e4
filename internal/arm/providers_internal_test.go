package arm

import (
	"net/url"
	"strings"
	"testing"
)

// TestARMProviderVersions: every version the provider document lists is accepted by the
// Microsoft.KeyVault routes, newest first, the oldest last; none is one whose vault
// semantics Coffer does not follow.
func TestARMProviderVersions(t *testing.T) {
	seen := map[string]bool{}
	for i, v := range keyVaultVersions {
		if err := checkAPIVersion(apiKeyVault, url.Values{"api-version": {v}}); err != nil {
			t.Errorf("%s is listed but refused: %v", v, err)
		}
		if seen[v] {
			t.Errorf("%s is listed twice", v)
		}
		seen[v] = true
		if i > 0 {
			prev, _ := parseVersion(keyVaultVersions[i-1])
			cur, _ := parseVersion(v)
			if !cur.Before(prev) {
				t.Errorf("%s is listed after %s: newest first", v, keyVaultVersions[i-1])
			}
		}
		if strings.TrimSuffix(v, "-preview") >= "2026-02-01" {
			t.Errorf("%s is listed: from 2026-02-01 on Azure creates RBAC vaults by default, which Coffer does not have", v)
		}
	}
	if keyVaultVersions[len(keyVaultVersions)-1] != oldestKeyVaultVersion {
		t.Errorf("the oldest listed version is %s, not %s", keyVaultVersions[len(keyVaultVersions)-1], oldestKeyVaultVersion)
	}
	if strings.HasSuffix(keyVaultVersions[0], "-preview") {
		t.Errorf("the newest listed version %s is a preview", keyVaultVersions[0])
	}
}

// TestARMProviderTypesServed: every Microsoft.KeyVault resource type the document lists
// is the prefix of a route Coffer serves, so the document never promises what a client
// would then get a 404 for.
func TestARMProviderTypesServed(t *testing.T) {
	for _, p := range providers {
		for _, rt := range p.types {
			found := false
			for _, r := range routes {
				after, ok := cutProvider(r.segs, p.namespace)
				if !ok || len(after) == 0 {
					continue
				}
				want := strings.Split(rt.ResourceType, "/")
				if matchTypeSegs(after, want) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s/%s is listed but no route serves it", p.namespace, rt.ResourceType)
			}
		}
	}
}

// cutProvider returns the segments of a route pattern after providers/{namespace}.
func cutProvider(segs []string, ns string) ([]string, bool) {
	for i := 0; i+1 < len(segs); i++ {
		if strings.EqualFold(segs[i], "providers") && strings.EqualFold(segs[i+1], ns) {
			return segs[i+2:], true
		}
	}
	return nil, false
}

// matchTypeSegs reports whether a pattern's segments after the namespace address the
// resource type whose segments are want: type names alternate with {names}.
func matchTypeSegs(after, want []string) bool {
	for i, w := range want {
		j := 2 * i
		if j >= len(after) || !strings.EqualFold(after[j], w) {
			return false
		}
	}
	return true
}
