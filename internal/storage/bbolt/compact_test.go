package bbolt_test

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/bbolt"
)

// TestCompact: after most keys are deleted, Compact shrinks the file, keeps every key
// and value left, leaves no temporary file, and sets the txid record to the new file's
// transaction, so that Open accepts the new file and it takes writes.
func TestCompact(t *testing.T) {
	path, rec := damageDB(t, 8000, 1000) // ~2,700 pages: a free list too large to write with each commit
	db, err := bbolt.Open(path, bbolt.Options{TxidFile: rec})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8000; i += 500 {
		if err := db.Update(t.Context(), func(tx storage.Tx) error {
			for j := i; j < i+500; j++ {
				if j%100 == 7 {
					continue // kept
				}
				if err := tx.Delete(fmt.Sprintf("k/%04d", j)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	res, err := bbolt.Compact(path, rec)
	if err != nil {
		t.Fatalf("Compact: %v", err)
	}
	t.Logf("compacted %d → %d bytes, txid %d", res.Before, res.After, res.Txid)
	if res.After*4 > res.Before {
		t.Errorf("the file shrank from %d to %d bytes only", res.Before, res.After)
	}
	if _, err := os.Stat(path + ".compact"); !os.IsNotExist(err) {
		t.Errorf("the temporary file is left: %v", err)
	}
	if got, _, _ := bbolt.ReadTxidRecord(rec); got != res.Txid {
		t.Errorf("the txid record names %d, the new file holds %d", got, res.Txid)
	}
	db, err = bbolt.Open(path, bbolt.Options{TxidFile: rec, StartPages: -1})
	if err != nil {
		t.Fatalf("Open after Compact: %v", err)
	}
	defer db.Close()
	var keys []string
	if err := db.View(t.Context(), func(tx storage.Tx) error {
		es, err := tx.Scan("", "", 0)
		for _, e := range es {
			keys = append(keys, e.Key)
			if e.Key != "last" && !bytes.Equal(e.Value, bytes.Repeat(e.Value[:1], 1000)) {
				t.Errorf("value of %s changed", e.Key)
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 81 || keys[0] != "k/0007" || keys[80] != "last" {
		t.Fatalf("keys after Compact: %d %v", len(keys), keys)
	}
	storagetestPut(t, db)
}

func storagetestPut(t *testing.T, db *bbolt.DB) {
	t.Helper()
	if err := db.Update(t.Context(), func(tx storage.Tx) error { return tx.Put("after", []byte("compact")) }); err != nil {
		t.Fatalf("a write after Compact: %v", err)
	}
}
