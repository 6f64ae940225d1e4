package vaultfile_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/coffer/coffer/internal/vaultfile"
)

func stream(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := vaultfile.NewWriter(&buf, vaultfile.Header{Vault: "v", ExportedAt: time.Unix(1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(vaultfile.Record{Type: vaultfile.TypeVault, Data: []byte(`{"name":"v"}`)}, "vault")
	for range n {
		w.Write(vaultfile.Record{Type: vaultfile.TypeObject, Key: "secret/live/a", Data: []byte(`{"kind":"secret"}`)}, "secrets")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readAll(b []byte) (int, error) {
	r, err := vaultfile.NewReader(bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	n := 0
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

// TestStreamChecks: a whole stream reads to io.EOF; a stream cut at any byte, or with any
// byte changed, never does.
func TestStreamChecks(t *testing.T) {
	b := stream(t, 3)
	if n, err := readAll(b); err != nil || n != 4 {
		t.Fatalf("read %d records: %v", n, err)
	}
	for i := range len(b) {
		if _, err := readAll(b[:i]); err == nil {
			t.Fatalf("a stream cut at byte %d of %d was read whole", i, len(b))
		}
		bad := bytes.Clone(b)
		bad[i] ^= 0x20
		if _, err := readAll(bad); err == nil && !bytes.Equal(bad, b) {
			t.Fatalf("a stream with byte %d changed was read whole", i)
		}
	}
	if _, err := readAll(append(bytes.Clone(b), '\n')); !errors.Is(err, vaultfile.ErrDamaged) {
		t.Fatalf("data after the trailer: %v", err)
	}
}

// TestAge: the file opens with the recipient's identity or the passphrase, and with no
// other.
func TestAge(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	other, _ := age.GenerateX25519Identity()
	plain := stream(t, 100)
	var file bytes.Buffer
	w, err := vaultfile.Encrypt(&file, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	w.Close()
	r, err := vaultfile.Decrypt(bytes.NewReader(file.Bytes()), id)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); !bytes.Equal(got, plain) {
		t.Fatal("the decrypted stream differs")
	}
	if _, err := vaultfile.Decrypt(bytes.NewReader(file.Bytes()), other); !errors.Is(err, vaultfile.ErrWrongKey) {
		t.Fatalf("another identity: %v", err)
	}
	pr, _ := vaultfile.PassphraseRecipient("right")
	file.Reset()
	w, _ = vaultfile.Encrypt(&file, pr)
	w.Write(plain)
	w.Close()
	wrong, _ := vaultfile.PassphraseIdentity("wrong")
	if _, err := vaultfile.Decrypt(bytes.NewReader(file.Bytes()), wrong); !errors.Is(err, vaultfile.ErrWrongKey) {
		t.Fatalf("a wrong passphrase: %v", err)
	}
	right, _ := vaultfile.PassphraseIdentity("right")
	if _, err := vaultfile.Decrypt(bytes.NewReader(file.Bytes()), right); err != nil {
		t.Fatalf("the right passphrase: %v", err)
	}
}
