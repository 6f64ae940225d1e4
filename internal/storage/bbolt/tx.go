package bbolt

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/coffer/coffer/internal/storage"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// errTxDone is returned when a Tx is used after its function returned.
var errTxDone = errors.New("bbolt: transaction used outside its function")

// errReadOnly is returned by Put and Delete inside [DB.View].
var errReadOnly = errors.New("bbolt: write in a read-only transaction")

// tx adapts the overlay over the bucket of one bolt read transaction to [storage.Tx]
// (see overlay.go): reads look in the overlay first, writes go to the overlay alone (an
// Update's, noted in log so that the committer can take them back or log them). Values
// read from bolt point into the memory map and are only valid during the transaction, so
// every value handed out is a copy; values handed in are copied too, because the overlay
// keeps them.
type tx struct {
	b        *bolt.Bucket // nil once the function has returned
	c        *bolt.Cursor // b's, made on first use; every use starts with a Seek
	over     *overlay     // nil: none
	under    *overlay     // the frozen overlay, between over and the file (nil: none)
	log      *[]undo      // an Update's: where its changes are noted
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

func (t *tx) invalidate() { t.b, t.c, t.over, t.under, t.log = nil, nil, nil, nil, nil }

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
	if it, ok := t.overlaid(key); ok {
		if it.del {
			return nil, storage.ErrNotFound
		}
		return clone(it.val), nil
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
	switch {
	case key == "":
		return fmt.Errorf("bbolt: put: %w", berrors.ErrKeyRequired)
	case len(key) > bolt.MaxKeySize:
		return fmt.Errorf("bbolt: put: %w", berrors.ErrKeyTooLarge)
	case int64(len(value)) > bolt.MaxValueSize:
		return fmt.Errorf("bbolt: put: %w", berrors.ErrValueTooLarge)
	}
	set(t.over, t.log, item{key: key, val: clone(value)})
	return nil
}

// Delete implements [storage.Tx].
func (t *tx) Delete(key string) (err error) {
	if err := t.checkWrite(); err != nil {
		return err
	}
	defer t.contain(&err)
	if e, ok := t.over.Get(item{key: key}); ok && e.del {
		return nil // deleted already
	}
	if !t.below(key) {
		remove(t.over, t.log, key) // nothing below holds it: no deletion to remember
		return nil
	}
	set(t.over, t.log, item{key: key, del: true})
	return nil
}

// overlaid returns key's entry in the overlays, the live one first.
func (t *tx) overlaid(key string) (item, bool) {
	for _, o := range [2]*overlay{t.over, t.under} {
		if o == nil {
			continue
		}
		if it, ok := o.Get(item{key: key}); ok {
			return it, true
		}
	}
	return item{}, false
}

// below reports whether key has a value under the live overlay: in the frozen one, or in
// the file unless the frozen one deletes it.
func (t *tx) below(key string) bool {
	if t.under != nil {
		if it, ok := t.under.Get(item{key: key}); ok {
			return !it.del
		}
	}
	k, _ := t.cursor().Seek([]byte(key))
	return k != nil && string(k) == key
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
	n := 0
	walk([]*overlay{t.over, t.under}, t.cursor(), []byte(start), func(k, v []byte) bool {
		if string(k) == after {
			return true
		}
		if !bytes.HasPrefix(k, p) || (limit > 0 && n >= limit) {
			return false
		}
		each(k, v)
		n++
		return true
	})
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
