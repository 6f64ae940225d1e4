package snapfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Header{Created: time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC), Source: "bbolt", StorageID: "id"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		v := bytes.Repeat([]byte{byte(i)}, i%300)
		if err := w.Add(fmt.Sprintf("k/%06d", i), v); err != nil {
			t.Fatal(err)
		}
	}
	s, err := w.Close()
	if err != nil || s.Records != int64(n) {
		t.Fatalf("Close: %+v, %v", s, err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 2000} {
		b := write(t, n)
		r, err := NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if h := r.Header(); h.Source != "bbolt" || h.StorageID != "id" || !h.Created.Equal(time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)) {
			t.Errorf("header %+v", h)
		}
		i := 0
		for {
			k, v, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("n=%d record %d: %v", n, i, err)
			}
			if k != fmt.Sprintf("k/%06d", i) || !bytes.Equal(v, bytes.Repeat([]byte{byte(i)}, i%300)) {
				t.Fatalf("record %d: %q = %d bytes", i, k, len(v))
			}
			i++
		}
		if i != n || r.Summary().Records != int64(n) {
			t.Errorf("read %d records, summary %d, want %d", i, r.Summary().Records, n)
		}
	}
}

func TestDamageRefused(t *testing.T) {
	good := write(t, 50)
	cases := map[string][]byte{
		"empty":          {},
		"not a snapshot": []byte("SQLite format 3\x00 and more bytes here"),
		"no trailer":     good[:len(good)-41],
		"half a trailer": good[:len(good)-10],
		"cut midway":     good[:len(good)/2],
		"trailing bytes": append(bytes.Clone(good), 0),
	}
	for _, off := range []int{len(magic) + 8, len(good) / 3, len(good) - 35, len(good) - 1} {
		b := bytes.Clone(good)
		b[off] ^= 0x01
		cases[fmt.Sprintf("bit flipped at %d", off)] = b
	}
	for name, b := range cases {
		_, _, err := Verify(bytes.NewReader(b))
		if !errors.Is(err, ErrDamaged) {
			t.Errorf("%s: Verify = %v, want ErrDamaged", name, err)
		}
	}
	if _, _, err := Verify(bytes.NewReader(good[:len(good)/2])); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("a truncated file: %v, want it called truncated", err)
	}
}

func TestNewerVersionRefused(t *testing.T) {
	b := write(t, 1)
	b[len(magic)+1] = Version + 1
	if _, _, err := Verify(bytes.NewReader(b)); err == nil || !strings.Contains(err.Error(), "newer coffer") {
		t.Errorf("Verify = %v, want a newer-version error", err)
	}
}

func TestWriterRefusesUnorderedKeys(t *testing.T) {
	w, _ := NewWriter(io.Discard, Header{})
	if err := w.Add("b", nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Add("a", nil); err == nil {
		t.Error("Add out of order: no error")
	}
}
