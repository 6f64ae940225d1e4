// Package storagetest owns the conformance suite that every [storage.Backend] passes
// (bbolt, the barrier wrapping a backend, PostgreSQL): call [Run] from the backend's own
// test; [Increment], its isolation check, also serves a test of several views of one
// store. [Memory] is the in-memory backend the tests of the layers above storage run on.
// It imports only storage and test libraries, never a backend.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/coffer/coffer/internal/storage"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Run runs the conformance suite against backends made by newBackend.
//
// newBackend is called once per subtest with that subtest's t and must return a new,
// empty, open backend. The suite closes every backend it gets; newBackend may register
// t.Cleanup for anything else (temporary directories, databases), which then runs after
// Close.
func Run(t *testing.T, newBackend func(t *testing.T) storage.Backend) {
	s := &suite{newBackend: newBackend}
	t.Run("ok/get-missing-is-not-found", s.getMissing)
	t.Run("ok/put-get-roundtrip", s.roundtrip)
	t.Run("ok/put-overwrites", s.overwrite)
	t.Run("ok/get-returns-a-copy", s.getCopy)
	t.Run("ok/put-does-not-keep-value", s.putCopy)
	t.Run("ok/delete", s.deleteKey)
	t.Run("ok/delete-absent", s.deleteAbsent)
	t.Run("ok/scan", s.scan)
	t.Run("ok/scan-returns-copies", s.scanCopy)
	t.Run("ok/scan-pages", s.scanPages)
	t.Run("ok/scan-keys", s.scanKeys) // scankeys.go
	t.Run("ok/read-your-writes", s.readYourWrites)
	t.Run("ok/update-commits-visibly", s.commitVisible)
	t.Run("ok/concurrent-updates", s.concurrentUpdates)
	t.Run("ok/concurrent-read-modify-write", s.concurrentCounter)
	t.Run("ok/no-write-skew", s.noWriteSkew)
	t.Run("ok/shared-readers", s.sharedReaders)
	t.Run("fail/update-error-rolls-back", s.rollbackError)
	t.Run("fail/update-panic-rolls-back", s.rollbackPanic)
	t.Run("fail/concurrent-failing-updates", s.concurrentFailures)
	t.Run("fail/view-is-read-only", s.viewReadOnly)
	t.Run("fail/canceled-context", s.canceled)
	t.Run("fail/closed", s.closed)
	runSnapshot(t, s)
}

type suite struct {
	newBackend func(t *testing.T) storage.Backend
}

// open returns a fresh backend that is closed when t ends.
func (s *suite) open(t *testing.T) storage.Backend {
	t.Helper()
	b := s.newBackend(t)
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

var errBoom = errors.New("storagetest: boom")

// valueOf is the value the suite stores under key unless a test says otherwise.
func valueOf(key string) []byte { return []byte("v:" + key) }

// update runs fn in an Update of b, or fails t.
func update(t *testing.T, b storage.Backend, fn func(storage.Tx) error) {
	t.Helper()
	if err := b.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// Put commits key → value pairs in an Update of their own.
func Put(t *testing.T, b storage.Backend, kv ...string) {
	t.Helper()
	update(t, b, func(tx storage.Tx) error {
		for i := 0; i < len(kv); i += 2 {
			if err := tx.Put(kv[i], []byte(kv[i+1])); err != nil {
				return err
			}
		}
		return nil
	})
}

// get reads key in its own View; missing keys are reported as ok == false.
func get(t *testing.T, b storage.Backend, key string) (value []byte, ok bool) {
	t.Helper()
	err := b.View(t.Context(), func(tx storage.Tx) error {
		var err error
		value, err = tx.Get(key)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil, false
	}
	if err != nil {
		t.Fatalf("View(Get %q): %v", key, err)
	}
	return value, true
}

// WantValue fails t unless key holds want, read in a View of its own.
func WantValue(t *testing.T, b storage.Backend, key, want string) {
	t.Helper()
	got, ok := get(t, b, key)
	if !ok {
		t.Errorf("Get(%q): not found, want %q", key, want)
		return
	}
	if string(got) != want {
		t.Errorf("Get(%q) = %q, want %q", key, got, want)
	}
}

// wantMissing fails t unless key is absent.
func wantMissing(t *testing.T, b storage.Backend, key string) {
	t.Helper()
	if got, ok := get(t, b, key); ok {
		t.Errorf("Get(%q) = %q, want ErrNotFound", key, got)
	}
}

// scanAll returns Scan(prefix, after, limit) in its own View.
func scanAll(t *testing.T, b storage.Backend, prefix, after string, limit int) []storage.Entry {
	t.Helper()
	var got []storage.Entry
	err := b.View(t.Context(), func(tx storage.Tx) error {
		var err error
		got, err = tx.Scan(prefix, after, limit)
		return err
	})
	if err != nil {
		t.Fatalf("View(Scan(%q, %q, %d)): %v", prefix, after, limit, err)
	}
	return got
}

func entries(keys ...string) []storage.Entry {
	var out []storage.Entry
	for _, k := range keys {
		out = append(out, storage.Entry{Key: k, Value: valueOf(k)})
	}
	return out
}

// equateEmpty lets a backend return nil or an empty slice for "no entries" and for an
// empty value.
var equateEmpty = cmpopts.EquateEmpty()

func (s *suite) getMissing(t *testing.T) {
	b := s.open(t)
	Put(t, b, "a/1", "x")
	for _, key := range []string{"a", "a/", "a/10", "b"} {
		var viewErr error
		if err := b.View(t.Context(), func(tx storage.Tx) error {
			_, viewErr = tx.Get(key)
			return nil
		}); err != nil {
			t.Fatalf("View: %v", err)
		}
		if !errors.Is(viewErr, storage.ErrNotFound) {
			t.Errorf("View: Get(%q) error = %v, want ErrNotFound", key, viewErr)
		}
		err := b.Update(t.Context(), func(tx storage.Tx) error {
			_, err := tx.Get(key)
			return err
		})
		if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Update: Get(%q) error = %v, want ErrNotFound", key, err)
		}
	}
}

func (s *suite) roundtrip(t *testing.T) {
	b := s.open(t)
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	values := map[string][]byte{
		"a":            []byte("1"),
		"a/b":          []byte("2"),
		"v/x/secret/y": []byte("hello"),
		"binary":       {0, 1, 0xff, 0, 0x80},
		"empty":        {},
		"unicode/é/名前": []byte("ü"),
		"big":          big,
	}
	update(t, b, func(tx storage.Tx) error {
		for k, v := range values {
			if err := tx.Put(k, v); err != nil {
				return fmt.Errorf("Put(%q): %w", k, err)
			}
		}
		return nil
	})
	for k, want := range values {
		got, ok := get(t, b, k)
		if !ok {
			t.Errorf("Get(%q): not found", k)
			continue
		}
		if !bytes.Equal(got, want) { // cmp.Diff is slow on a MiB of bytes
			t.Errorf("Get(%q) = %d bytes %.20q…, want %d bytes %.20q…", k, len(got), got, len(want), want)
		}
	}
}

func (s *suite) overwrite(t *testing.T) {
	b := s.open(t)
	Put(t, b, "k", "first")
	Put(t, b, "k", "second")
	WantValue(t, b, "k", "second")
	Put(t, b, "k", "")
	WantValue(t, b, "k", "")
}

func (s *suite) getCopy(t *testing.T) {
	b := s.open(t)
	Put(t, b, "k", "value")
	got, _ := get(t, b, "k")
	got[0] = 'X'
	WantValue(t, b, "k", "value")

	update(t, b, func(tx storage.Tx) error {
		v, err := tx.Get("k")
		if err != nil {
			return err
		}
		v[0] = 'Y'
		v, err = tx.Get("k")
		if err != nil {
			return err
		}
		if string(v) != "value" {
			return fmt.Errorf("second Get in the same Tx = %q after mutating the first result", v)
		}
		return nil
	})
	WantValue(t, b, "k", "value")
}

func (s *suite) putCopy(t *testing.T) {
	b := s.open(t)
	update(t, b, func(tx storage.Tx) error {
		v := []byte("value")
		if err := tx.Put("k", v); err != nil {
			return err
		}
		copy(v, "XXXXX")
		got, err := tx.Get("k")
		if err != nil {
			return err
		}
		if string(got) != "value" {
			return fmt.Errorf("Get in the same Tx = %q after mutating the value passed to Put", got)
		}
		return nil
	})
	WantValue(t, b, "k", "value")

	v := []byte("other")
	update(t, b, func(tx storage.Tx) error {
		copy(v, "other") // fn may run more than once
		if err := tx.Put("k2", v); err != nil {
			return err
		}
		copy(v, "XXXXX")
		return nil
	})
	WantValue(t, b, "k2", "other")
}

func (s *suite) deleteKey(t *testing.T) {
	b := s.open(t)
	Put(t, b, "a", "1", "a/b", "2", "ab", "3")
	err := b.Update(t.Context(), func(tx storage.Tx) error { return tx.Delete("a") })
	if err != nil {
		t.Fatalf("Update(Delete): %v", err)
	}
	wantMissing(t, b, "a")
	WantValue(t, b, "a/b", "2")
	WantValue(t, b, "ab", "3")
}

func (s *suite) deleteAbsent(t *testing.T) {
	b := s.open(t)
	Put(t, b, "a/1", "1")
	update(t, b, func(tx storage.Tx) error {
		for _, k := range []string{"never", "a", "a/", "a/10"} {
			if err := tx.Delete(k); err != nil {
				return fmt.Errorf("Delete(%q): %w", k, err)
			}
		}
		return nil
	})
	WantValue(t, b, "a/1", "1")
}

// scanKeys are stored by the scan tests. In byte order "a/Z" < "a/b/1" < "a/z" < "a/é"
// (0x5a < 0x62 < 0x7a < 0xc3), which a locale collation would order differently, and
// "a/…" < "a0" ('/' is 0x2f, '0' is 0x30).
var scanKeys = []string{"a", "a/", "a/1", "a/2", "a/3", "a/Z", "a/b/1", "a/z", "a/é", "a0", "b/", "b/1", "c"}

func putScanKeys(t *testing.T, b storage.Backend) {
	t.Helper()
	var kv []string
	for _, k := range scanKeys {
		kv = append(kv, k, string(valueOf(k)))
	}
	Put(t, b, kv...)
}

func (s *suite) scan(t *testing.T) {
	b := s.open(t)
	putScanKeys(t, b)
	aSlash := []string{"a/", "a/1", "a/2", "a/3", "a/Z", "a/b/1", "a/z", "a/é"}
	tests := []struct {
		name          string
		prefix, after string
		limit         int
		want          []string
	}{
		{"prefix", "a/", "", 0, aSlash},
		{"prefix-excludes-siblings", "a/b/", "", 0, []string{"a/b/1"}},
		{"prefix-without-slash", "a", "", 0, append(append([]string{"a"}, aSlash...), "a0")},
		{"empty-prefix-is-all", "", "", 0, scanKeys},
		{"no-match", "d", "", 0, nil},
		{"prefix-is-a-key-prefix-only", "a/b", "", 0, []string{"a/b/1"}},
		{"after-is-exclusive", "a/", "a/2", 0, []string{"a/3", "a/Z", "a/b/1", "a/z", "a/é"}},
		{"after-absent-key", "a/", "a/25", 0, []string{"a/3", "a/Z", "a/b/1", "a/z", "a/é"}},
		{"after-before-prefix", "a/", "0", 0, aSlash},
		{"after-equals-prefix", "a/", "a/", 0, aSlash[1:]},
		{"after-past-prefix", "a/", "b", 0, nil},
		{"after-last-key", "a/", "a/é", 0, nil},
		{"limit", "a/", "", 2, []string{"a/", "a/1"}},
		{"limit-after", "a/", "a/2", 2, []string{"a/3", "a/Z"}},
		{"limit-above-count", "b/", "", 10, []string{"b/", "b/1"}},
		{"limit-negative-is-all", "a/", "", -1, aSlash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scanAll(t, b, tt.prefix, tt.after, tt.limit)
			if diff := cmp.Diff(entries(tt.want...), got, equateEmpty); diff != "" {
				t.Errorf("Scan(%q, %q, %d) mismatch (-want +got):\n%s", tt.prefix, tt.after, tt.limit, diff)
			}
		})
	}
}

func (s *suite) scanCopy(t *testing.T) {
	b := s.open(t)
	putScanKeys(t, b)
	got := scanAll(t, b, "a/", "", 0)
	for _, e := range got {
		for i := range e.Value {
			e.Value[i] = 'X'
		}
	}
	if diff := cmp.Diff(entries(scanKeys[1:9]...), scanAll(t, b, "a/", "", 0)); diff != "" {
		t.Errorf("Scan after mutating an earlier result (-want +got):\n%s", diff)
	}
}

// scanPages walks enough keys to span many pages of any B-tree, a few at a time.
func (s *suite) scanPages(t *testing.T) {
	b := s.open(t)
	var want []string
	update(t, b, func(tx storage.Tx) error {
		want = want[:0]
		for i := range 2000 {
			k := fmt.Sprintf("p/%05d", i)
			want = append(want, k)
			if err := tx.Put(k, valueOf(k)); err != nil {
				return err
			}
		}
		return tx.Put("q", valueOf("q"))
	})
	var got []storage.Entry
	after := ""
	for {
		page := scanAll(t, b, "p/", after, 7)
		if len(page) > 7 {
			t.Fatalf("Scan(limit 7) returned %d entries", len(page))
		}
		if len(page) == 0 {
			break
		}
		if page[0].Key <= after {
			t.Fatalf("Scan(%q, %q, 7) starts at %q, not after %q", "p/", after, page[0].Key, after)
		}
		got = append(got, page...)
		after = page[len(page)-1].Key
	}
	if diff := cmp.Diff(entries(want...), got); diff != "" {
		t.Errorf("paged Scan mismatch (-want +got):\n%s", diff)
	}
}

func (s *suite) readYourWrites(t *testing.T) {
	b := s.open(t)
	putScanKeys(t, b)
	update(t, b, func(tx storage.Tx) error {
		if err := tx.Put("a/25", valueOf("a/25")); err != nil {
			return err
		}
		if err := tx.Delete("a/3"); err != nil {
			return err
		}
		if err := tx.Put("a/1", []byte("new")); err != nil {
			return err
		}
		if v, err := tx.Get("a/25"); err != nil || string(v) != "v:a/25" {
			return fmt.Errorf("Get(a/25) after Put = %q, %v", v, err)
		}
		if v, err := tx.Get("a/1"); err != nil || string(v) != "new" {
			return fmt.Errorf("Get(a/1) after overwrite = %q, %v", v, err)
		}
		if _, err := tx.Get("a/3"); !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("Get(a/3) after Delete: error = %v, want ErrNotFound", err)
		}
		got, err := tx.Scan("a/", "", 4)
		if err != nil {
			return err
		}
		want := []storage.Entry{
			{Key: "a/", Value: valueOf("a/")},
			{Key: "a/1", Value: []byte("new")},
			{Key: "a/2", Value: valueOf("a/2")},
			{Key: "a/25", Value: valueOf("a/25")},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			return fmt.Errorf("Scan in the same Tx mismatch (-want +got):\n%s", diff)
		}
		return nil
	})
	WantValue(t, b, "a/25", "v:a/25")
	WantValue(t, b, "a/1", "new")
	wantMissing(t, b, "a/3")
}

func (s *suite) commitVisible(t *testing.T) {
	b := s.open(t)
	wantMissing(t, b, "k")
	Put(t, b, "k", "1")
	WantValue(t, b, "k", "1")
	err := b.Update(t.Context(), func(tx storage.Tx) error { return tx.Delete("k") })
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	wantMissing(t, b, "k")
}

const (
	writers          = 64
	writesPerWriter  = 50
	counterWriters   = 16
	incrementsPerOne = 20
)

// concurrentUpdates checks that no write of many concurrent Updates is lost.
func (s *suite) concurrentUpdates(t *testing.T) {
	b := s.open(t)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range writesPerWriter {
				k := fmt.Sprintf("w/%02d/%02d", w, i)
				err := b.Update(t.Context(), func(tx storage.Tx) error { return tx.Put(k, valueOf(k)) })
				if err != nil {
					t.Errorf("Update(Put %q): %v", k, err)
					return
				}
			}
		})
	}
	wg.Wait()
	var want []string
	for w := range writers {
		for i := range writesPerWriter {
			want = append(want, fmt.Sprintf("w/%02d/%02d", w, i))
		}
	}
	if diff := cmp.Diff(entries(want...), scanAll(t, b, "w/", "", 0)); diff != "" {
		t.Errorf("after concurrent Updates (-want +got):\n%s", diff)
	}
}

// concurrentCounter checks that concurrent Updates are isolated: each increment reads the
// result of the previous one, even when a backend groups them into one commit.
func (s *suite) concurrentCounter(t *testing.T) {
	b := s.open(t)
	Put(t, b, "counter", "0")
	Increment(t, counterWriters, incrementsPerOne, b)
	WantValue(t, b, "counter", fmt.Sprint(counterWriters*incrementsPerOne))
}

func (s *suite) noWriteSkew(t *testing.T) {
	b := s.open(t)
	WriteSkew(t, 40, b)
}

// WriteSkew checks that Updates that decide from keys they read and then write other
// keys behave as if they ran one after the other, through backends in turn (one store,
// or several views of one database). Each of rounds rounds runs two Updates at once:
//
//   - absent: each reads keys a and b and, when both are absent, creates its own; one
//     after the other, exactly one of a and b exists at the end;
//   - present: x and y are "1"; each reads both and, when both are "1", sets its own to
//     "0"; one after the other, at most one is "0" at the end (the "on-call" write skew,
//     which snapshot isolation without locks allows).
func WriteSkew(t *testing.T, rounds int, backends ...storage.Backend) {
	t.Helper()
	for r := range rounds {
		x, y := fmt.Sprintf("skew/%d/x", r), fmt.Sprintf("skew/%d/y", r)
		Put(t, backends[0], x, "1", y, "1")
	}
	decide := func(r, i int) func(storage.Tx) error {
		return func(tx storage.Tx) error {
			a, b := fmt.Sprintf("skew/%d/a", r), fmt.Sprintf("skew/%d/b", r)
			_, errA := tx.Get(a)
			_, errB := tx.Get(b)
			for _, err := range []error{errA, errB} {
				if err != nil && !errors.Is(err, storage.ErrNotFound) {
					return err
				}
			}
			if errA != nil && errB != nil {
				if err := tx.Put([]string{a, b}[i], []byte("mine")); err != nil {
					return err
				}
			}
			x, y := fmt.Sprintf("skew/%d/x", r), fmt.Sprintf("skew/%d/y", r)
			vx, err := tx.Get(x)
			if err != nil {
				return err
			}
			vy, err := tx.Get(y)
			if err != nil {
				return err
			}
			if string(vx) == "1" && string(vy) == "1" {
				return tx.Put([]string{x, y}[i], []byte("0"))
			}
			return nil
		}
	}
	var wg sync.WaitGroup
	for r := range rounds {
		start := make(chan struct{})
		for i := range 2 {
			b := backends[(r+i)%len(backends)]
			wg.Go(func() {
				<-start
				if err := b.Update(t.Context(), decide(r, i)); err != nil {
					t.Errorf("Update(round %d, %d): %v", r, i, err)
				}
			})
		}
		close(start)
	}
	wg.Wait()
	for r := range rounds {
		_, okA := get(t, backends[0], fmt.Sprintf("skew/%d/a", r))
		_, okB := get(t, backends[0], fmt.Sprintf("skew/%d/b", r))
		if okA == okB {
			t.Errorf("round %d: a exists %v, b exists %v: want exactly one (two Updates both saw neither)", r, okA, okB)
		}
		vx, _ := get(t, backends[0], fmt.Sprintf("skew/%d/x", r))
		vy, _ := get(t, backends[0], fmt.Sprintf("skew/%d/y", r))
		if string(vx) == "0" && string(vy) == "0" {
			t.Errorf("round %d: x and y both 0: two Updates both saw both at 1", r)
		}
	}
}

func (s *suite) sharedReaders(t *testing.T) {
	b := s.open(t)
	SharedReaders(t, 8, 5, b)
}

// SharedReaders checks [storage.GetShared] against [storage.GetExclusive], through
// backends in turn: writers read "shared" exclusively and add 1 to it, each also
// writing "shared-log/<new value>"; readers, at the same time, read it shared and then
// list shared-log/. A reader must list exactly as many entries as the value it read: no
// writer committed between its read and its commit.
func SharedReaders(t *testing.T, goroutines, rounds int, backends ...storage.Backend) {
	t.Helper()
	Put(t, backends[0], "shared", "0")
	var wg sync.WaitGroup
	for g := range 2 * goroutines {
		b := backends[g%len(backends)]
		wg.Go(func() {
			for range rounds {
				var err error
				if g%2 == 0 {
					err = b.Update(t.Context(), func(tx storage.Tx) error {
						v, err := storage.GetExclusive(tx, "shared")
						if err != nil {
							return err
						}
						var n int
						if _, err := fmt.Sscan(string(v), &n); err != nil {
							return err
						}
						if err := tx.Put("shared", fmt.Append(nil, n+1)); err != nil {
							return err
						}
						return tx.Put(fmt.Sprintf("shared-log/%06d", n+1), nil)
					})
				} else {
					err = b.Update(t.Context(), func(tx storage.Tx) error {
						v, err := storage.GetShared(tx, "shared")
						if err != nil {
							return err
						}
						es, err := tx.Scan("shared-log/", "", 0)
						if err != nil {
							return err
						}
						if string(v) != fmt.Sprint(len(es)) {
							t.Errorf("a reader read shared = %s under its shared lock, then listed %d log entries: a writer committed in between", v, len(es))
						}
						return tx.Put(fmt.Sprintf("reader/%d", g), v)
					})
				}
				if err != nil {
					t.Errorf("Update: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	WantValue(t, backends[0], "shared", fmt.Sprint(goroutines*rounds))
}

// Increment has goroutines goroutines add 1 to the decimal number stored under "counter",
// increments times each, through backends in turn (one store, or several views of one
// database, as several servers have): each increment reads the counter and writes it
// back in one Update, so the counter ends exact only if Updates are isolated. It returns
// when all are done; a failed Update is reported on t.
func Increment(t *testing.T, goroutines, increments int, backends ...storage.Backend) {
	t.Helper()
	var wg sync.WaitGroup
	for g := range goroutines {
		b := backends[g%len(backends)]
		wg.Go(func() {
			for range increments {
				err := b.Update(t.Context(), func(tx storage.Tx) error {
					v, err := tx.Get("counter")
					if err != nil {
						return err
					}
					var n int
					if _, err := fmt.Sscan(string(v), &n); err != nil {
						return err
					}
					return tx.Put("counter", fmt.Append(nil, n+1))
				})
				if err != nil {
					t.Errorf("Update(increment): %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func (s *suite) rollbackError(t *testing.T) {
	b := s.open(t)
	Put(t, b, "keep", "old", "gone", "old")
	err := b.Update(t.Context(), func(tx storage.Tx) error {
		if err := tx.Put("new", []byte("x")); err != nil {
			return err
		}
		if err := tx.Put("keep", []byte("changed")); err != nil {
			return err
		}
		if err := tx.Delete("gone"); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", errBoom)
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update error = %v, want fn's error", err)
	}
	wantMissing(t, b, "new")
	WantValue(t, b, "keep", "old")
	WantValue(t, b, "gone", "old")
}

func (s *suite) rollbackPanic(t *testing.T) {
	b := s.open(t)
	Put(t, b, "keep", "old")
	type panicValue struct{ msg string }
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		_ = b.Update(t.Context(), func(tx storage.Tx) error {
			if err := tx.Put("new", []byte("x")); err != nil {
				return err
			}
			if err := tx.Put("keep", []byte("changed")); err != nil {
				return err
			}
			panic(panicValue{"boom"})
		})
		t.Errorf("Update returned after fn panicked")
	}()
	if diff := cmp.Diff(panicValue{"boom"}, recovered, cmp.AllowUnexported(panicValue{})); diff != "" {
		t.Errorf("recovered panic value (-want +got):\n%s", diff)
	}
	wantMissing(t, b, "new")
	WantValue(t, b, "keep", "old")
	// The backend still works.
	Put(t, b, "after", "1")
	WantValue(t, b, "after", "1")
}

// concurrentFailures mixes failing and panicking Updates with successful ones: the
// successful writes all land, the failing ones never appear.
func (s *suite) concurrentFailures(t *testing.T) {
	b := s.open(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var want []string
	for w := range writers {
		wg.Go(func() {
			for i := range writesPerWriter / 5 {
				k := fmt.Sprintf("f/%02d/%02d", w, i)
				mode := (w + i) % 3 // 0: succeed, 1: fail, 2: panic
				var err error
				func() {
					defer func() {
						if p := recover(); p != nil && p != "storagetest: boom" {
							t.Errorf("Update(%q) panicked with %v", k, p)
						}
					}()
					err = b.Update(t.Context(), func(tx storage.Tx) error {
						if err := tx.Put(k, valueOf(k)); err != nil {
							return err
						}
						// Also clobber a key shared with other writers: a failing Update
						// must not leave its value behind.
						if err := tx.Put(sharedKey(w), []byte(k)); err != nil {
							return err
						}
						switch mode {
						case 1:
							return errBoom
						case 2:
							panic("storagetest: boom")
						}
						return nil
					})
				}()
				switch {
				case mode == 0 && err != nil:
					t.Errorf("Update(%q): %v", k, err)
				case mode == 0:
					mu.Lock()
					want = append(want, k)
					mu.Unlock()
				case mode == 1 && !errors.Is(err, errBoom):
					t.Errorf("failing Update(%q) error = %v, want fn's error", k, err)
				}
			}
		})
	}
	wg.Wait()
	slices.Sort(want)
	for _, e := range scanAll(t, b, "shared/", "", 0) {
		if _, ok := slices.BinarySearch(want, string(e.Value)); !ok {
			t.Errorf("%s = %q, written by a failed Update", e.Key, e.Value)
		}
	}
	if diff := cmp.Diff(entries(want...), scanAll(t, b, "f/", "", 0)); diff != "" {
		t.Errorf("after concurrent failing Updates (-want +got):\n%s", diff)
	}
}

// sharedKey is written by every eighth writer of concurrentFailures: enough contention to
// mix failing and successful writes to one key, little enough for a backend that retries
// conflicting transactions.
func sharedKey(writer int) string { return fmt.Sprintf("shared/%d", writer%8) }

func (s *suite) viewReadOnly(t *testing.T) {
	b := s.open(t)
	Put(t, b, "k", "old")
	var putErr, delErr error
	err := b.View(t.Context(), func(tx storage.Tx) error {
		putErr = tx.Put("k", []byte("new"))
		delErr = tx.Delete("k")
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	if putErr == nil {
		t.Errorf("Put in View: no error")
	}
	if delErr == nil {
		t.Errorf("Delete in View: no error")
	}
	WantValue(t, b, "k", "old")

	err = b.View(t.Context(), func(tx storage.Tx) error { return errBoom })
	if !errors.Is(err, errBoom) {
		t.Errorf("View error = %v, want fn's error", err)
	}
}

func (s *suite) canceled(t *testing.T) {
	b := s.open(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := b.Update(ctx, func(tx storage.Tx) error { return tx.Put("k", []byte("v")) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update with a canceled context: error = %v, want context.Canceled", err)
	}
	wantMissing(t, b, "k")
	err = b.View(ctx, func(tx storage.Tx) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("View with a canceled context: error = %v, want context.Canceled", err)
	}
}

func (s *suite) closed(t *testing.T) {
	b := s.newBackend(t)
	Put(t, b, "k", "v")
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	called := false
	fn := func(tx storage.Tx) error {
		called = true
		_, err := tx.Get("k")
		return err
	}
	if err := b.View(t.Context(), fn); err == nil {
		t.Errorf("View after Close: no error")
	}
	if err := b.Update(t.Context(), fn); err == nil {
		t.Errorf("Update after Close: no error")
	}
	if called {
		t.Errorf("fn called after Close")
	}
	_ = b.Close() // a second Close may fail, but must not panic
}
