package vault_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/coffer/coffer/internal/vault"
)

// TestBackupRoundTrip: each kind backs up with every version and restores, ids intact,
// into its own vault once the name is free, and into another vault of the deployment;
// a restore never takes a live or recoverable name.
func TestBackupRoundTrip(t *testing.T) {
	eachKind(t, func(t *testing.T, h *harness, k objectKind) {
		r := h.s.Internal()
		_, err := k.create(r, "v", "Obj")
		must(t, err)
		_, err = k.create(r, "v", "obj")
		must(t, err)
		vers, err := k.versions(r, "v", "obj")
		must(t, err)
		blob, err := k.backup(r, "v", "obj")
		must(t, err)

		_, err = k.restore(r, "v", blob)
		wantErr(t, err, vault.ErrAlreadyExists)
		_, err = k.del(r, "v", "obj")
		must(t, err)
		_, err = k.restore(r, "v", blob)
		wantErr(t, err, vault.ErrDeletedButRecoverable)
		_, err = k.backup(r, "v", "obj")
		wantErr(t, err, vault.ErrNotFound)
		must(t, k.purge(r, "v", "obj"))

		for _, target := range []string{"v", "p"} {
			o, err := k.restore(r, target, blob)
			must(t, err)
			if o.Name != "Obj" || o.Versions != 2 || o.Managed {
				t.Fatalf("restored into %s: %+v", target, o)
			}
			got, err := k.versions(r, target, "obj")
			must(t, err)
			if !slices.Equal(got, vers) {
				t.Fatalf("versions in %s %v, want %v", target, got, vers)
			}
			if _, err := k.get(r, target, "obj"); err != nil {
				t.Fatalf("get after restore into %s: %v", target, err)
			}
		}
		_, err = k.restore(r, "nope", blob)
		wantErr(t, err, vault.ErrVaultNotFound)
	})
}

// TestBackupOfCertificateCarriesKeyAndSecret: a certificate's blob restores its key and
// secret, managed, with the certificate's version ids; a name held by a plain key or
// secret refuses it.
func TestBackupOfCertificateCarriesKeyAndSecret(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	h.vault("w", 7, false)
	r := h.s.Internal()
	_, err := r.CreateCertificate(bg, "v", "c", selfPolicy, vault.CertParams{})
	must(t, err)
	c, err := r.GetCertificate(bg, "v", "c", "")
	must(t, err)
	blob, err := r.Certificates().Backup(bg, "v", "c")
	must(t, err)
	got, err := r.Certificates().Restore(bg, "w", blob)
	must(t, err)
	if got.ID != c.ID || got.Policy().Subject != "CN=test" {
		t.Fatalf("restored %+v", got.CertificateVersion)
	}
	k, err := r.GetKey(bg, "w", "c", "")
	must(t, err)
	s, err := r.GetSecret(bg, "w", "c", "")
	must(t, err)
	if !k.Object.Managed || !s.Object.Managed || k.ID != c.ID || s.ID != c.ID {
		t.Fatalf("restored key %+v secret %+v", k.Object, s.Object)
	}
	// Into a vault where a plain secret holds the name: refused, nothing written.
	h.vault("x", 7, false)
	_, err = r.SetSecret(bg, "x", "c", vault.SecretParams{Value: "mine"})
	must(t, err)
	_, err = r.Certificates().Restore(bg, "x", blob)
	wantErr(t, err, vault.ErrAlreadyExists)
	if _, err := r.GetCertificate(bg, "x", "c", ""); err == nil {
		t.Fatal("a refused restore left a certificate")
	}
}

// TestBackupBlobDamage: any damage to a blob, a blob of another kind or of another
// deployment, is a bad parameter and restores nothing.
func TestBackupBlobDamage(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	_, err := r.SetSecret(bg, "v", "s", vault.SecretParams{Value: "x"})
	must(t, err)
	blob, err := r.Secrets().Backup(bg, "v", "s")
	must(t, err)
	_, err = r.Secrets().Delete(bg, "v", "s")
	must(t, err)
	must(t, r.Secrets().Purge(bg, "v", "s"))

	flip := func(i int) []byte { b := slices.Clone(blob); b[i] ^= 1; return b }
	other := newHarness(t)
	other.vault("v", 7, false)
	_, err = other.s.Internal().SetSecret(bg, "v", "s", vault.SecretParams{Value: "x"})
	must(t, err)
	foreign, err := other.s.Internal().Secrets().Backup(bg, "v", "s")
	must(t, err)
	for name, b := range map[string][]byte{
		"empty":         nil,
		"magic":         flip(0),
		"format":        flip(4),
		"nonce":         flip(6),
		"ciphertext":    flip(len(blob) / 2),
		"tag":           flip(len(blob) - 1),
		"truncated":     blob[:len(blob)-1],
		"header-only":   blob[:5],
		"extended":      append(slices.Clone(blob), 0),
		"other-install": foreign,
	} {
		if _, err := r.Secrets().Restore(bg, "v", b); !errors.Is(err, vault.ErrBadParameter) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A secret's blob is not a key's or a certificate's.
	_, err = r.Keys().Restore(bg, "v", blob)
	wantErr(t, err, vault.ErrBadParameter)
	_, err = r.Certificates().Restore(bg, "v", blob)
	wantErr(t, err, vault.ErrBadParameter)
	if _, err := r.GetSecret(bg, "v", "s", ""); err == nil {
		t.Fatal("a damaged blob restored")
	}
	// The intact blob still restores.
	if _, err := r.Secrets().Restore(bg, "v", blob); err != nil {
		t.Fatalf("intact blob: %v", err)
	}
}
