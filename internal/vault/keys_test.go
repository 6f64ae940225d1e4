package vault_test

import (
	"crypto/sha256"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/keyops"
	"github.com/coffer/coffer/internal/vault"
)

func ptr[T any](v T) *T { return &v }

func TestCreateKey(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	for _, tc := range []struct {
		name    string
		p       vault.KeyParams
		kty     string
		wantOps []string
	}{
		{"ec", vault.KeyParams{Kty: "EC", Curve: "P-384"}, "EC", []string{"sign", "verify"}},
		{"rsa", vault.KeyParams{Kty: "RSA", Size: 2048}, "RSA", []string{"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"}},
		{"oct", vault.KeyParams{Kty: "oct-HSM", Size: 128, Ops: []string{"wrapKey"}}, "oct-HSM", []string{"wrapKey"}},
	} {
		k, err := r.CreateKey(bg, "v", tc.name, tc.p)
		must(t, err)
		if k.JWK.Kty != tc.kty || !slices.Equal(k.Ops, tc.wantOps) || !k.Enabled || !k.Created.Equal(t0) || len(k.ID) != 32 {
			t.Errorf("%s: %+v", tc.name, k.KeyVersion)
		}
		pub := k.PublicJWK()
		if pub.D != nil || pub.K != nil || pub.P != nil || pub.Kty != tc.kty {
			t.Errorf("%s: public JWK carries private members: %+v", tc.name, pub)
		}
	}
	nbf, exp := t0.Add(time.Hour+500*time.Millisecond), t0.Add(48*time.Hour)
	k, err := r.CreateKey(bg, "v", "dated", vault.KeyParams{Kty: "EC", Enabled: ptr(false), NotBefore: &nbf, Expires: &exp, Tags: map[string]string{"a": "b"}})
	must(t, err)
	if k.Enabled || !k.NotBefore.Equal(t0.Add(time.Hour)) || !k.Expires.Equal(exp) || k.Tags["a"] != "b" {
		t.Fatalf("attributes %+v", k.KeyVersion)
	}
	tooMany := map[string]string{}
	for i := range 16 {
		tooMany[string(rune('a'+i))] = "x"
	}
	for _, p := range []vault.KeyParams{
		{Kty: "DSA"},
		{Kty: "RSA", Size: 1024},
		{Kty: "EC", Ops: []string{"Sign"}},
		{Kty: "EC", Tags: tooMany},
	} {
		_, err := r.CreateKey(bg, "v", "bad", p)
		var ve *vault.Error
		if !errors.Is(err, vault.ErrBadParameter) || !errors.As(err, &ve) || ve.Detail == "" {
			t.Errorf("%+v: %v", p, err)
		}
	}
	if _, err := r.GetKey(bg, "v", "bad", ""); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("a refused create stored something: %v", err)
	}
}

func TestImportKey(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	mat, err := keyops.Generate("EC", 0, 0, "P-256")
	must(t, err)
	k, err := r.ImportKey(bg, "v", "imported", mat.Private(), vault.KeyParams{})
	must(t, err)
	if !slices.Equal(k.PublicJWK().X, mat.Public().X) || !slices.Equal(k.Ops, []string{"sign", "verify"}) {
		t.Fatalf("imported %+v", k.KeyVersion)
	}
	// A second import is a new version of the same key.
	k2, err := r.ImportKey(bg, "v", "imported", mat.Private(), vault.KeyParams{Ops: []string{"verify"}})
	must(t, err)
	if k2.ID == k.ID || k2.Object.Versions != 2 {
		t.Fatalf("second import %+v", k2.Object)
	}
	pub := mat.Public() // no private members
	if _, err := r.ImportKey(bg, "v", "imported", pub, vault.KeyParams{}); !errors.Is(err, vault.ErrBadParameter) {
		t.Fatalf("import without private members: %v", err)
	}
	if _, err := r.ImportKey(bg, "v", "bad name", mat.Private(), vault.KeyParams{}); !errors.Is(err, vault.ErrBadParameter) {
		t.Fatalf("bad name: %v", err)
	}
	if _, err := r.ImportKey(bg, "v", "x", mat.Private(), vault.KeyParams{Ops: []string{"nope"}}); !errors.Is(err, vault.ErrBadParameter) {
		t.Fatalf("bad ops: %v", err)
	}
}

func TestGetAndUpdateKey(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	k1, err := r.CreateKey(bg, "v", "k", vault.KeyParams{Kty: "EC"})
	must(t, err)
	h.advance(time.Hour)
	k2, err := r.CreateKey(bg, "v", "k", vault.KeyParams{Kty: "EC"})
	must(t, err)
	if got, err := r.GetKey(bg, "v", "K", ""); err != nil || got.ID != k2.ID {
		t.Fatalf("latest %v %v", got.ID, err)
	}
	if got, err := r.GetKey(bg, "v", "k", k1.ID); err != nil || got.ID != k1.ID || !slices.Equal(got.PublicJWK().X, k1.PublicJWK().X) {
		t.Fatalf("first version %v %v", got.ID, err)
	}
	missing := "0123456789abcdef0123456789abcdef"
	_, err = r.GetKey(bg, "v", "k", missing)
	var ve *vault.Error
	if !errors.Is(err, vault.ErrNotFound) || !errors.As(err, &ve) || ve.Version != missing {
		t.Fatalf("missing version: %v", err)
	}

	h.advance(time.Hour)
	exp := t0.Add(30 * 24 * time.Hour)
	u, err := r.UpdateKey(bg, "v", "k", k1.ID, vault.KeyUpdate{Ops: []string{"verify"}, Tags: map[string]string{"t": "1"}, Enabled: ptr(false), Expires: &exp, NotBefore: &t0})
	must(t, err)
	if u.ID != k1.ID || !slices.Equal(u.Ops, []string{"verify"}) || u.Tags["t"] != "1" || u.Enabled || !u.Expires.Equal(exp) ||
		!u.NotBefore.Equal(t0) || !u.Updated.Equal(h.s.Now()) || !u.Created.Equal(k1.Created) || !slices.Equal(u.JWK.D, k1.JWK.D) {
		t.Fatalf("updated %+v", u.KeyVersion)
	}
	if got, _ := r.GetKey(bg, "v", "k", k1.ID); got.Enabled || got.Tags["t"] != "1" {
		t.Fatalf("update not stored: %+v", got.KeyVersion)
	}
	if got, _ := r.GetKey(bg, "v", "k", ""); !got.Enabled || got.ID != k2.ID {
		t.Fatalf("update touched the latest version: %+v", got.KeyVersion)
	}
	// Nothing given: nothing but updated changes.
	same, err := r.UpdateKey(bg, "v", "k", "", vault.KeyUpdate{})
	must(t, err)
	if !slices.Equal(same.Ops, k2.Ops) || !same.Enabled || !same.Expires.IsZero() {
		t.Fatalf("empty update %+v", same.KeyVersion)
	}
	for _, tc := range []struct {
		name, version string
		u             vault.KeyUpdate
		want          error
	}{
		{"k", "", vault.KeyUpdate{Ops: []string{"bogus"}}, vault.ErrBadParameter},
		{"k", missing, vault.KeyUpdate{}, vault.ErrNotFound},
		{"nope", "", vault.KeyUpdate{}, vault.ErrNotFound},
		{"bad_name", "", vault.KeyUpdate{}, vault.ErrBadParameter},
	} {
		_, err := r.UpdateKey(bg, "v", tc.name, tc.version, tc.u)
		wantErr(t, err, tc.want)
	}
}

func TestUseKey(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	nbf, exp := t0.Add(time.Hour), t0.Add(2*time.Hour)
	k, err := r.CreateKey(bg, "v", "k", vault.KeyParams{Kty: "EC", NotBefore: &nbf, Expires: &exp})
	must(t, err)
	digest := sha256.Sum256([]byte("hello"))
	var sig []byte
	sign := func(m *keyops.Key) (err error) { sig, err = m.Sign("ES256", digest[:]); return err }
	verify := func(m *keyops.Key) error {
		ok, err := m.Verify("ES256", digest[:], sig)
		if err == nil && !ok {
			err = errors.New("signature does not verify")
		}
		return err
	}

	// Before nbf: sign refused; after exp: sign refused, verify still works.
	_, err = r.UseKey(bg, "v", "k", "", keyops.OpSign, sign)
	wantErr(t, err, vault.ErrDisabled)
	h.advance(time.Hour)
	used, err := r.UseKey(bg, "v", "k", "", keyops.OpSign, sign)
	must(t, err)
	if used.ID != k.ID || len(sig) == 0 {
		t.Fatalf("signed with %s", used.ID)
	}
	h.advance(time.Hour)
	_, err = r.UseKey(bg, "v", "k", "", keyops.OpSign, sign)
	wantErr(t, err, vault.ErrDisabled)
	_, err = r.UseKey(bg, "v", "k", k.ID, keyops.OpVerify, verify)
	must(t, err)

	// An operation outside key_ops, on a disabled key, or one keyops refuses.
	_, err = r.UseKey(bg, "v", "k", "", keyops.OpEncrypt, sign)
	wantErr(t, err, vault.ErrOperationNotAllowed)
	_, err = r.UseKey(bg, "v", "k", "", keyops.OpVerify, func(m *keyops.Key) error { _, err := m.Verify("RS256", digest[:], sig); return err })
	wantErr(t, err, vault.ErrBadParameter)
	_, err = r.UpdateKey(bg, "v", "k", "", vault.KeyUpdate{Enabled: ptr(false)})
	must(t, err)
	_, err = r.UseKey(bg, "v", "k", "", keyops.OpVerify, verify)
	wantErr(t, err, vault.ErrDisabled)
	_, err = r.UseKey(bg, "v", "missing", "", keyops.OpVerify, verify)
	wantErr(t, err, vault.ErrNotFound)
}

func TestRotateKey(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	for _, p := range []vault.KeyParams{
		{Kty: "EC-HSM", Curve: "P-521", Ops: []string{"sign"}, Tags: map[string]string{"a": "b"}},
		{Kty: "RSA", Size: 3072},
		{Kty: "oct", Size: 192},
	} {
		old, err := r.CreateKey(bg, "v", "k-"+p.Kty, p)
		must(t, err)
		h.advance(time.Minute)
		k, err := r.RotateKey(bg, "v", "k-"+p.Kty)
		must(t, err)
		if k.ID == old.ID || k.JWK.Kty != old.JWK.Kty || k.JWK.Crv != old.JWK.Crv || len(k.JWK.N) != len(old.JWK.N) ||
			len(k.JWK.K) != len(old.JWK.K) || !slices.Equal(k.Ops, old.Ops) || k.Tags["a"] != old.Tags["a"] || k.Object.Versions != 2 ||
			!k.Created.Equal(h.s.Now()) || !k.Expires.IsZero() {
			t.Errorf("%s rotated to %+v", p.Kty, k.KeyVersion)
		}
		if slices.Equal(k.JWK.D, old.JWK.D) && slices.Equal(k.JWK.K, old.JWK.K) {
			t.Errorf("%s: rotation kept the material", p.Kty)
		}
	}
	// With a policy's expiryTime, the new version expires then.
	_, err := r.SetRotationPolicy(bg, "v", "k-oct", vault.RotationPolicy{ExpiryTime: "P90D"})
	must(t, err)
	k, err := r.RotateKey(bg, "v", "k-oct")
	must(t, err)
	if !k.Expires.Equal(h.s.Now().AddDate(0, 0, 90)) {
		t.Fatalf("expires %v", k.Expires)
	}
	_, err = r.RotateKey(bg, "v", "missing")
	wantErr(t, err, vault.ErrNotFound)
	_, err = r.RotateKey(bg, "v", "bad_name")
	wantErr(t, err, vault.ErrBadParameter)
}

// TestManagedKeyAndSecret: the key and secret behind a certificate are readable, but only
// the certificate's own operations change them or move them through the lifecycle.
func TestManagedKeyAndSecret(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	_, err := r.CreateCertificate(bg, "v", "c", selfPolicy, vault.CertParams{})
	must(t, err)
	c, err := r.GetCertificate(bg, "v", "c", "")
	must(t, err)
	k, err := r.GetKey(bg, "v", "c", "")
	must(t, err)
	s, err := r.GetSecret(bg, "v", "c", "")
	must(t, err)
	if !k.Object.Managed || !s.Object.Managed || k.ID != c.ID || s.ID != c.ID || s.ContentType != "application/x-pkcs12" {
		t.Fatalf("backing objects %+v %+v", k.Object, s.Object)
	}
	mat, err := keyops.Generate("EC", 0, 0, "")
	must(t, err)
	for name, err := range map[string]error{
		"update key":    func() error { _, err := r.UpdateKey(bg, "v", "c", "", vault.KeyUpdate{}); return err }(),
		"rotate":        func() error { _, err := r.RotateKey(bg, "v", "c"); return err }(),
		"rotation":      func() error { _, err := r.SetRotationPolicy(bg, "v", "c", vault.RotationPolicy{}); return err }(),
		"import":        func() error { _, err := r.ImportKey(bg, "v", "c", mat.Private(), vault.KeyParams{}); return err }(),
		"create key":    func() error { _, err := r.CreateKey(bg, "v", "c", vault.KeyParams{Kty: "EC"}); return err }(),
		"delete key":    func() error { _, err := r.Keys().Delete(bg, "v", "c"); return err }(),
		"set secret":    func() error { _, err := r.SetSecret(bg, "v", "c", vault.SecretParams{Value: "x"}); return err }(),
		"update secret": func() error { _, err := r.UpdateSecret(bg, "v", "c", "", vault.SecretUpdate{}); return err }(),
		"delete secret": func() error { _, err := r.Secrets().Delete(bg, "v", "c"); return err }(),
	} {
		if !errors.Is(err, vault.ErrManaged) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Deleted with their certificate, they are listed with it, not on their own, and
	// only the certificate recovers or purges them.
	_, err = r.Certificates().Delete(bg, "v", "c")
	must(t, err)
	if ks, _, err := r.Keys().ListDeleted(bg, "v", "", 10); err != nil || len(ks) != 0 {
		t.Fatalf("deleted keys %v %v", ks, err)
	}
	if _, err := r.Keys().GetDeleted(bg, "v", "c"); err != nil {
		t.Fatalf("the deleted key is not readable: %v", err)
	}
	_, err = r.Keys().Recover(bg, "v", "c")
	wantErr(t, err, vault.ErrManaged)
	_, err = r.Secrets().Recover(bg, "v", "c")
	wantErr(t, err, vault.ErrManaged)
	wantErr(t, r.Keys().Purge(bg, "v", "c"), vault.ErrManaged)
	wantErr(t, r.Secrets().Purge(bg, "v", "c"), vault.ErrManaged)
	_, err = r.Certificates().Recover(bg, "v", "c")
	must(t, err)
	if k2, err := r.GetKey(bg, "v", "c", ""); err != nil || k2.ID != k.ID {
		t.Fatalf("key after recover %v %v", k2.ID, err)
	}
}

// TestRecoverKeyReschedulesRotation: a deleted key's rotation entry is dropped when it
// comes due; recovering the key schedules it again.
func TestRecoverKeyReschedulesRotation(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 30, false)
	r := h.s.Internal()
	_, err := r.CreateKey(bg, "v", "k", vault.KeyParams{Kty: "EC"})
	must(t, err)
	_, err = r.SetRotationPolicy(bg, "v", "k", vault.RotationPolicy{LifetimeActions: []vault.LifetimeAction{{Type: "Rotate", TimeAfterCreate: "P10D"}}})
	must(t, err)
	_, err = r.Keys().Delete(bg, "v", "k")
	must(t, err)
	h.advance(11 * 24 * time.Hour)
	if n := h.sweep(); n != 0 {
		t.Fatalf("a deleted key was rotated (%d)", n)
	}
	rec, err := r.Keys().Recover(bg, "v", "k")
	must(t, err)
	if rec.Object.Versions != 1 {
		t.Fatalf("recovered %+v", rec.Object)
	}
	// Its time has passed: it is due at once.
	if n := h.sweep(); n != 1 {
		t.Fatalf("sweep after recover acted %d times", n)
	}
	if got, _ := r.GetKey(bg, "v", "k", ""); got.Object.Versions != 2 {
		t.Fatalf("not rotated after recover: %+v", got.Object)
	}
}
