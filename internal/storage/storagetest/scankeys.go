package storagetest

import (
	"fmt"
	"testing"

	"github.com/coffer/coffer/internal/storage"
	"github.com/google/go-cmp/cmp"
)

// scanKeys: storage.ScanKeys lists exactly the keys Scan returns, in its order, for
// every prefix, start and limit — in a View, in an Update that has changed keys it has
// not committed, and page by page over many keys — whether the Tx lists keys itself
// (storage.KeyScanner) or ScanKeys falls back to Scan.
func (s *suite) scanKeys(t *testing.T) {
	b := s.open(t)
	putScanKeys(t, b)
	var kv []string
	for i := range 1500 {
		k := fmt.Sprintf("p/%05d", i)
		kv = append(kv, k, string(valueOf(k)))
	}
	Put(t, b, kv...)
	type args struct {
		prefix, after string
		limit         int
	}
	cases := []args{
		{"a/", "", 0}, {"a", "", 0}, {"", "", 0}, {"d", "", 0}, {"a/b", "", 0},
		{"a/", "a/2", 0}, {"a/", "a/25", 0}, {"a/", "0", 0}, {"a/", "a/", 0}, {"a/", "b", 0},
		{"a/", "a/é", 0}, {"a/", "", 2}, {"a/", "a/2", 2}, {"b/", "", 10}, {"a/", "", -1},
		{"p/", "", 1000}, {"p/", "p/00999", 0},
	}
	compare := func(t *testing.T, tx storage.Tx, c args) {
		t.Helper()
		es, err := tx.Scan(c.prefix, c.after, c.limit)
		if err != nil {
			t.Fatalf("Scan(%q, %q, %d): %v", c.prefix, c.after, c.limit, err)
		}
		want := make([]string, len(es))
		for i, e := range es {
			want[i] = e.Key
		}
		got, err := storage.ScanKeys(tx, c.prefix, c.after, c.limit)
		if err != nil {
			t.Fatalf("ScanKeys(%q, %q, %d): %v", c.prefix, c.after, c.limit, err)
		}
		if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
			t.Errorf("ScanKeys(%q, %q, %d) differs from Scan's keys (-Scan +ScanKeys):\n%s", c.prefix, c.after, c.limit, diff)
		}
	}
	t.Run("view", func(t *testing.T) {
		err := b.View(t.Context(), func(tx storage.Tx) error {
			for _, c := range cases {
				compare(t, tx, c)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("update-sees-its-writes", func(t *testing.T) {
		err := b.Update(t.Context(), func(tx storage.Tx) error {
			for _, k := range []string{"a/25", "a/0", "p/01500"} {
				if err := tx.Put(k, valueOf(k)); err != nil {
					return err
				}
			}
			for _, k := range []string{"a/3", "a/", "p/00000"} {
				if err := tx.Delete(k); err != nil {
					return err
				}
			}
			for _, c := range cases {
				compare(t, tx, c)
			}
			got, err := storage.ScanKeys(tx, "a/2", "", 0)
			if err != nil {
				return err
			}
			if diff := cmp.Diff([]string{"a/2", "a/25"}, got); diff != "" {
				t.Errorf("ScanKeys after Put and Delete in the Update (-want +got):\n%s", diff)
			}
			return errBoom // roll back
		})
		if err == nil {
			t.Fatal("Update returned nil, want the function's error")
		}
	})
	t.Run("pages", func(t *testing.T) {
		var got []string
		after := ""
		for {
			var page []string
			err := b.View(t.Context(), func(tx storage.Tx) error {
				var err error
				page, err = storage.ScanKeys(tx, "p/", after, 7)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > 7 {
				t.Fatalf("ScanKeys(limit 7) returned %d keys", len(page))
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			after = page[len(page)-1]
		}
		if len(got) != 1500 || got[0] != "p/00000" || got[1499] != "p/01499" {
			t.Errorf("paged ScanKeys listed %d keys (%v … %v), want p/00000 … p/01499", len(got), first(got), last(got))
		}
	})
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}
