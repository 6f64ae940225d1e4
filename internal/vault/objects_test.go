package vault_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/certs"
	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/vault"
)

// objectKind is one object kind's operations, reduced to what the shared lifecycle
// needs, so that one test drives secrets, keys and certificates alike.
type objectKind struct {
	kind vault.Kind
	// create makes a new version of name (creating the object when it has none).
	create      func(r vault.Request, v, name string) (vault.Object, error)
	get         func(r vault.Request, v, name string) (vault.Object, error)
	del         func(r vault.Request, v, name string) (vault.Object, error)
	recover     func(r vault.Request, v, name string) (vault.Object, error)
	getDeleted  func(r vault.Request, v, name string) (vault.Object, error)
	purge       func(r vault.Request, v, name string) error
	list        func(r vault.Request, v string, deleted bool) ([]string, error)
	versions    func(r vault.Request, v, name string) ([]string, error)
	backup      func(r vault.Request, v, name string) ([]byte, error)
	restore     func(r vault.Request, v string, blob []byte) (vault.Object, error)
	dueOnDelete int // scheduler purge entries a delete makes (a certificate's key and secret have their own)
}

var bg = context.Background()

func names[T any](items []T, err error, name func(T) string) ([]string, error) {
	var out []string
	for _, it := range items {
		out = append(out, name(it))
	}
	return out, err
}

func ids[T any](items []T, next string, err error, id func(T) string) ([]string, error) {
	return names(items, err, id)
}

var selfPolicy = certs.Policy{KeyType: "EC", Curve: "P-256", Subject: "CN=test", IssuerName: "Self"}

var kinds = []objectKind{
	{
		kind: vault.KindSecret,
		create: func(r vault.Request, v, name string) (vault.Object, error) {
			s, err := r.SetSecret(bg, v, name, vault.SecretParams{Value: "value of " + name})
			return s.Object, err
		},
		get: func(r vault.Request, v, n string) (vault.Object, error) {
			s, err := r.GetSecret(bg, v, n, "")
			return s.Object, err
		},
		del: func(r vault.Request, v, n string) (vault.Object, error) {
			s, err := r.Secrets().Delete(bg, v, n)
			return s.Object, err
		},
		recover: func(r vault.Request, v, n string) (vault.Object, error) {
			s, err := r.Secrets().Recover(bg, v, n)
			return s.Object, err
		},
		getDeleted: func(r vault.Request, v, n string) (vault.Object, error) {
			s, err := r.Secrets().GetDeleted(bg, v, n)
			return s.Object, err
		},
		purge: func(r vault.Request, v, n string) error { return r.Secrets().Purge(bg, v, n) },
		list: func(r vault.Request, v string, deleted bool) ([]string, error) {
			list := r.Secrets().List
			if deleted {
				list = r.Secrets().ListDeleted
			}
			items, _, err := list(bg, v, "", 25)
			return names(items, err, func(s vault.Secret) string { return s.Object.Name })
		},
		versions: func(r vault.Request, v, n string) ([]string, error) {
			items, next, err := r.Secrets().ListVersions(bg, v, n, "", 25)
			return ids(items, next, err, func(s vault.Secret) string { return s.ID })
		},
		backup: func(r vault.Request, v, n string) ([]byte, error) { return r.Secrets().Backup(bg, v, n) },
		restore: func(r vault.Request, v string, b []byte) (vault.Object, error) {
			s, err := r.Secrets().Restore(bg, v, b)
			return s.Object, err
		},
		dueOnDelete: 1,
	},
	{
		kind: vault.KindKey,
		create: func(r vault.Request, v, name string) (vault.Object, error) {
			k, err := r.CreateKey(bg, v, name, vault.KeyParams{Kty: "EC", Curve: "P-256"})
			return k.Object, err
		},
		get: func(r vault.Request, v, n string) (vault.Object, error) {
			k, err := r.GetKey(bg, v, n, "")
			return k.Object, err
		},
		del: func(r vault.Request, v, n string) (vault.Object, error) {
			k, err := r.Keys().Delete(bg, v, n)
			return k.Object, err
		},
		recover: func(r vault.Request, v, n string) (vault.Object, error) {
			k, err := r.Keys().Recover(bg, v, n)
			return k.Object, err
		},
		getDeleted: func(r vault.Request, v, n string) (vault.Object, error) {
			k, err := r.Keys().GetDeleted(bg, v, n)
			return k.Object, err
		},
		purge: func(r vault.Request, v, n string) error { return r.Keys().Purge(bg, v, n) },
		list: func(r vault.Request, v string, deleted bool) ([]string, error) {
			list := r.Keys().List
			if deleted {
				list = r.Keys().ListDeleted
			}
			items, _, err := list(bg, v, "", 25)
			return names(items, err, func(k vault.Key) string { return k.Object.Name })
		},
		versions: func(r vault.Request, v, n string) ([]string, error) {
			items, next, err := r.Keys().ListVersions(bg, v, n, "", 25)
			return ids(items, next, err, func(k vault.Key) string { return k.ID })
		},
		backup: func(r vault.Request, v, n string) ([]byte, error) { return r.Keys().Backup(bg, v, n) },
		restore: func(r vault.Request, v string, b []byte) (vault.Object, error) {
			k, err := r.Keys().Restore(bg, v, b)
			return k.Object, err
		},
		dueOnDelete: 1,
	},
	{
		kind: vault.KindCertificate,
		create: func(r vault.Request, v, name string) (vault.Object, error) {
			if _, err := r.CreateCertificate(bg, v, name, selfPolicy, vault.CertParams{}); err != nil {
				return vault.Object{}, err
			}
			c, err := r.GetCertificate(bg, v, name, "")
			return c.Object, err
		},
		get: func(r vault.Request, v, n string) (vault.Object, error) {
			c, err := r.GetCertificate(bg, v, n, "")
			return c.Object, err
		},
		del: func(r vault.Request, v, n string) (vault.Object, error) {
			c, err := r.Certificates().Delete(bg, v, n)
			return c.Object, err
		},
		recover: func(r vault.Request, v, n string) (vault.Object, error) {
			c, err := r.Certificates().Recover(bg, v, n)
			return c.Object, err
		},
		getDeleted: func(r vault.Request, v, n string) (vault.Object, error) {
			c, err := r.Certificates().GetDeleted(bg, v, n)
			return c.Object, err
		},
		purge: func(r vault.Request, v, n string) error { return r.Certificates().Purge(bg, v, n) },
		list: func(r vault.Request, v string, deleted bool) ([]string, error) {
			list := r.Certificates().List
			if deleted {
				list = r.Certificates().ListDeleted
			}
			items, _, err := list(bg, v, "", 25)
			return names(items, err, func(c vault.Certificate) string { return c.Object.Name })
		},
		versions: func(r vault.Request, v, n string) ([]string, error) {
			items, next, err := r.Certificates().ListVersions(bg, v, n, "", 25)
			return ids(items, next, err, func(c vault.Certificate) string { return c.ID })
		},
		backup: func(r vault.Request, v, n string) ([]byte, error) { return r.Certificates().Backup(bg, v, n) },
		restore: func(r vault.Request, v string, b []byte) (vault.Object, error) {
			c, err := r.Certificates().Restore(bg, v, b)
			return c.Object, err
		},
		dueOnDelete: 3,
	},
}

// purgeEntries lists the sweeper's purge entries.
func purgeEntries(h *harness) []string {
	var out []string
	for _, k := range h.keys("due/") {
		if strings.Contains(k, "/purge/") {
			out = append(out, k)
		}
	}
	return out
}

// eachKind runs f as a subtest per object kind, each on a fresh harness with a vault
// "v" (7 days) and a purge-protected vault "p" (7 days).
func eachKind(t *testing.T, f func(t *testing.T, h *harness, k objectKind)) {
	for _, k := range kinds {
		t.Run(string(k.kind), func(t *testing.T) {
			h := newHarness(t)
			h.vault("v", 7, false)
			h.vault("p", 7, true)
			f(t, h, k)
		})
	}
}

// TestObjectLifecycle walks each kind through active → deleted → recovered → deleted →
// purged, with every refusal on the way, and checks that versions survive.
func TestObjectLifecycle(t *testing.T) {
	eachKind(t, func(t *testing.T, h *harness, k objectKind) {
		r := h.s.Internal()
		first, err := k.create(r, "v", "Obj")
		must(t, err)
		h.advance(time.Minute)
		_, err = k.create(r, "v", "obj") // a second version; the name keeps its first case
		must(t, err)
		vers, err := k.versions(r, "v", "OBJ")
		must(t, err)
		if len(vers) != 2 {
			t.Fatalf("versions %v", vers)
		}
		if _, err := k.recover(r, "v", "obj"); !errors.Is(err, vault.ErrDeletedNotFound) {
			t.Fatalf("recover of a live object: %v", err)
		}
		wantErr(t, k.purge(r, "v", "obj"), vault.ErrDeletedNotFound)
		if _, err := k.getDeleted(r, "v", "obj"); !errors.Is(err, vault.ErrDeletedNotFound) {
			t.Fatalf("getDeleted of a live object: %v", err)
		}

		h.advance(time.Hour)
		dueBefore := h.keys("due/")
		deletedAt := h.s.Now()
		d, err := k.del(r, "v", "obj")
		must(t, err)
		if d.Name != "Obj" || !d.DeletedDate.Equal(deletedAt) || !d.ScheduledPurgeDate.Equal(deletedAt.Add(7*24*time.Hour)) || d.State(deletedAt) != vault.Deleted {
			t.Fatalf("deleted %+v", d)
		}
		if first.Name != "Obj" {
			t.Fatalf("created %+v", first)
		}
		if _, err := k.get(r, "v", "obj"); !errors.Is(err, vault.ErrNotFound) {
			t.Fatalf("get of a deleted object: %v", err)
		}
		if _, err := k.del(r, "v", "obj"); !errors.Is(err, vault.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
		if got, err := k.getDeleted(r, "v", "OBJ"); err != nil || !got.ScheduledPurgeDate.Equal(d.ScheduledPurgeDate) {
			t.Fatalf("getDeleted %+v %v", got, err)
		}
		if l, err := k.list(r, "v", true); err != nil || !slices.Equal(l, []string{"Obj"}) {
			t.Fatalf("deleted list %v %v", l, err)
		}
		if l, err := k.list(r, "v", false); err != nil || len(l) != 0 {
			t.Fatalf("live list %v %v", l, err)
		}
		if vs, err := k.versions(r, "v", "obj"); err != nil || len(vs) != 0 {
			t.Fatalf("versions of a deleted object %v %v", vs, err)
		}
		// The name is reserved while it is recoverable.
		_, err = k.create(r, "v", "obj")
		var ve *vault.Error
		if !errors.Is(err, vault.ErrDeletedButRecoverable) || !errors.As(err, &ve) || !ve.ScheduledPurgeDate.Equal(d.ScheduledPurgeDate) {
			t.Fatalf("create over a deleted name: %v", err)
		}
		if n := len(purgeEntries(h)); n != k.dueOnDelete {
			t.Fatalf("%d purge entries after the delete, want %d", n, k.dueOnDelete)
		}

		rec, err := k.recover(r, "v", "obj")
		must(t, err)
		if rec.State(h.s.Now()) != vault.Active || !rec.DeletedDate.IsZero() {
			t.Fatalf("recovered %+v", rec)
		}
		if vs, err := k.versions(r, "v", "obj"); err != nil || !slices.Equal(vs, vers) {
			t.Fatalf("versions after recover %v, want %v (%v)", vs, vers, err)
		}
		if due := h.keys("due/"); !slices.Equal(due, dueBefore) {
			t.Fatalf("scheduler entries after recover %v, want those before the delete %v", due, dueBefore)
		}

		_, err = k.del(r, "v", "obj")
		must(t, err)
		must(t, k.purge(r, "v", "obj"))
		if _, err := k.getDeleted(r, "v", "obj"); !errors.Is(err, vault.ErrDeletedNotFound) {
			t.Fatalf("getDeleted after purge: %v", err)
		}
		wantErr(t, k.purge(r, "v", "obj"), vault.ErrDeletedNotFound)
		if ks := h.keys("v/v/"); len(ks) != 0 {
			t.Fatalf("purge left %v", ks)
		}
		if ks := purgeEntries(h); len(ks) != 0 {
			t.Fatalf("purge left purge entries %v", ks)
		}
		// The name is free again.
		again, err := k.create(r, "v", "obj")
		must(t, err)
		if again.Name != "obj" || again.Versions != 1 {
			t.Fatalf("created again %+v", again)
		}
	})
}

// TestObjectPurgeProtection: under purge protection a deleted object cannot be purged by
// hand; it is recoverable until the very second of its scheduledPurgeDate, then reads
// treat it as purged, and the sweeper reclaims it.
func TestObjectPurgeProtection(t *testing.T) {
	eachKind(t, func(t *testing.T, h *harness, k objectKind) {
		r := h.s.Internal()
		_, err := k.create(r, "p", "obj")
		must(t, err)
		d, err := k.del(r, "p", "obj")
		must(t, err)
		err = k.purge(r, "p", "obj")
		var ve *vault.Error
		if !errors.Is(err, vault.ErrPurgeProtected) || !errors.As(err, &ve) || !ve.ScheduledPurgeDate.Equal(d.ScheduledPurgeDate) {
			t.Fatalf("purge under protection: %v", err)
		}
		h.advance(d.ScheduledPurgeDate.Sub(h.s.Now()) - time.Second)
		if n := h.sweep(); n != 0 {
			t.Fatalf("the sweeper acted %d times before the date", n)
		}
		if _, err := k.getDeleted(r, "p", "obj"); err != nil {
			t.Fatalf("a second before the date: %v", err)
		}
		h.advance(time.Second)
		if _, err := k.getDeleted(r, "p", "obj"); !errors.Is(err, vault.ErrDeletedNotFound) {
			t.Fatalf("at the date: %v", err)
		}
		if _, err := k.recover(r, "p", "obj"); !errors.Is(err, vault.ErrDeletedNotFound) {
			t.Fatalf("recover at the date: %v", err)
		}
		if l, err := k.list(r, "p", true); err != nil || len(l) != 0 {
			t.Fatalf("deleted list at the date %v %v", l, err)
		}
		if len(h.keys("v/p/")) == 0 {
			t.Fatal("nothing left for the sweeper: the test proves nothing")
		}
		if n := h.sweep(); n != k.dueOnDelete {
			t.Fatalf("sweep acted %d times, want %d", n, k.dueOnDelete)
		}
		if ks := h.keys("v/p/"); len(ks) != 0 {
			t.Fatalf("the sweeper left %v", ks)
		}
		if c := h.s.SchedulerCounts(); c["purge"] != uint64(k.dueOnDelete) {
			t.Fatalf("scheduler counts %v", c)
		}
	})
}

// TestObjectNameReuseAfterRetention: once the retention has ended, a new object may take
// the name before the sweeper comes; the old one is purged there and then, and the ledger
// says so.
func TestObjectNameReuseAfterRetention(t *testing.T) {
	eachKind(t, func(t *testing.T, h *harness, k objectKind) {
		r := h.s.Internal()
		_, err := k.create(r, "v", "obj")
		must(t, err)
		old, err := k.create(r, "v", "obj")
		must(t, err)
		_, err = k.del(r, "v", "obj")
		must(t, err)
		h.advance(7*24*time.Hour + time.Hour)
		o, err := k.create(r, "v", "obj")
		must(t, err)
		if o.Versions != 1 || o.Latest == old.Latest {
			t.Fatalf("the old versions came back: %+v", o)
		}
		es := ledgerEntries(t, h.s, ledger.Filter{Kind: string(k.kind)})
		last := es[len(es)-1]
		if last.Action != ledger.ActionAutoPurge || last.Note == "" || last.LateBySeconds != 3600 || last.Principal != ledger.Sweeper {
			t.Fatalf("ledger %+v", last)
		}
		if n := h.sweep(); n != 0 {
			t.Fatalf("the sweeper found %d things to do after the name was taken", n)
		}
	})
}

// TestObjectErrors: what every kind's operations refuse before touching anything.
func TestObjectErrors(t *testing.T) {
	eachKind(t, func(t *testing.T, h *harness, k objectKind) {
		r := h.s.Internal()
		for _, tc := range []struct {
			vault, name string
			want        error
		}{
			{"nope", "obj", vault.ErrVaultNotFound},
			{"v", "bad_name", vault.ErrBadParameter},
			{"v", "", vault.ErrBadParameter},
		} {
			_, err := k.create(r, tc.vault, tc.name)
			wantErr(t, err, tc.want)
			_, err = k.del(r, tc.vault, tc.name)
			wantErr(t, err, tc.want)
			_, err = k.recover(r, tc.vault, tc.name)
			wantErr(t, err, tc.want)
			_, err = k.getDeleted(r, tc.vault, tc.name)
			wantErr(t, err, tc.want)
			wantErr(t, k.purge(r, tc.vault, tc.name), tc.want)
			_, err = k.backup(r, tc.vault, tc.name)
			wantErr(t, err, tc.want)
			_, err = k.versions(r, tc.vault, tc.name)
			wantErr(t, err, tc.want)
		}
		_, err := k.list(r, "nope", false)
		wantErr(t, err, vault.ErrVaultNotFound)
		_, err = k.list(r, "nope", true)
		wantErr(t, err, vault.ErrVaultNotFound)
		_, err = k.get(r, "v", "missing")
		wantErr(t, err, vault.ErrNotFound)
		_, err = k.del(r, "v", "missing")
		wantErr(t, err, vault.ErrNotFound)
		if vs, err := k.versions(r, "v", "missing"); err != nil || len(vs) != 0 {
			t.Fatalf("versions of nothing: %v %v", vs, err)
		}

		// The request's access decision comes first, and refuses everything.
		denied := errors.New("denied")
		_, err = k.create(r, "v", "obj")
		must(t, err)
		no := h.s.As(vault.Actor{Principal: "p"}, func(vault.Vault) error { return denied })
		_, err = k.del(no, "v", "obj")
		wantErr(t, err, denied)
		_, err = k.get(no, "v", "obj")
		wantErr(t, err, denied)
		_, err = k.list(no, "v", false)
		wantErr(t, err, denied)
		if _, err := k.get(r, "v", "obj"); err != nil {
			t.Fatalf("refused delete changed something: %v", err)
		}
	})
}

// TestListPaging: pages of live objects in name order, each with the next page's start
// until the last.
func TestListPaging(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	for _, n := range []string{"c", "A", "b", "d", "e"} {
		_, err := r.SetSecret(bg, "v", n, vault.SecretParams{Value: n})
		must(t, err)
	}
	var got []string
	after := ""
	for pages := 0; ; pages++ {
		items, next, err := r.Secrets().List(bg, "v", after, 2)
		must(t, err)
		for _, s := range items {
			got = append(got, s.Object.Name)
			if s.Value != s.Object.Name {
				t.Fatalf("listed %+v", s)
			}
		}
		if next == "" {
			break
		}
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		after = next
	}
	if !slices.Equal(got, []string{"A", "b", "c", "d", "e"}) {
		t.Fatalf("pages %v", got)
	}
}

// TestDeletedListingEnds: the deleted listings leave out the objects past their purge date
// that the sweeper has not reached, and the key and secret behind a deleted certificate;
// when there are more of them in a row than a page reads, a page may be short or empty,
// but its next moves past them, so a walk by next ends with exactly the recoverable
// objects.
func TestDeletedListingEnds(t *testing.T) {
	vault.SetPageSkipLimit(t, 3)
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	for ki, k := range kinds {
		for i := range 10 {
			n := fmt.Sprintf("o%02d-%d", i, ki)
			_, err := k.create(r, "v", n)
			must(t, err)
			_, err = k.del(r, "v", n)
			must(t, err)
		}
	}
	h.advance(8 * 24 * time.Hour) // past every purge date, and no sweep
	// Deleted certificates, among them and around them, each with a key and secret that
	// the key and secret listings leave out.
	certs := []string{"c00", "c01", "c02", "c03", "c04", "c05", "c06", "c07", "o04-x", "z"}
	for _, n := range certs {
		_, err := r.CreateCertificate(bg, "v", n, selfPolicy, vault.CertParams{})
		must(t, err)
		_, err = r.Certificates().Delete(bg, "v", n)
		must(t, err)
	}
	recoverable := []string{"a", "o04-y", "zz"}
	for _, k := range kinds[:2] {
		for _, n := range recoverable {
			_, err := k.create(r, "v", n)
			must(t, err)
			_, err = k.del(r, "v", n)
			must(t, err)
		}
	}
	for _, limit := range []int{1, 2, 25} {
		name := func(o vault.Object) string { return o.Name }
		if got := walkDeleted(t, limit, r.Secrets().ListDeleted, func(s vault.Secret) string { return name(s.Object) }); !slices.Equal(got, recoverable) {
			t.Errorf("secrets by %d: %v", limit, got)
		}
		if got := walkDeleted(t, limit, r.Keys().ListDeleted, func(k vault.Key) string { return name(k.Object) }); !slices.Equal(got, recoverable) {
			t.Errorf("keys by %d: %v", limit, got)
		}
		if got := walkDeleted(t, limit, r.Certificates().ListDeleted, func(c vault.Certificate) string { return name(c.Object) }); !slices.Equal(got, certs) {
			t.Errorf("certificates by %d: %v", limit, got)
		}
	}
}

// walkDeleted follows a listing's next from the start and returns the names it lists,
// failing when a page is too long, a next does not move forward, or the walk does not end.
func walkDeleted[T any](t *testing.T, limit int, list func(context.Context, string, string, int) ([]T, string, error), name func(T) string) []string {
	t.Helper()
	var got []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("the listing does not end")
		}
		items, next, err := list(bg, "v", after, limit)
		must(t, err)
		if len(items) > limit {
			t.Fatalf("%d items on a page of %d", len(items), limit)
		}
		for _, it := range items {
			got = append(got, name(it))
		}
		if next == "" {
			return got
		}
		if next <= after {
			t.Fatalf("next %q after %q", next, after)
		}
		after = next
	}
}
