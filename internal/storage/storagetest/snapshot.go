package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/storage"
	"github.com/google/go-cmp/cmp"
)

// runSnapshot is the part of the suite for a [storage.Snapshotter]. A backend that is
// not one (the barrier, on purpose: a snapshot is taken below it, still sealed) has
// nothing here to conform to, and the part is left out rather than skipped.
func runSnapshot(t *testing.T, s *suite) {
	if b := s.open(t); !isSnapshotter(b) {
		t.Logf("%T is no storage.Snapshotter: the snapshot part of the suite does not apply", b)
		return
	}
	t.Run("snapshot/every-key-in-order-as-stored", s.snapshotAll)
	t.Run("snapshot/point-in-time-while-writers-commit", s.snapshotConsistent)
	t.Run("snapshot/empty", s.snapshotEmpty)
	t.Run("snapshot/fn-error-stops", s.snapshotStops)
	t.Run("snapshot/canceled-context", s.snapshotCanceled)
}

func isSnapshotter(b storage.Backend) bool {
	_, ok := b.(storage.Snapshotter)
	return ok
}

// snapshotter returns a fresh backend as a Snapshotter, or skips t.
func (s *suite) snapshotter(t *testing.T) (storage.Backend, storage.Snapshotter) {
	t.Helper()
	b := s.open(t)
	sn, ok := b.(storage.Snapshotter)
	if !ok {
		t.Skipf("%T is no storage.Snapshotter", b)
	}
	return b, sn
}

// readSnapshot collects a whole snapshot, copying each value (fn's contract).
func readSnapshot(t *testing.T, sn storage.Snapshotter) []storage.Entry {
	t.Helper()
	var got []storage.Entry
	if err := sn.ReadSnapshot(t.Context(), func(k string, v []byte) error {
		got = append(got, storage.Entry{Key: k, Value: append([]byte{}, v...)})
		return nil
	}); err != nil {
		t.Fatalf("ReadSnapshot: %v", err)
	}
	return got
}

func (s *suite) snapshotAll(t *testing.T) {
	b, sn := s.snapshotter(t)
	// Byte order, not UTF-8 or locale order; an empty value; a NUL and 0xff in keys.
	keys := []string{"b/2", "a", "a/\x00", "a/b", "B", "\xff", "a/é", "a/z"}
	update(t, b, func(tx storage.Tx) error {
		for _, k := range keys {
			if err := tx.Put(k, valueOf(k)); err != nil {
				return err
			}
		}
		return tx.Put("empty", []byte{})
	})
	want := append(entries("B", "a", "a/\x00", "a/b", "a/z", "a/é", "b/2"), storage.Entry{Key: "empty", Value: []byte{}})
	want = append(want, entries("\xff")...)
	if diff := cmp.Diff(want, readSnapshot(t, sn), equateEmpty); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}
}

// snapshotConsistent commits changes while a snapshot is half read: the snapshot shows
// none of them, and the Updates do not wait for it to end.
func (s *suite) snapshotConsistent(t *testing.T) {
	b, sn := s.snapshotter(t)
	Put(t, b, "k/1", "old", "k/2", "old", "k/3", "old")
	var got []storage.Entry
	err := sn.ReadSnapshot(t.Context(), func(k string, v []byte) error {
		got = append(got, storage.Entry{Key: k, Value: append([]byte{}, v...)})
		if k != "k/1" {
			return nil
		}
		done := make(chan error, 1)
		go func() {
			done <- b.Update(context.Background(), func(tx storage.Tx) error {
				if err := tx.Put("k/2", []byte("new")); err != nil {
					return err
				}
				if err := tx.Delete("k/3"); err != nil {
					return err
				}
				return tx.Put("k/4", []byte("new"))
			})
		}()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("an Update waited for the snapshot to end")
		}
	})
	if err != nil {
		t.Fatalf("ReadSnapshot: %v", err)
	}
	want := []storage.Entry{{Key: "k/1", Value: []byte("old")}, {Key: "k/2", Value: []byte("old")}, {Key: "k/3", Value: []byte("old")}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("snapshot taken before the Update (-want +got):\n%s", diff)
	}
	want = []storage.Entry{{Key: "k/1", Value: []byte("old")}, {Key: "k/2", Value: []byte("new")}, {Key: "k/4", Value: []byte("new")}}
	if diff := cmp.Diff(want, readSnapshot(t, sn)); diff != "" {
		t.Errorf("snapshot taken after the Update (-want +got):\n%s", diff)
	}
}

func (s *suite) snapshotEmpty(t *testing.T) {
	_, sn := s.snapshotter(t)
	if got := readSnapshot(t, sn); len(got) != 0 {
		t.Errorf("snapshot of an empty store: %d entries", len(got))
	}
}

func (s *suite) snapshotStops(t *testing.T) {
	b, sn := s.snapshotter(t)
	Put(t, b, "a", "1", "b", "2", "c", "3")
	calls := 0
	err := sn.ReadSnapshot(t.Context(), func(string, []byte) error {
		calls++
		return errBoom
	})
	if !errors.Is(err, errBoom) || calls != 1 {
		t.Errorf("ReadSnapshot with a failing fn: error %v after %d calls, want errBoom after 1", err, calls)
	}
	// The store serves on.
	WantValue(t, b, "c", "3")
}

func (s *suite) snapshotCanceled(t *testing.T) {
	_, sn := s.snapshotter(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := sn.ReadSnapshot(ctx, func(string, []byte) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("ReadSnapshot with a canceled context: error = %v, want context.Canceled", err)
	}
}
