package vault_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/vault"
)

// failingReader hands out n bytes of r, then fails as a dropped connection does.
type failingReader struct {
	r io.Reader
	n int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection reset")
	}
	p = p[:min(len(p), f.n)]
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

// TestImportAllOrNothing: an import whose stream breaks after several staged batches
// leaves nothing behind (no vault, no staged record, no marker); while an import holds a
// name, creating a vault of that name is refused; a whole stream imports.
func TestImportAllOrNothing(t *testing.T) {
	vault.SetImportBatch(t, 10)
	h := newHarness(t)
	ctx := context.Background()
	h.vault("src", 7, false)
	r := h.s.Internal()
	for i := range 60 {
		if _, err := r.SetSecret(ctx, "src", fmt.Sprintf("s%02d", i), vault.SecretParams{Value: "v"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Secrets().Delete(ctx, "src", "s07"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := r.Export(ctx, "src", "", &buf); err != nil {
		t.Fatal(err)
	}
	stream := buf.Bytes()

	// Broken part-way: several batches were staged, then removed.
	_, err := r.Import(ctx, "dst", &failingReader{r: bytes.NewReader(stream), n: len(stream) * 3 / 4}, vault.ImportOptions{})
	if err == nil {
		t.Fatal("a broken stream was imported")
	}
	if ks := h.keys("v/dst/"); len(ks) != 0 {
		t.Fatalf("a failed import left %d records", len(ks))
	}
	if ks := h.keys("importing/"); len(ks) != 0 {
		t.Fatalf("a failed import left its marker: %v", ks)
	}
	// Cut exactly before the trailer: refused too.
	_, err = r.Import(ctx, "dst", bytes.NewReader(stream[:bytes.LastIndex(stream[:len(stream)-1], []byte("\n"))+1]), vault.ImportOptions{})
	if !errors.Is(err, vault.ErrBadParameter) {
		t.Fatalf("a stream without its trailer: %v", err)
	}

	// While an import holds the name (its stream stalls), a create of that name fails.
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := r.Import(ctx, "dst", pr, vault.ImportOptions{})
		done <- err
	}()
	pw.Write(stream[:len(stream)/2])
	for range 500 {
		if len(h.keys("importing/")) > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, _, created := r.CreateOrUpdateVault(ctx, "dst", vault.VaultParams{})
	if !errors.Is(created, vault.ErrVaultNameTaken) {
		select {
		case err := <-done:
			t.Fatalf("the import ended early: %v", err)
		default:
		}
		t.Fatalf("a create during an import: %v (%v)", created, h.keys("importing/"))
	}
	pw.Write(stream[len(stream)/2:])
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, err := r.GetSecret(ctx, "dst", "s42", "")
	if err != nil || got.Value != "v" {
		t.Fatalf("imported s42: %v", err)
	}
	if _, err := r.Secrets().GetDeleted(ctx, "dst", "s07"); err != nil {
		t.Fatalf("imported deleted s07: %v", err)
	}
}

// TestDeadImportCleared: the staging of an import whose server died is cleared when a
// server starts after its lease, and a create of the name clears it too.
func TestDeadImportCleared(t *testing.T) {
	vault.SetImportBatch(t, 5)
	h := newHarness(t)
	ctx := context.Background()
	h.vault("src", 7, false)
	r := h.s.Internal()
	for i := range 20 {
		if _, err := r.SetSecret(ctx, "src", fmt.Sprintf("s%02d", i), vault.SecretParams{Value: "v"}); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := r.Export(ctx, "src", "", &buf); err != nil {
		t.Fatal(err)
	}
	// An import that stalls half-way, as one whose server died (its stream never ends).
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := r.Import(ctx, "dst", pr, vault.ImportOptions{})
		done <- err
	}()
	pw.Write(buf.Bytes()[:buf.Len()/2])
	// Wait until the import has staged what it had and waits for more.
	for n := -1; ; {
		time.Sleep(100 * time.Millisecond)
		m := len(h.keys("v/dst/"))
		if m > 0 && m == n {
			break
		}
		n = m
	}
	if len(h.keys("v/dst/")) == 0 {
		t.Fatal("nothing was staged")
	}
	// Within the lease the name is held; past it, a new server clears the staging.
	if _, _, err := r.CreateOrUpdateVault(ctx, "dst", vault.VaultParams{}); !errors.Is(err, vault.ErrVaultNameTaken) {
		t.Fatalf("a create during an import: %v", err)
	}
	h.advance(6 * time.Minute)
	if _, err := vault.Open(ctx, vault.Options{Storage: h.st, Clock: h.clk, Log: discardLogger()}); err != nil {
		t.Fatal(err)
	}
	if ks := append(h.keys("v/dst/"), h.keys("importing/")...); len(ks) != 0 {
		t.Fatalf("a dead import's staging survived a start: %v", ks)
	}
	// The stalled import, resumed, finds its name no longer held and stops.
	pw.Write(buf.Bytes()[buf.Len()/2:])
	pw.Close()
	if err := <-done; !errors.Is(err, vault.ErrVaultNameTaken) {
		t.Fatalf("the dead import carried on: %v", err)
	}
	if ks := h.keys("v/dst/"); len(ks) != 0 {
		t.Fatalf("the dead import wrote after it was cleared: %v", ks)
	}
}
