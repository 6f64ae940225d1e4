package storagetest

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/coffer/coffer/internal/storage"
)

// Memory is an in-memory [storage.Backend] for the tests of what is built on storage (the
// barrier, identity); it passes [Run]. With Rerun set, Update runs its function twice and
// throws the first run away, as a group-committing backend may, so that a function with
// effects outside its Tx shows. Raw, SetRaw, DeleteRaw, Keys and Snapshot reach the
// stored bytes directly, under whatever wraps the store.
type Memory struct {
	Rerun bool

	mu     sync.RWMutex
	data   map[string][]byte
	closed bool
}

// NewMemory returns an empty, open Memory.
func NewMemory() *Memory { return &Memory{data: map[string][]byte{}} }

// OpenMemory returns an empty Memory with Rerun set, closed when t ends.
func OpenMemory(t testing.TB) *Memory {
	m := NewMemory()
	m.Rerun = true
	t.Cleanup(func() { m.Close() })
	return m
}

// ErrClosed is what a Memory answers after Close.
var ErrClosed = errors.New("storagetest: memory store closed")

var errReadOnly = errors.New("storagetest: read-only transaction")

// View runs fn on the stored data, Updates waiting.
func (m *Memory) View(ctx context.Context, fn func(storage.Tx) error) error {
	unlock, err := m.enter(ctx, false)
	if err != nil {
		return err
	}
	defer unlock()
	return fn(&memTx{m: m})
}

// Update runs fn (twice with Rerun) and applies its writes when it returns nil.
func (m *Memory) Update(ctx context.Context, fn func(storage.Tx) error) error {
	unlock, err := m.enter(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	if m.Rerun {
		if err := fn(&memTx{m: m, writes: map[string][]byte{}}); err != nil {
			return err
		}
	}
	t := &memTx{m: m, writes: map[string][]byte{}}
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

// enter checks ctx and that m is open, and takes m's lock (shared unless write); it
// returns the unlock.
func (m *Memory) enter(ctx context.Context, write bool) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lock, unlock := m.mu.RLock, m.mu.RUnlock
	if write {
		lock, unlock = m.mu.Lock, m.mu.Unlock
	}
	lock()
	if m.closed {
		unlock()
		return nil, ErrClosed
	}
	return unlock, nil
}

// Close makes every later call fail with [ErrClosed].
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.closed = true
	return nil
}

// Raw returns a copy of what the store holds at key (nil when absent).
func (m *Memory) Raw(key string) []byte {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return bytes.Clone(m.data[key])
}

// SetRaw writes v at key directly, bypassing any wrapper.
func (m *Memory) SetRaw(key string, v []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data[key] = bytes.Clone(v)
}

// DeleteRaw removes key directly.
func (m *Memory) DeleteRaw(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.data, key)
}

// Keys returns every key, sorted.
func (m *Memory) Keys() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Sorted(maps.Keys(m.data))
}

// Snapshot returns a copy of every key and value.
func (m *Memory) Snapshot() map[string][]byte {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make(map[string][]byte, len(m.data))
	for k, v := range m.data {
		out[k] = bytes.Clone(v)
	}
	return out
}

// memTx reads through its own writes (nil value = deleted) to the store's data; a View's
// has no writes map and refuses to write.
type memTx struct {
	m      *Memory
	writes map[string][]byte
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
	if t.writes == nil {
		return errReadOnly
	}
	if value == nil {
		value = []byte{}
	}
	t.writes[key] = bytes.Clone(value)
	return nil
}

func (t *memTx) Delete(key string) error {
	if t.writes == nil {
		return errReadOnly
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

var _ storage.Snapshotter = (*Memory)(nil)

// ReadSnapshot implements [storage.Snapshotter]: it copies the data under the read lock
// (a test store is small), then calls fn without holding it, so Updates go on meanwhile.
func (m *Memory) ReadSnapshot(ctx context.Context, fn func(key string, value []byte) error) error {
	unlock, err := m.enter(ctx, false)
	if err != nil {
		return err
	}
	data := make(map[string][]byte, len(m.data))
	for k, v := range m.data {
		data[k] = bytes.Clone(v)
	}
	unlock()
	for _, k := range slices.Sorted(maps.Keys(data)) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(k, data[k]); err != nil {
			return err
		}
	}
	return nil
}
