package bbolt_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/bbolt"
)

func Example() {
	dir, err := os.MkdirTemp("", "coffer")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := bbolt.Open(filepath.Join(dir, "coffer.db"), bbolt.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	// Update commits (fsynced) when fn returns nil. fn may run more than once, so it
	// only writes through tx.
	err = db.Update(ctx, func(tx storage.Tx) error {
		for _, name := range []string{"db-password", "api-key", "tls-cert"} {
			if err := tx.Put("v/prod/secret/"+name, []byte("sealed value of "+name)); err != nil {
				return err
			}
		}
		return tx.Put("v/test/secret/db-password", []byte("other vault"))
	})
	if err != nil {
		log.Fatal(err)
	}

	// View reads a snapshot; Scan pages through one prefix in key order.
	err = db.View(ctx, func(tx storage.Tx) error {
		after := ""
		for {
			page, err := tx.Scan("v/prod/secret/", after, 2)
			if err != nil || len(page) == 0 {
				return err
			}
			for _, e := range page {
				fmt.Printf("%s = %s\n", e.Key, e.Value)
			}
			after = page[len(page)-1].Key
		}
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// v/prod/secret/api-key = sealed value of api-key
	// v/prod/secret/db-password = sealed value of db-password
	// v/prod/secret/tls-cert = sealed value of tls-cert
}
