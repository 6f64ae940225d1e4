package azapi

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
)

// walk follows nextLink from first with maxresults=limit and returns the ids (or kids)
// of every item and the number of pages.
func (e *env) walk(t *testing.T, first string, limit int) ([]string, int) {
	t.Helper()
	var ids []string
	path, pages := fmt.Sprintf("%s?api-version=%s&maxresults=%d", first, testAPIVersion, limit), 0
	for path != "" {
		pages++
		if pages > 10 {
			t.Fatal("nextLink does not end")
		}
		page := e.must(t, 200, admin, "GET", path, nil)
		items, _ := page["value"].([]any)
		if len(items) > limit {
			t.Fatalf("%d items on a page of %d", len(items), limit)
		}
		for i := range items {
			id := str(page, fmt.Sprintf("value.%d.id", i)) + str(page, fmt.Sprintf("value.%d.kid", i))
			ids = append(ids, id)
		}
		path = ""
		if next, _ := page["nextLink"].(string); next != "" {
			u, err := url.Parse(next)
			if err != nil || u.Scheme+"://"+u.Host != vaultURL("az") || u.Path != first {
				t.Fatalf("nextLink %q", next)
			}
			q := u.Query()
			if q.Get("api-version") != testAPIVersion || q.Get("maxresults") != fmt.Sprint(limit) || q.Get("$skiptoken") == "" {
				t.Fatalf("nextLink %q", next)
			}
			path = u.RequestURI()
		}
	}
	return ids, pages
}

// TestPaging: every listing pages with maxresults and $skiptoken, each item once.
func TestPaging(t *testing.T) {
	e := newEnv(t)
	names := []string{"a0", "a1", "a2", "a3", "a4"}
	e.must(t, 200, admin, "POST", "/keys/v/create", map[string]any{"kty": "oct"})
	for _, n := range names {
		e.must(t, 200, admin, "PUT", "/secrets/"+n, map[string]any{"value": n})
		e.must(t, 200, admin, "PUT", "/secrets/d"+n, map[string]any{"value": n})
		e.must(t, 200, admin, "DELETE", "/secrets/d"+n, nil)
		e.must(t, 200, admin, "POST", "/keys/"+n+"/create", map[string]any{"kty": "oct"})
		e.must(t, 200, admin, "POST", "/keys/d"+n+"/create", map[string]any{"kty": "oct"})
		e.must(t, 200, admin, "DELETE", "/keys/d"+n, nil)
		e.must(t, 200, admin, "PUT", "/secrets/v", map[string]any{"value": n})
		e.must(t, 200, admin, "POST", "/keys/v/rotate", nil)
	}
	for _, n := range names[:3] {
		e.createCert(t, "c"+n, map[string]any{"policy": ecPolicy("CN="+n, "Self")})
	}
	for _, tc := range []struct {
		path  string
		limit int
		want  []string // item ids after the vault URL, or nil for versions
		n     int      // how many distinct versions
		pages int
	}{
		// A certificate's secret and key are listed with the others, as managed.
		{"/secrets", 2, []string{"/secrets/a0", "/secrets/a1", "/secrets/a2", "/secrets/a3", "/secrets/a4", "/secrets/ca0", "/secrets/ca1", "/secrets/ca2", "/secrets/v"}, 0, 5},
		{"/deletedsecrets", 2, []string{"/secrets/da0", "/secrets/da1", "/secrets/da2", "/secrets/da3", "/secrets/da4"}, 0, 3},
		{"/secrets/v/versions", 3, nil, 5, 2},
		{"/keys", 4, []string{"/keys/a0", "/keys/a1", "/keys/a2", "/keys/a3", "/keys/a4", "/keys/ca0", "/keys/ca1", "/keys/ca2", "/keys/v"}, 0, 3},
		{"/deletedkeys", 1, []string{"/keys/da0", "/keys/da1", "/keys/da2", "/keys/da3", "/keys/da4"}, 0, 5},
		{"/keys/v/versions", 2, nil, 6, 3},
		{"/certificates", 2, []string{"/certificates/ca0", "/certificates/ca1", "/certificates/ca2"}, 0, 2},
		{"/certificates/ca0/versions", 1, nil, 1, 1},
	} {
		t.Run(tc.path, func(t *testing.T) {
			ids, pages := e.walk(t, tc.path, tc.limit)
			if pages != tc.pages {
				t.Errorf("%d pages, want %d", pages, tc.pages)
			}
			if tc.want == nil {
				if n := len(slices.Compact(slices.Sorted(slices.Values(ids)))); n != len(ids) || n != tc.n {
					t.Errorf("versions %v, want %d distinct", ids, tc.n)
				}
				return
			}
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = vaultURL("az") + w
			}
			if !slices.Equal(ids, want) {
				t.Errorf("items %v\nwant  %v", ids, want)
			}
		})
	}
}

// TestPagingDeletedCertificates: deleted certificates page like the rest (their deleted
// secrets and keys are listed with them, not in /deletedsecrets and /deletedkeys).
func TestPagingDeletedCertificates(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"c0", "c1", "c2"} {
		e.createCert(t, n, map[string]any{"policy": ecPolicy("CN="+n, "Self")})
		e.must(t, 200, admin, "DELETE", "/certificates/"+n, nil)
	}
	ids, pages := e.walk(t, "/deletedcertificates", 2)
	base := vaultURL("az") + "/certificates/"
	if want := []string{base + "c0", base + "c1", base + "c2"}; !slices.Equal(ids, want) || pages != 2 {
		t.Errorf("%d pages of %v, want 2 of %v", pages, ids, want)
	}
	fieldsAre(t, e.must(t, 200, admin, "GET", "/deletedsecrets", nil), map[string]any{"value": []any{}, "nextLink": nil})
}

func TestPagingBadParameters(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ query, says string }{
		{"maxresults=0", `maxresults must be an integer from 1 to 25, not "0".`},
		{"maxresults=26", `not "26"`},
		{"maxresults=x", `not "x"`},
		{"maxresults=05", `not "05"`},
		{"maxresults=%2B5", `not "+5"`},
		{"maxresults=5x", `not "5x"`},
		{"$skiptoken=***", "The $skiptoken is not one this server issued."},
		{"%24skiptoken=a%2Fb", "The $skiptoken is not one this server issued."},
	} {
		for _, p := range []string{"/secrets", "/keys/k/versions", "/deletedcertificates"} {
			t.Run(p+"?"+tc.query, func(t *testing.T) {
				wantErr(t, e.do(t, admin, "GET", p+"?api-version=7.6&"+tc.query, nil), apiErr{400, "BadParameter", "", []string{tc.says}})
			})
		}
	}
	// A padded token is read as well as an unpadded one.
	e.must(t, 200, admin, "PUT", "/secrets/b", map[string]any{"value": "v"})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/secrets?api-version=7.6&$skiptoken="+enc([]byte("a"))+"%3D", nil), map[string]any{
		"value.0.id": vaultURL("az") + "/secrets/b", "value.1": absent, "nextLink": nil})
}
