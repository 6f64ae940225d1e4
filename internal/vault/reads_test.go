package vault_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/vault"
)

// hintStore records what the Views run on it ask of their storage: the hints
// (storage.NoSnapshot, storage.Prefetch) and the reads, in order. vanish, when set, makes
// a read of a key containing it find nothing, as a record deleted by another transaction
// between two reads of a View without a snapshot would.
type hintStore struct {
	storage.Backend
	log    []string
	vanish string
}

func (s *hintStore) View(ctx context.Context, fn func(storage.Tx) error) error {
	return s.Backend.View(ctx, func(tx storage.Tx) error { return fn(&hintTx{tx, s}) })
}

type hintTx struct {
	storage.Tx
	s *hintStore
}

func (t *hintTx) ReadsNeedNoSnapshot() { t.s.log = append(t.s.log, "no snapshot") }
func (t *hintTx) Prefetch(keys ...string) {
	t.s.log = append(t.s.log, "prefetch "+strings.Join(keys, " "))
}

func (t *hintTx) Get(key string) ([]byte, error) {
	t.s.log = append(t.s.log, "get "+key)
	if t.s.vanish != "" && strings.Contains(key, t.s.vanish) {
		return nil, storage.ErrNotFound
	}
	return t.Tx.Get(key)
}

// TestGetReadsWithoutASnapshot: a get of a live object asks for no snapshot before its
// first read and reads the object with the vault's record, and with the version last seen
// as its latest (a guess, checked); a version gone by the time it is read (the object
// purged between the reads) is answered as not found. A get of a deleted object keeps its
// snapshot.
func TestGetReadsWithoutASnapshot(t *testing.T) {
	_, clk, st := newService(t, false)
	hs := &hintStore{Backend: st}
	s, err := vault.Open(t.Context(), vault.Options{Storage: hs, Clock: clk, Log: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	set, err := s.Internal().SetSecret(ctx, "v", "s", vault.SecretParams{Value: "x"})
	if err != nil {
		t.Fatal(err)
	}

	hs.log = nil
	if got, err := s.Internal().GetSecret(ctx, "v", "s", ""); err != nil || got.Value != "x" {
		t.Fatalf("GetSecret = %+v, %v", got, err)
	}
	if len(hs.log) != 5 || hs.log[0] != "no snapshot" || !strings.HasPrefix(hs.log[1], "prefetch ") ||
		hs.log[3] != "get "+strings.TrimPrefix(hs.log[1], "prefetch ") {
		t.Fatalf("a get asked its storage:\n%s\nwant: no snapshot, the object prefetched, the vault's record, the object, its version", strings.Join(hs.log, "\n"))
	}

	version := set.ID[strings.LastIndex(set.ID, "/")+1:]
	// The next get asks for the latest version it saw with the object; a new version makes
	// that guess wrong once: the right version is read, and guessed from then on.
	prefetched := func() string {
		t.Helper()
		hs.log = nil
		got, err := s.Internal().GetSecret(ctx, "v", "s", "")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID[strings.LastIndex(got.ID, "/")+1:] != version {
			t.Fatalf("GetSecret answered version %s; want the latest, %s", got.ID, version)
		}
		return hs.log[1]
	}
	if p := prefetched(); !strings.HasSuffix(p, "/"+version) || strings.Count(p, " ") != 2 {
		t.Fatalf("the second get asked for %q; want the object and version %s", p, version)
	}
	old := version
	next, err := s.Internal().SetSecret(ctx, "v", "s", vault.SecretParams{Value: "y"})
	if err != nil {
		t.Fatal(err)
	}
	version = next.ID[strings.LastIndex(next.ID, "/")+1:]
	if p := prefetched(); !strings.HasSuffix(p, "/"+old) {
		t.Fatalf("the get after a new version asked for %q; want the old guess, %s", p, old)
	}
	if p := prefetched(); !strings.HasSuffix(p, "/"+version) {
		t.Fatalf("the get after that asked for %q; want the new version, %s", p, version)
	}
	hs.vanish = "/" + version
	if _, err := s.Internal().GetSecret(ctx, "v", "s", ""); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("GetSecret with its version purged after the object was read = %v; want ErrNotFound", err)
	}
	hs.vanish = ""

	if _, err := s.Internal().Secrets().Delete(ctx, "v", "s"); err != nil {
		t.Fatal(err)
	}
	hs.log = nil
	if _, err := s.Internal().Secrets().GetDeleted(ctx, "v", "s"); err != nil {
		t.Fatal(err)
	}
	for _, l := range hs.log {
		if l == "no snapshot" {
			t.Fatalf("a get of a deleted secret gave up its snapshot:\n%s", strings.Join(hs.log, "\n"))
		}
	}
}
