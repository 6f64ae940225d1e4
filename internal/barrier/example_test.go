package barrier_test

import (
	"context"
	"fmt"

	"github.com/coffer/coffer/internal/barrier"
	"github.com/coffer/coffer/internal/storage"
)

func ExampleOpen() {
	ctx := context.Background()
	kekText, _ := barrier.GenerateKEK() // a server reads COFFER_MASTER_KEY or DIR/master.key
	kek, err := barrier.ParseKEK(kekText)
	if err != nil {
		panic(err)
	}
	var inner storage.Backend = newMem() // bbolt or PostgreSQL in the server

	// Create only on new storage; later starts open the existing keyring.
	b, err := barrier.Open(ctx, inner, kek, barrier.Options{Create: true})
	if err != nil {
		panic(err)
	}
	defer b.Close()

	err = b.Update(ctx, func(tx storage.Tx) error {
		return tx.Put("v/default/secret/db-password", []byte("hunter2"))
	})
	if err != nil {
		panic(err)
	}
	term, _ := b.Rotate(ctx) // new writes use the new data key; old values still open
	_ = b.View(ctx, func(tx storage.Tx) error {
		v, err := tx.Get("v/default/secret/db-password")
		fmt.Printf("%s (active term %d)\n", v, term)
		return err
	})
	// Output: hunter2 (active term 2)
}
