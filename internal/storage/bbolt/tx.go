package bbolt

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/coffer/coffer/internal/storage"
	bolt "go.etcd.io/bbolt"
)

// errTxDone is returned when a Tx is used after its function returned.
var errTxDone = errors.New("bbolt: transaction used outside its function")

// errReadOnly is returned by Put and Delete inside [DB.View].
var errReadOnly = errors.New("bbolt: write in a read-only transaction")

// tx adapts the bucket of one bolt transaction to [storage.Tx]. Values read from bolt
// point into the memory map and are only valid during the transaction, so every value
// handed out is a copy; values handed in are copied too, because bolt keeps them until
// commit.
type tx struct {
	b        *bolt.Bucket // nil once the function has returned
	c        *bolt.Cursor // b's, made on first use; every use starts with a Seek
	writable bool
	path     string // the file, for a CorruptError
}

// contain turns a panic raised while bbolt reads a damaged page (it asserts rather than
// checks) into an error wrapping ErrCorrupt, so that one damaged page fails the requests
// that read it instead of the process. Every method defers it around its bbolt calls.
func (t *tx) contain(err *error) {
	if p := recover(); p != nil {
		*err = &CorruptError{Path: t.path, Panic: fmt.Sprint(p)}
	}
}

func (t *tx) invalidate() { t.b, t.c = nil, nil }

// cursor returns the transaction's cursor: one for every Get, Delete and Scan, rather
// than one each (a bbolt cursor and its stack are allocated; the sweeper's transactions
// make thousands of calls). Every user positions it with Seek first, and none calls
// another method while it walks, so a Put or Delete in between never leaves it astray.
func (t *tx) cursor() *bolt.Cursor {
	if t.c == nil {
		t.c = t.b.Cursor()
	}
	return t.c
}

// Get implements [storage.Tx].
func (t *tx) Get(key string) (_ []byte, err error) {
	if t.b == nil {
		return nil, errTxDone
	}
	defer t.contain(&err)
	k := []byte(key)
	// A cursor (rather than Bucket.Get) tells an empty value from an absent key.
	gotKey, v := t.cursor().Seek(k)
	if gotKey == nil || !bytes.Equal(gotKey, k) {
		return nil, storage.ErrNotFound
	}
	return clone(v), nil
}

// Put implements [storage.Tx].
func (t *tx) Put(key string, value []byte) (err error) {
	if err := t.checkWrite(); err != nil {
		return err
	}
	defer t.contain(&err)
	// One allocation for both: bolt keeps key and value until the commit.
	buf := make([]byte, len(key)+len(value))
	copy(buf, key)
	copy(buf[len(key):], value)
	if err := t.b.Put(buf[:len(key):len(key)], buf[len(key):]); err != nil {
		return fmt.Errorf("bbolt: put: %w", err)
	}
	return nil
}

// Delete implements [storage.Tx].
func (t *tx) Delete(key string) (err error) {
	if err := t.checkWrite(); err != nil {
		return err
	}
	defer t.contain(&err)
	// Bucket.Delete, with the transaction's cursor rather than a new one.
	c := t.cursor()
	if k, _ := c.Seek([]byte(key)); k == nil || string(k) != key {
		return nil
	}
	if err := c.Delete(); err != nil {
		return fmt.Errorf("bbolt: delete: %w", err)
	}
	return nil
}

// Scan implements [storage.Tx] with one cursor Seek to the later of prefix and after.
func (t *tx) Scan(prefix, after string, limit int) (_ []storage.Entry, err error) {
	var out []storage.Entry
	err = t.scan(prefix, after, limit, func(k, v []byte) {
		out = append(out, storage.Entry{Key: string(k), Value: clone(v)})
	})
	return out, err
}

// ScanKeys implements [storage.KeyScanner]: Scan without copying the values.
func (t *tx) ScanKeys(prefix, after string, limit int) (_ []string, err error) {
	var out []string
	err = t.scan(prefix, after, limit, func(k, _ []byte) { out = append(out, string(k)) })
	return out, err
}

// scan hands each entry Scan returns to each, its bytes valid only during the call.
func (t *tx) scan(prefix, after string, limit int, each func(k, v []byte)) (err error) {
	if t.b == nil {
		return errTxDone
	}
	defer t.contain(&err)
	start := prefix
	if after > start {
		start = after
	}
	p := []byte(prefix)
	c := t.cursor()
	k, v := c.Seek([]byte(start))
	if k != nil && string(k) == after {
		k, v = c.Next()
	}
	for n := 0; k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		if limit > 0 && n >= limit {
			break
		}
		each(k, v)
		n++
	}
	return nil
}

func (t *tx) checkWrite() error {
	switch {
	case t.b == nil:
		return errTxDone
	case !t.writable:
		return errReadOnly
	}
	return nil
}

// clone copies v; the copy is non-nil even when v is empty.
func clone(v []byte) []byte {
	c := make([]byte, len(v))
	copy(c, v)
	return c
}
