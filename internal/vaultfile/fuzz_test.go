package vaultfile_test

import (
	"bytes"
	"testing"
)

// FuzzReader: no input makes the reader panic, and one it reads whole ends with a trailer
// that matches it (a stream that is not the writer's own is refused, or is the writer's).
func FuzzReader(f *testing.F) {
	good := stream(f, 2)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("{\"type\":\"header\"}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := readAll(b)
		if err == nil && n > 0 && !bytes.Contains(b, []byte(`"type":"trailer"`)) {
			t.Fatalf("read %d records of a stream without a trailer", n)
		}
	})
}
