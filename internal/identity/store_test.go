package identity_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/coffer/coffer/internal/storage"
)

// memStore is a tiny in-memory storage.Backend. With rerun set, Update runs fn twice (the
// first result discarded), as a group-committing backend may.
type memStore struct {
	mu    sync.Mutex
	m     map[string][]byte
	rerun bool
}

func newMemStore() *memStore { return &memStore{m: map[string][]byte{}} }

type memTx struct {
	m        map[string][]byte
	readOnly bool
}

func (s *memStore) View(_ context.Context, fn func(storage.Tx) error) error {
	s.mu.Lock()
	snap := maps.Clone(s.m)
	s.mu.Unlock()
	return fn(&memTx{m: snap, readOnly: true})
}

func (s *memStore) Update(_ context.Context, fn func(storage.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rerun {
		_ = fn(&memTx{m: maps.Clone(s.m)})
	}
	tx := &memTx{m: maps.Clone(s.m)}
	if err := fn(tx); err != nil {
		return err
	}
	s.m = tx.m
	return nil
}

func (s *memStore) Close() error { return nil }

func (s *memStore) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.m))
}

func (s *memStore) get(k string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.m[k])
}

func (s *memStore) put(k string, v []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = slices.Clone(v)
}

func (s *memStore) del(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
}

func (t *memTx) Get(k string) ([]byte, error) {
	v, ok := t.m[k]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return slices.Clone(v), nil
}

func (t *memTx) Put(k string, v []byte) error {
	if t.readOnly {
		panic("Put in View")
	}
	t.m[k] = slices.Clone(v)
	return nil
}

func (t *memTx) Delete(k string) error {
	if t.readOnly {
		panic("Delete in View")
	}
	delete(t.m, k)
	return nil
}

func (t *memTx) Scan(prefix, after string, limit int) ([]storage.Entry, error) {
	var out []storage.Entry
	for _, k := range slices.Sorted(maps.Keys(t.m)) {
		if !strings.HasPrefix(k, prefix) || k <= after {
			continue
		}
		out = append(out, storage.Entry{Key: k, Value: slices.Clone(t.m[k])})
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}
