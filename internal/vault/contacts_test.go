package vault_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/vault"
)

func TestContacts(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	_, err := r.GetContacts(bg, "v")
	wantErr(t, err, vault.ErrNotFound)
	_, err = r.DeleteContacts(bg, "v")
	wantErr(t, err, vault.ErrNotFound)
	cs := []vault.Contact{{Email: "a@example.com"}, {Name: "Bob", Phone: "123"}}
	got, err := r.SetContacts(bg, "v", cs)
	must(t, err)
	if !slices.Equal(got, cs) {
		t.Fatalf("set %v", got)
	}
	if got, err := r.GetContacts(bg, "v"); err != nil || !slices.Equal(got, cs) {
		t.Fatalf("get %v %v", got, err)
	}
	_, err = r.SetContacts(bg, "v", []vault.Contact{{Email: "x@example.com"}, {}})
	wantErr(t, err, vault.ErrBadParameter)
	if got, _ := r.GetContacts(bg, "v"); !slices.Equal(got, cs) {
		t.Fatalf("a refused set changed them: %v", got)
	}
	if got, err := r.DeleteContacts(bg, "v"); err != nil || !slices.Equal(got, cs) {
		t.Fatalf("delete %v %v", got, err)
	}
	_, err = r.GetContacts(bg, "v")
	wantErr(t, err, vault.ErrNotFound)
	for _, err := range []error{
		func() error { _, err := r.GetContacts(bg, "nope"); return err }(),
		func() error { _, err := r.SetContacts(bg, "nope", cs); return err }(),
		func() error { _, err := r.DeleteContacts(bg, "nope"); return err }(),
	} {
		wantErr(t, err, vault.ErrVaultNotFound)
	}
}

func TestIssuers(t *testing.T) {
	h := newHarness(t)
	h.vault("v", 7, false)
	r := h.s.Internal()
	creds := json.RawMessage(`{"account_id":"a"}`)
	is, err := r.SetIssuer(bg, "v", vault.IssuerParams{Name: "Digi", Provider: "DigiCert", Credentials: creds}, false)
	must(t, err)
	if is.Name != "Digi" || !is.Created.Equal(t0) || !is.Updated.Equal(t0) || !is.Enabled {
		t.Fatalf("set %+v", is)
	}
	// A merge keeps what it is not given, the enabled flag too.
	h.advance(time.Hour)
	is, err = r.SetIssuer(bg, "v", vault.IssuerParams{Name: "digi", OrgDetails: json.RawMessage(`{"id":"o"}`), Enabled: ptr(false)}, true)
	must(t, err)
	if is.Provider != "DigiCert" || string(is.Credentials) != string(creds) || string(is.OrgDetails) != `{"id":"o"}` || is.Enabled ||
		!is.Created.Equal(t0) || !is.Updated.Equal(h.s.Now()) {
		t.Fatalf("merged %+v", is)
	}
	is, err = r.SetIssuer(bg, "v", vault.IssuerParams{Name: "digi", Provider: "Other"}, true)
	must(t, err)
	if is.Provider != "Other" || string(is.OrgDetails) != `{"id":"o"}` || is.Enabled {
		t.Fatalf("merged without enabled %+v", is)
	}
	is, err = r.SetIssuer(bg, "v", vault.IssuerParams{Name: "digi", Enabled: ptr(true)}, true)
	must(t, err)
	if is.Provider != "Other" || !is.Enabled {
		t.Fatalf("merged enabled %+v", is)
	}
	// A replace keeps only the creation date.
	is, err = r.SetIssuer(bg, "v", vault.IssuerParams{Name: "Digi", Provider: "GlobalSign"}, false)
	must(t, err)
	if is.Provider != "GlobalSign" || is.Credentials != nil || !is.Created.Equal(t0) {
		t.Fatalf("replaced %+v", is)
	}
	_, err = r.SetIssuer(bg, "v", vault.IssuerParams{Name: "Other", Provider: "x"}, false)
	must(t, err)
	list, err := r.ListIssuers(bg, "v")
	must(t, err)
	if len(list) != 2 || list[0].Name != "Digi" || list[1].Name != "Other" {
		t.Fatalf("list %+v", list)
	}
	if got, err := r.GetIssuer(bg, "v", "DIGI"); err != nil || got.Provider != "GlobalSign" {
		t.Fatalf("get %+v %v", got, err)
	}
	if got, err := r.DeleteIssuer(bg, "v", "digi"); err != nil || got.Name != "Digi" {
		t.Fatalf("delete %+v %v", got, err)
	}
	_, err = r.GetIssuer(bg, "v", "digi")
	wantErr(t, err, vault.ErrNotFound)
	_, err = r.DeleteIssuer(bg, "v", "digi")
	wantErr(t, err, vault.ErrNotFound)

	for _, tc := range []struct {
		in    vault.IssuerParams
		merge bool
		want  error
	}{
		{vault.IssuerParams{Name: "Self", Provider: "x"}, false, vault.ErrBadParameter},
		{vault.IssuerParams{Name: "unknown", Provider: "x"}, false, vault.ErrBadParameter},
		{vault.IssuerParams{Name: "bad name", Provider: "x"}, false, vault.ErrBadParameter},
		{vault.IssuerParams{Name: "NoProvider"}, false, vault.ErrBadParameter},
		{vault.IssuerParams{Name: "Missing", Provider: "x"}, true, vault.ErrNotFound},
	} {
		_, err := r.SetIssuer(bg, "v", tc.in, tc.merge)
		wantErr(t, err, tc.want)
	}
	for _, err := range []error{
		func() error {
			_, err := r.SetIssuer(bg, "nope", vault.IssuerParams{Name: "a", Provider: "x"}, false)
			return err
		}(),
		func() error { _, err := r.GetIssuer(bg, "nope", "a"); return err }(),
		func() error { _, err := r.DeleteIssuer(bg, "nope", "a"); return err }(),
		func() error { _, err := r.ListIssuers(bg, "nope"); return err }(),
	} {
		wantErr(t, err, vault.ErrVaultNotFound)
	}
}
