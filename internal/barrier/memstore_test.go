package barrier_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/coffer/coffer/internal/storage"
)

// memStore is a tiny in-memory storage.Backend for tests. With rerun set, Update runs fn twice
// and throws the first run away, as a group-committing backend may.
type memStore struct {
	mu     sync.RWMutex
	data   map[string][]byte
	closed bool
	rerun  bool
}

func newMem() *memStore { return &memStore{data: map[string][]byte{}, rerun: true} }

var errClosed = errors.New("memstore: closed")

func (m *memStore) View(ctx context.Context, fn func(storage.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return errClosed
	}
	return fn(&memTx{m: m})
}

func (m *memStore) Update(ctx context.Context, fn func(storage.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed
	}
	if m.rerun {
		if err := fn(&memTx{m: m, writable: true, writes: map[string][]byte{}}); err != nil {
			return err
		}
	}
	t := &memTx{m: m, writable: true, writes: map[string][]byte{}}
	if err := fn(t); err != nil {
		return err
	}
	for k, v := range t.writes {
		if v == nil {
			delete(m.data, k)
		} else {
			m.data[k] = v
		}
	}
	return nil
}

func (m *memStore) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed
	}
	m.closed = true
	return nil
}

// raw returns a copy of what the store holds at key (nil when absent).
func (m *memStore) raw(key string) []byte {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return bytes.Clone(m.data[key])
}

// setRaw writes v at key directly, bypassing any barrier.
func (m *memStore) setRaw(key string, v []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data[key] = bytes.Clone(v)
}

// snapshot returns a copy of every key and value.
func (m *memStore) snapshot() map[string][]byte {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make(map[string][]byte, len(m.data))
	for k, v := range m.data {
		out[k] = bytes.Clone(v)
	}
	return out
}

// memTx reads through its own writes (nil value = deleted) to the store's data.
type memTx struct {
	m        *memStore
	writable bool
	writes   map[string][]byte
}

func (t *memTx) lookup(key string) ([]byte, bool) {
	if v, ok := t.writes[key]; ok {
		return v, v != nil
	}
	v, ok := t.m.data[key]
	return v, ok
}

func (t *memTx) Get(key string) ([]byte, error) {
	v, ok := t.lookup(key)
	if !ok {
		return nil, storage.ErrNotFound
	}
	return bytes.Clone(v), nil
}

func (t *memTx) Put(key string, value []byte) error {
	if !t.writable {
		return errors.New("memstore: read-only transaction")
	}
	if value == nil {
		value = []byte{}
	}
	t.writes[key] = bytes.Clone(value)
	return nil
}

func (t *memTx) Delete(key string) error {
	if !t.writable {
		return errors.New("memstore: read-only transaction")
	}
	t.writes[key] = nil
	return nil
}

func (t *memTx) Scan(prefix, after string, limit int) ([]storage.Entry, error) {
	var keys []string
	add := func(k string) {
		if strings.HasPrefix(k, prefix) && k > after {
			keys = append(keys, k)
		}
	}
	for k := range t.m.data {
		if _, ok := t.writes[k]; !ok {
			add(k)
		}
	}
	for k, v := range t.writes {
		if v != nil {
			add(k)
		}
	}
	slices.Sort(keys)
	if limit > 0 && len(keys) > limit {
		keys = keys[:limit]
	}
	out := make([]storage.Entry, len(keys))
	for i, k := range keys {
		v, _ := t.lookup(k)
		out[i] = storage.Entry{Key: k, Value: bytes.Clone(v)}
	}
	return out, nil
}
