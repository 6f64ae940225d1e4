package bbolt

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/storage"
)

// TestSnapshotGivesWayToRemap: while a snapshot is open, writers grow the file past what
// bbolt has mapped; the remap would wait for the snapshot's read transaction, and every
// new read behind it. The snapshot gives way instead (ErrSnapshotYielded), and the writes
// and reads go on within seconds rather than when the snapshot would have ended.
func TestSnapshotGivesWayToRemap(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a few hundred MiB")
	}
	db, err := Open(filepath.Join(t.TempDir(), "coffer.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := db.Update(ctx, func(tx storage.Tx) error {
		for i := range 1000 {
			if err := tx.Put(fmt.Sprintf("a/%04d", i), []byte("v")); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A slow reader of the snapshot: it would take 1000 × 100 ms.
	walking, snap := make(chan struct{}), make(chan error, 1)
	go func() {
		first := true
		snap <- db.ReadSnapshot(ctx, func(string, []byte) error {
			if first {
				first = false
				close(walking)
			}
			time.Sleep(100 * time.Millisecond)
			return nil
		})
	}()
	<-walking
	val := make([]byte, 1<<20)
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; ; i++ {
		t0 := time.Now()
		if err := db.Update(ctx, func(tx storage.Tx) error { return tx.Put(fmt.Sprintf("b/%04d", i), val) }); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(t0); d > 10*time.Second {
			t.Fatalf("a write waited %v for the snapshot", d)
		}
		select {
		case err := <-snap:
			if !errors.Is(err, ErrSnapshotYielded) {
				t.Fatalf("ReadSnapshot = %v, want ErrSnapshotYielded", err)
			}
			t.Logf("the snapshot gave way after %d MiB written", i+1)
			// Reads and writes go on.
			if err := db.View(ctx, func(tx storage.Tx) error { _, err := tx.Get("a/0001"); return err }); err != nil {
				t.Fatal(err)
			}
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d MiB written and the snapshot has not given way", i+1)
		}
	}
}
