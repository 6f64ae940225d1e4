package barrier_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/coffer/coffer/internal/barrier"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

const keyringKey = "barrier/keyring"

// newMem is an in-memory store whose Updates run their function twice, as a
// group-committing backend may.
func newMem() *storagetest.Memory {
	m := storagetest.NewMemory()
	m.Rerun = true
	return m
}

func newKEK(t testing.TB) []byte {
	t.Helper()
	s, err := barrier.GenerateKEK()
	if err != nil {
		t.Fatal(err)
	}
	kek, err := barrier.ParseKEK(s)
	if err != nil {
		t.Fatal(err)
	}
	return kek
}

// newBarrier opens a barrier with a fresh keyring over a new in-memory store.
func newBarrier(t testing.TB) (*barrier.Barrier, *storagetest.Memory, []byte) {
	t.Helper()
	inner := newMem()
	kek := newKEK(t)
	b, err := barrier.Open(t.Context(), inner, kek, barrier.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	return b, inner, kek
}

func put(t testing.TB, b storage.Backend, key string, value []byte) {
	t.Helper()
	err := b.Update(context.Background(), func(tx storage.Tx) error { return tx.Put(key, value) })
	if err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
}

func get(b storage.Backend, key string) ([]byte, error) {
	var v []byte
	err := b.View(context.Background(), func(tx storage.Tx) error {
		var err error
		v, err = tx.Get(key)
		return err
	})
	return v, err
}

func mustGet(t testing.TB, b storage.Backend, key string) []byte {
	t.Helper()
	v, err := get(b, key)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	return v
}

func scan(b storage.Backend, prefix, after string, limit int) ([]storage.Entry, error) {
	var es []storage.Entry
	err := b.View(context.Background(), func(tx storage.Tx) error {
		var err error
		es, err = tx.Scan(prefix, after, limit)
		return err
	})
	return es, err
}

func keys(es []storage.Entry) []string {
	var ks []string
	for _, e := range es {
		ks = append(ks, e.Key)
	}
	return ks
}

func term(v []byte) uint32 { return binary.BigEndian.Uint32(v) }

func TestRoundTrip(t *testing.T) {
	b, _, _ := newBarrier(t)
	values := map[string][]byte{
		"v/a/secret/x":  []byte("hunter2"),
		"v/a/secret/y":  {},
		"v/a/secret/z":  bytes.Repeat([]byte{0xa5}, 1<<20),
		"v/b/secret/x":  []byte("other vault"),
		"meta/version":  []byte("1"),
		"barrierfree":   []byte("not reserved"),
		"barrier-x/key": []byte("not reserved either"),
	}
	err := b.Update(t.Context(), func(tx storage.Tx) error {
		for k, v := range values {
			if err := tx.Put(k, v); err != nil {
				return err
			}
		}
		// Reads inside the transaction see its own writes, decrypted.
		got, err := tx.Get("v/a/secret/x")
		if err != nil || string(got) != "hunter2" {
			return fmt.Errorf("read own write: %q, %v", got, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range values {
		if got := mustGet(t, b, k); !bytes.Equal(got, want) {
			t.Errorf("get %q: got %d bytes, want %d", k, len(got), len(want))
		}
	}

	es, err := scan(b, "v/a/", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(keys(es), ","), "v/a/secret/x,v/a/secret/y,v/a/secret/z"; got != want {
		t.Fatalf("scan keys = %s, want %s", got, want)
	}
	for _, e := range es {
		if !bytes.Equal(e.Value, values[e.Key]) {
			t.Errorf("scan %q: wrong value", e.Key)
		}
	}
	es, err = scan(b, "v/", "v/a/secret/y", 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(keys(es), ","), "v/a/secret/z,v/b/secret/x"; got != want {
		t.Fatalf("scan after, limit = %s, want %s", got, want)
	}

	err = b.Update(t.Context(), func(tx storage.Tx) error { return tx.Delete("v/a/secret/x") })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := get(b, "v/a/secret/x"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("get deleted: %v, want ErrNotFound", err)
	}
	if _, err := get(b, "never/written"); err != storage.ErrNotFound {
		t.Fatalf("get absent: %v, want storage.ErrNotFound itself", err)
	}
}

func TestInnerHoldsNoPlaintext(t *testing.T) {
	b, inner, _ := newBarrier(t)
	secret := []byte("correct horse battery staple 0123456789")
	put(t, b, "v/a/secret/s", secret)
	put(t, b, "v/a/secret/s2", append([]byte("prefix-"), secret...))
	forms := [][]byte{
		secret,
		[]byte(hex.EncodeToString(secret)),
		[]byte(base64.StdEncoding.EncodeToString(secret)),
		[]byte(base64.RawURLEncoding.EncodeToString(secret)),
		secret[:16], // no long fragment either
	}
	for k, v := range inner.Snapshot() {
		for _, f := range forms {
			if bytes.Contains(v, f) || strings.Contains(k, string(f)) {
				t.Errorf("inner %q holds a plaintext form %q", k, f)
			}
		}
	}
	if v := inner.Raw("v/a/secret/s"); len(v) != 4+1+12+len(secret)+16 || v[4] != 1 || term(v) != 1 {
		t.Errorf("sealed value: %d bytes, version %d, term %d", len(v), v[4], term(v))
	}
	// Two seals of the same plaintext differ (random nonce).
	put(t, b, "v/a/secret/s", secret)
	first := inner.Raw("v/a/secret/s")
	put(t, b, "v/a/secret/s", secret)
	if bytes.Equal(first, inner.Raw("v/a/secret/s")) {
		t.Error("same plaintext sealed twice gives the same bytes")
	}
}

func TestCopiedValueFailsToOpen(t *testing.T) {
	b, inner, _ := newBarrier(t)
	put(t, b, "v/a/secret/one", []byte("one"))
	put(t, b, "v/a/secret/two", []byte("two"))
	inner.SetRaw("v/a/secret/two", inner.Raw("v/a/secret/one"))
	if v, err := get(b, "v/a/secret/two"); err == nil {
		t.Fatalf("value moved to another key opened: %q", v)
	}
	es, err := scan(b, "v/", "", 0)
	if err == nil {
		t.Fatalf("scan over a moved value succeeded: %v", keys(es))
	}
	// The keyring is not a data value either.
	inner.SetRaw("v/a/secret/two", inner.Raw(keyringKey))
	if _, err := get(b, "v/a/secret/two"); err == nil {
		t.Fatal("keyring copied to a data key opened")
	}
}

func TestFlippedByteFails(t *testing.T) {
	b, inner, _ := newBarrier(t)
	put(t, b, "k", []byte("a value of some length"))
	sealed := inner.Raw("k")
	for i := range sealed {
		for _, bit := range []byte{0x01, 0x80} {
			v := bytes.Clone(sealed)
			v[i] ^= bit
			inner.SetRaw("k", v)
			if got, err := get(b, "k"); err == nil {
				t.Fatalf("byte %d ^ %#x: opened as %q", i, bit, got)
			}
		}
	}
	inner.SetRaw("k", sealed)
	if got := mustGet(t, b, "k"); string(got) != "a value of some length" {
		t.Fatalf("restored value = %q", got)
	}
}

func TestTruncatedFails(t *testing.T) {
	b, inner, _ := newBarrier(t)
	put(t, b, "k", []byte("truncate me"))
	sealed := inner.Raw("k")
	for n := range len(sealed) {
		inner.SetRaw("k", sealed[:n])
		if got, err := get(b, "k"); err == nil {
			t.Fatalf("value cut to %d bytes opened as %q", n, got)
		}
	}
	inner.SetRaw("k", append(bytes.Clone(sealed), 0))
	if _, err := get(b, "k"); err == nil {
		t.Fatal("value with a byte appended opened")
	}
}

func TestWrongKEK(t *testing.T) {
	b, inner, _ := newBarrier(t)
	put(t, b, "v/a/secret/x", []byte("x"))
	before := inner.Snapshot()
	for _, create := range []bool{false, true} {
		_, err := barrier.Open(t.Context(), inner, newKEK(t), barrier.Options{Create: create})
		if !errors.Is(err, barrier.ErrWrongKEK) {
			t.Fatalf("create=%v: err = %v, want ErrWrongKEK", create, err)
		}
		if !strings.Contains(err.Error(), "wrong COFFER_MASTER_KEY or master.key?") {
			t.Errorf("message %q does not name the cause", err)
		}
	}
	after := inner.Snapshot()
	if len(after) != len(before) || !bytes.Equal(after[keyringKey], before[keyringKey]) {
		t.Fatal("a wrong KEK changed the storage")
	}
}

func TestKEKSize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := barrier.Open(t.Context(), newMem(), make([]byte, n), barrier.Options{Create: true}); err == nil {
			t.Errorf("Open with a %d-byte KEK succeeded", n)
		}
	}
}

func TestAlteredKeyring(t *testing.T) {
	_, inner, kek := newBarrier(t)
	sealed := inner.Raw(keyringKey)
	for i := range sealed {
		v := bytes.Clone(sealed)
		v[i] ^= 0x10
		inner.SetRaw(keyringKey, v)
		if _, err := barrier.Open(t.Context(), inner, kek, barrier.Options{Create: true}); err == nil {
			t.Fatalf("keyring with byte %d altered opened", i)
		}
		if !bytes.Equal(inner.Raw(keyringKey), v) {
			t.Fatal("Open replaced an unreadable keyring")
		}
	}
	for n := range len(sealed) {
		inner.SetRaw(keyringKey, sealed[:n])
		if _, err := barrier.Open(t.Context(), inner, kek, barrier.Options{Create: true}); err == nil {
			t.Fatalf("keyring cut to %d bytes opened", n)
		}
	}
}

func TestCreate(t *testing.T) {
	t.Run("absent without Create", func(t *testing.T) {
		inner := newMem()
		_, err := barrier.Open(t.Context(), inner, newKEK(t), barrier.Options{})
		if !errors.Is(err, barrier.ErrNoKeyring) {
			t.Fatalf("err = %v, want ErrNoKeyring", err)
		}
		if len(inner.Snapshot()) != 0 {
			t.Fatal("Open without Create wrote to storage")
		}
	})
	t.Run("refused over data", func(t *testing.T) {
		inner := newMem()
		inner.SetRaw("v/a/secret/x", []byte("written by someone else"))
		_, err := barrier.Open(t.Context(), inner, newKEK(t), barrier.Options{Create: true})
		if err == nil || !strings.Contains(err.Error(), "storage holds data but no keyring") {
			t.Fatalf("err = %v, want refusal", err)
		}
		if inner.Raw(keyringKey) != nil {
			t.Fatal("a keyring was created over existing data")
		}
	})
	t.Run("existing kept", func(t *testing.T) {
		b, inner, kek := newBarrier(t)
		put(t, b, "k", []byte("v"))
		ring := inner.Raw(keyringKey)
		b2, err := barrier.Open(t.Context(), inner, kek, barrier.Options{Create: true})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(inner.Raw(keyringKey), ring) {
			t.Fatal("Open with Create replaced the keyring")
		}
		if got := mustGet(t, b2, "k"); string(got) != "v" {
			t.Fatalf("get = %q", got)
		}
		if b2.Terms() != 1 || b2.ActiveTerm() != 1 {
			t.Fatalf("terms = %d, active = %d", b2.Terms(), b2.ActiveTerm())
		}
	})
}

func TestRotate(t *testing.T) {
	b, inner, kek := newBarrier(t)
	put(t, b, "old", []byte("sealed under term 1"))
	ring1 := inner.Raw(keyringKey)
	n, err := b.Rotate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || b.Terms() != 2 || b.ActiveTerm() != 2 {
		t.Fatalf("rotate = %d, terms = %d, active = %d", n, b.Terms(), b.ActiveTerm())
	}
	if bytes.Equal(inner.Raw(keyringKey), ring1) {
		t.Fatal("rotate did not write a new keyring")
	}
	put(t, b, "new", []byte("sealed under term 2"))
	if got := term(inner.Raw("old")); got != 1 {
		t.Errorf("old value term = %d, want 1", got)
	}
	if got := term(inner.Raw("new")); got != 2 {
		t.Errorf("new value term = %d, want 2", got)
	}
	for _, bb := range []storage.Backend{b, reopen(t, inner, kek)} {
		if got := mustGet(t, bb, "old"); string(got) != "sealed under term 1" {
			t.Errorf("old = %q", got)
		}
		if got := mustGet(t, bb, "new"); string(got) != "sealed under term 2" {
			t.Errorf("new = %q", got)
		}
	}
	if n, err := b.Rotate(t.Context()); err != nil || n != 3 {
		t.Fatalf("second rotate = %d, %v", n, err)
	}
	if r := reopen(t, inner, kek); r.Terms() != 3 || r.ActiveTerm() != 3 {
		t.Fatalf("reopened: terms = %d, active = %d", r.Terms(), r.ActiveTerm())
	}
}

// Two servers share one storage: a value sealed under a term one of them added opens on the
// other, which then seals with that term too.
func TestRotateSeenByOtherBarrier(t *testing.T) {
	b1, inner, kek := newBarrier(t)
	b2 := reopen(t, inner, kek)
	if _, err := b1.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	put(t, b1, "k", []byte("from b1"))
	if got := mustGet(t, b2, "k"); string(got) != "from b1" {
		t.Fatalf("b2 get = %q", got)
	}
	if b2.ActiveTerm() != 2 {
		t.Fatalf("b2 active term = %d after reading a term-2 value, want 2", b2.ActiveTerm())
	}
	put(t, b2, "k2", []byte("from b2"))
	if got := term(inner.Raw("k2")); got != 2 {
		t.Fatalf("b2 sealed with term %d, want 2", got)
	}
	// A term no keyring holds is an error.
	v := inner.Raw("k")
	binary.BigEndian.PutUint32(v, 7)
	inner.SetRaw("k", v)
	if _, err := get(b2, "k"); err == nil || !strings.Contains(err.Error(), "term 7") {
		t.Fatalf("unknown term: err = %v", err)
	}
}

func TestRekey(t *testing.T) {
	b, inner, oldKEK := newBarrier(t)
	put(t, b, "k", []byte("survives rekey"))
	if _, err := b.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	put(t, b, "k2", []byte("term 2"))

	newKEK := newKEK(t)
	ring := inner.Raw(keyringKey)
	if err := barrier.Rekey(t.Context(), inner, newKEK, oldKEK); !errors.Is(err, barrier.ErrWrongKEK) {
		t.Fatalf("rekey with the wrong old KEK: %v, want ErrWrongKEK", err)
	}
	if !bytes.Equal(inner.Raw(keyringKey), ring) {
		t.Fatal("failed rekey changed the keyring")
	}
	dataBefore := inner.Raw("k")
	if err := barrier.Rekey(t.Context(), inner, oldKEK, newKEK); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(inner.Raw("k"), dataBefore) {
		t.Fatal("rekey touched a data value")
	}
	if _, err := barrier.Open(t.Context(), inner, oldKEK, barrier.Options{}); !errors.Is(err, barrier.ErrWrongKEK) {
		t.Fatalf("old KEK after rekey: %v, want ErrWrongKEK", err)
	}
	r := reopen(t, inner, newKEK)
	if got := mustGet(t, r, "k"); string(got) != "survives rekey" {
		t.Fatalf("k = %q", got)
	}
	if got := mustGet(t, r, "k2"); string(got) != "term 2" {
		t.Fatalf("k2 = %q", got)
	}
	if r.Terms() != 2 || r.ActiveTerm() != 2 {
		t.Fatalf("terms = %d, active = %d", r.Terms(), r.ActiveTerm())
	}
	if err := barrier.Rekey(t.Context(), newMem(), newKEK, oldKEK); !errors.Is(err, barrier.ErrNoKeyring) {
		t.Fatalf("rekey of empty storage: %v, want ErrNoKeyring", err)
	}
}

func TestReservedPrefix(t *testing.T) {
	b, inner, _ := newBarrier(t)
	ring := inner.Raw(keyringKey)
	for _, k := range []string{keyringKey, "barrier/", "barrier/other"} {
		if v, err := get(b, k); err == nil || errors.Is(err, storage.ErrNotFound) {
			t.Errorf("get %q: %q, %v; want a reserved-key error", k, v, err)
		}
		err := b.Update(t.Context(), func(tx storage.Tx) error { return tx.Put(k, []byte("x")) })
		if err == nil {
			t.Errorf("put %q succeeded", k)
		}
		err = b.Update(t.Context(), func(tx storage.Tx) error { return tx.Delete(k) })
		if err == nil {
			t.Errorf("delete %q succeeded", k)
		}
	}
	if !bytes.Equal(inner.Raw(keyringKey), ring) || inner.Raw("barrier/other") != nil {
		t.Fatal("reserved keys changed through the barrier")
	}

	// Keys around the reserved one in byte order: "barrier-a" < "barrier/keyring" < "barrier0".
	for _, k := range []string{"a", "barrier-a", "barrier0", "c"} {
		put(t, b, k, []byte(k))
	}
	all := "a,barrier-a,barrier0,c"
	for _, prefix := range []string{"", "b", "barrier"} {
		es, err := scan(b, prefix, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys(es) {
			if strings.HasPrefix(k, "barrier/") {
				t.Fatalf("scan %q returned reserved key %q", prefix, k)
			}
		}
	}
	for _, prefix := range []string{"barrier/", "barrier/k"} {
		if es, err := scan(b, prefix, "", 0); err != nil || len(es) != 0 {
			t.Fatalf("scan %q = %v, %v; want nothing", prefix, keys(es), err)
		}
	}
	// Pages stay full across the skipped key, so a short page still means the end.
	for limit := 1; limit <= 5; limit++ {
		var got []string
		after := ""
		for {
			es, err := scan(b, "", after, limit)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, keys(es)...)
			if len(es) < limit {
				break
			}
			after = es[len(es)-1].Key
		}
		if strings.Join(got, ",") != all {
			t.Fatalf("limit %d: pages = %v, want %s", limit, got, all)
		}
	}
	if es, err := scan(b, "", "barrier-a", 1); err != nil || strings.Join(keys(es), ",") != "barrier0" {
		t.Fatalf("scan after barrier-a, limit 1 = %v, %v", keys(es), err)
	}
}

func TestCloseClosesInner(t *testing.T) {
	b, inner, _ := newBarrier(t)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := inner.View(t.Context(), func(storage.Tx) error { return nil }); !errors.Is(err, storagetest.ErrClosed) {
		t.Fatalf("inner not closed: View = %v", err)
	}
	if _, err := get(b, "k"); err == nil {
		t.Fatal("get after close succeeded")
	}
}

func TestConcurrent(t *testing.T) {
	b, inner, kek := newBarrier(t)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				k := fmt.Sprintf("w%d/%d", w, i)
				put(t, b, k, []byte(k))
				if got := mustGet(t, b, k); string(got) != k {
					t.Errorf("get %q = %q", k, got)
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if _, err := b.Rotate(context.Background()); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	r := reopen(t, inner, kek)
	if r.Terms() != 6 {
		t.Fatalf("terms = %d, want 6", r.Terms())
	}
	es, err := scan(r, "w", "", 0)
	if err != nil || len(es) != 8*50 {
		t.Fatalf("scan: %d entries, %v", len(es), err)
	}
	for _, e := range es {
		if string(e.Value) != e.Key {
			t.Fatalf("%q = %q", e.Key, e.Value)
		}
	}
}

func TestParseKEK(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb}, 32) // encodes with '+' and '/'
	std := base64.StdEncoding.EncodeToString(raw)
	for _, s := range []string{std, std + "\n", "  " + std + "\r\n", "\t" + std + " \n"} {
		got, err := barrier.ParseKEK(s)
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("ParseKEK(%q) = %x, %v", s, got, err)
		}
	}
	bad := []string{
		"",
		"\n",
		base64.StdEncoding.EncodeToString(raw[:31]),
		base64.StdEncoding.EncodeToString(append(raw, 1)),
		base64.RawStdEncoding.EncodeToString(raw), // unpadded
		base64.URLEncoding.EncodeToString(raw),    // not standard
		hex.EncodeToString(raw),
		std[:20] + " " + std[20:],
		"not base64 at all!!",
	}
	for _, s := range bad {
		_, err := barrier.ParseKEK(s)
		if err == nil {
			t.Errorf("ParseKEK(%q) succeeded", s)
			continue
		}
		if len(strings.TrimSpace(s)) > 8 && strings.Contains(err.Error(), strings.TrimSpace(s)[:8]) {
			t.Errorf("error %q repeats the key text", err)
		}
	}
	a, err := barrier.GenerateKEK()
	if err != nil {
		t.Fatal(err)
	}
	c, _ := barrier.GenerateKEK()
	if a == c {
		t.Fatal("two generated KEKs are equal")
	}
	if _, err := barrier.ParseKEK(a + "\n"); err != nil {
		t.Fatalf("generated KEK does not parse: %v", err)
	}
}

func reopen(t testing.TB, inner storage.Backend, kek []byte) *barrier.Barrier {
	t.Helper()
	b, err := barrier.Open(context.Background(), inner, kek, barrier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzOpenValue(f *testing.F) {
	inner := newMem()
	b, err := barrier.Open(context.Background(), inner, newKEK(f), barrier.Options{Create: true})
	if err != nil {
		f.Fatal(err)
	}
	const plain = "fuzz plaintext"
	put(f, b, "k", []byte(plain))
	valid := inner.Raw("k")
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add(valid[:17])
	f.Add([]byte{})
	f.Add(inner.Raw(keyringKey))
	unknown := bytes.Clone(valid)
	unknown[3] = 9
	f.Add(unknown)
	version := bytes.Clone(valid)
	version[4] = 2
	f.Add(version)
	f.Fuzz(func(t *testing.T, v []byte) {
		inner.SetRaw("k", v)
		got, err := get(b, "k")
		if err != nil {
			return
		}
		if !bytes.Equal(v, valid) || string(got) != plain {
			t.Fatalf("%x opened as %q", v, got)
		}
	})
}

// TestOpens: Opens accepts a stored value at its own key, refuses it at another key, with
// a byte changed or cut short, and leaves the bytes it was given as they were.
func TestOpens(t *testing.T) {
	b, inner, _ := newBarrier(t)
	put(t, b, "v/a/secret/one", []byte("one"))
	sealed := inner.Raw("v/a/secret/one")
	keep := bytes.Clone(sealed)
	if err := b.Opens("v/a/secret/one", sealed); err != nil {
		t.Fatalf("Opens of a sound value: %v", err)
	}
	if !bytes.Equal(sealed, keep) {
		t.Fatal("Opens changed the bytes it was given")
	}
	if err := b.Opens("v/a/secret/two", sealed); err == nil {
		t.Fatal("Opens accepted a value at another key")
	}
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	if err := b.Opens("v/a/secret/one", flipped); err == nil {
		t.Fatal("Opens accepted a changed value")
	}
	if err := b.Opens("v/a/secret/one", sealed[:3]); err == nil {
		t.Fatal("Opens accepted a truncated value")
	}
}

// backgroundMem is an in-memory store that counts the Updates run as background work.
type backgroundMem struct {
	*storagetest.Memory
	background int
}

func (m *backgroundMem) UpdateBackground(ctx context.Context, fn func(storage.Tx) error) error {
	m.background++
	return m.Update(ctx, fn)
}

// TestUpdateBackground checks that the barrier hands a background Update to the wrapped
// backend as one (the sweeper's purges reach bbolt's low-priority committer through it),
// sealed like any other, and runs it as a plain Update over a backend without them.
func TestUpdateBackground(t *testing.T) {
	inner := &backgroundMem{Memory: newMem()}
	b, err := barrier.Open(t.Context(), inner, newKEK(t), barrier.Options{Create: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range []storage.Backend{b, inner.Memory} {
		err := storage.UpdateBackground(t.Context(), st, func(tx storage.Tx) error {
			return tx.Put(fmt.Sprint("k", i), []byte("secret value"))
		})
		if err != nil {
			t.Fatalf("UpdateBackground over %T: %v", st, err)
		}
	}
	if inner.background != 1 {
		t.Errorf("background Updates reaching the wrapped backend = %d, want 1", inner.background)
	}
	if v, err := get(b, "k0"); err != nil || string(v) != "secret value" {
		t.Errorf("read back through the barrier: %q, %v", v, err)
	}
	if raw, err := get(inner.Memory, "k0"); err != nil || bytes.Contains(raw, []byte("secret value")) {
		t.Errorf("stored in the wrapped backend: %q, %v; want it sealed", raw, err)
	}
	if v, err := get(inner.Memory, "k1"); err != nil || string(v) != "secret value" {
		t.Errorf("a plain backend's background Update: %q, %v", v, err)
	}
}
