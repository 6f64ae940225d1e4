package barrier_test

import (
	"context"
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/storage"
)

func scanKeys(b storage.Backend, prefix, after string, limit int) ([]string, error) {
	var ks []string
	err := b.View(context.Background(), func(tx storage.Tx) error {
		var err error
		ks, err = storage.ScanKeys(tx, prefix, after, limit)
		return err
	})
	return ks, err
}

// ScanKeys skips the reserved keys as Scan does, keeps pages full across them, and opens
// no value: a key whose value was altered is listed (a purge can still delete it), while
// Scan and Get refuse it.
func TestScanKeys(t *testing.T) {
	b, inner, _ := newBarrier(t)
	for _, k := range []string{"a", "barrier-a", "barrier0", "c"} {
		put(t, b, k, []byte(k))
	}
	all := "a,barrier-a,barrier0,c"
	for _, prefix := range []string{"", "b", "barrier"} {
		ks, err := scanKeys(b, prefix, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range ks {
			if strings.HasPrefix(k, "barrier/") {
				t.Fatalf("ScanKeys %q returned reserved key %q", prefix, k)
			}
		}
	}
	for _, prefix := range []string{"barrier/", "barrier/k"} {
		if ks, err := scanKeys(b, prefix, "", 0); err != nil || len(ks) != 0 {
			t.Fatalf("ScanKeys %q = %v, %v; want nothing", prefix, ks, err)
		}
	}
	for limit := 1; limit <= 5; limit++ {
		var got []string
		after := ""
		for {
			ks, err := scanKeys(b, "", after, limit)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ks...)
			if len(ks) < limit {
				break
			}
			after = ks[len(ks)-1]
		}
		if strings.Join(got, ",") != all {
			t.Fatalf("limit %d: pages = %v, want %s", limit, got, all)
		}
	}

	sealed := inner.Raw("c")
	sealed[len(sealed)-1] ^= 1
	inner.SetRaw("c", sealed)
	if _, err := scan(b, "", "", 0); err == nil {
		t.Fatal("Scan opened an altered value")
	}
	if ks, err := scanKeys(b, "", "", 0); err != nil || strings.Join(ks, ",") != all {
		t.Fatalf("ScanKeys with an altered value = %v, %v; want %s", ks, err, all)
	}
	if err := b.Update(context.Background(), func(tx storage.Tx) error { return tx.Delete("c") }); err != nil {
		t.Fatal(err)
	}
	if ks, err := scanKeys(b, "", "", 0); err != nil || strings.Join(ks, ",") != "a,barrier-a,barrier0" {
		t.Fatalf("ScanKeys after deleting the altered value = %v, %v", ks, err)
	}
}
