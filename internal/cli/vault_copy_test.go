package cli_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/coffer/coffer/internal/cli"
	"github.com/coffer/coffer/internal/testenv"
)

// TestVaultCopy copies a vault from one Coffer deployment, standing in for Azure Key
// Vault and read through the Azure SDK with DefaultAzureCredential's environment
// variables, into another; stops the copy part-way; and runs it again, which completes
// it without a version copied twice.
func TestVaultCopy(t *testing.T) {
	cleanEnv(t)
	a := testenv.NewStack(t)
	b := testenv.NewStack(t)
	fillVault(t, a)
	ctx := t.Context()
	// Two more versions of a secret, and one repeating an earlier value: a re-run must
	// keep both equal values.
	sc := a.Secrets(t, "src")
	for _, v := range []string{"x", "y", "x"} {
		if _, err := sc.SetSecret(ctx, "dup", azsecrets.SetSecretParameters{Value: to.Ptr(v)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// A certificate whose key is not exportable is listed, not copied.
	if _, err := a.Certificates(t, "src").CreateCertificate(ctx, "locked", azcertificates.CreateCertificateParameters{CertificatePolicy: &azcertificates.CertificatePolicy{
		IssuerParameters:          &azcertificates.IssuerParameters{Name: to.Ptr("Self")},
		KeyProperties:             &azcertificates.KeyProperties{Exportable: to.Ptr(false), KeyType: to.Ptr(azcertificates.KeyTypeEC), Curve: to.Ptr(azcertificates.CurveNameP256)},
		X509CertificateProperties: &azcertificates.X509CertificateProperties{Subject: to.Ptr("CN=locked"), ValidityInMonths: to.Ptr(int32(12))},
	}}, nil); err != nil {
		t.Fatal(err)
	}
	waitCert(t, a.Certificates(t, "src"), "locked")

	as(t, b, "vault", "create", "--name", "dst").ok(t)
	from := a.Server.VaultURL("src")
	u, _ := url.Parse(from)
	testenv.ResolveLoopback(t, u.Hostname())
	t.Setenv("AZURE_TENANT_ID", a.Creds.TenantID)
	t.Setenv("AZURE_CLIENT_ID", a.Creds.ClientID)
	t.Setenv("AZURE_CLIENT_SECRET", a.Creds.ClientSecret)
	t.Setenv("AZURE_AUTHORITY_HOST", a.Creds.AuthorityHost)

	stop := errors.New("interrupted by the test")
	cli.SetCopyHook(t.Cleanup, func(n int) error {
		if n == 2 { // part-way through the versions of "dup"
			return stop
		}
		return nil
	})
	as(t, b, "vault", "copy", "--from", from, "--to-vault", "dst", "--source-ca", a.Server.CAPath()).fails(t, "interrupted")
	cli.SetCopyHook(t.Cleanup, nil)
	sum := jsonOut[map[string]any](t, as(t, b, "vault", "copy", "--from", from, "--to-vault", "dst", "--source-ca", a.Server.CAPath()).ok(t))
	if sum["secretVersionsAlreadyPresent"] != float64(2) {
		t.Fatalf("re-run summary: %v", sum)
	}
	if ds, _ := sum["secretVersionsDisabledNotCopied"].([]any); len(ds) != 1 {
		t.Fatalf("disabled versions: %v", sum["secretVersionsDisabledNotCopied"])
	}
	if ks, _ := sum["keysNotCopied"].([]any); len(ks) != 1 || ks[0] != "k1" {
		t.Fatalf("keys not copied: %v", sum["keysNotCopied"])
	}
	if cs, _ := sum["certificatesNotCopiedKeyNotExportable"].([]any); len(cs) != 1 || cs[0] != "locked" {
		t.Fatalf("certificates not copied: %v", sum["certificatesNotCopiedKeyNotExportable"])
	}
	// Once more: nothing left to copy.
	again := jsonOut[map[string]any](t, as(t, b, "vault", "copy", "--from", from, "--to-vault", "dst", "--source-ca", a.Server.CAPath()).ok(t))
	if again["secretVersionsCopied"] != float64(0) || again["certificateVersionsCopied"] != float64(0) {
		t.Fatalf("a third run copied again: %v", again)
	}

	// Every readable secret version is there once, with its value, content type, tags and
	// attributes, in the source's order (the latest is the latest).
	db := b.Secrets(t, "dst")
	for _, name := range []string{"s1", "live2", "dup"} {
		src, dst := secretVersions(t, sc, name), secretVersions(t, db, name)
		for id, s := range src {
			if !*s.Attributes.Enabled {
				delete(src, id) // its value cannot be read: listed in the summary
			}
		}
		if len(src) != len(dst) {
			t.Fatalf("secret %s: %d versions in the source, %d copied", name, len(src), len(dst))
		}
		count := func(m map[string]azsecrets.Secret) map[string]int {
			out := map[string]int{}
			for _, s := range m {
				s.Attributes = &azsecrets.SecretAttributes{Enabled: s.Attributes.Enabled, NotBefore: s.Attributes.NotBefore, Expires: s.Attributes.Expires}
				s.KID = nil
				out[string(must(t, s))]++
			}
			return out
		}
		jsonEq(t, "secret "+name, count(src), count(dst))
		ls, _ := sc.GetSecret(ctx, name, "", nil)
		ld, _ := db.GetSecret(ctx, name, "", nil)
		if ls.Value != nil && *ls.Value != *ld.Value {
			t.Fatalf("secret %s: latest %q, copied latest %q", name, *ls.Value, *ld.Value)
		}
	}
	// The certificate: both versions, same thumbprints, same policy; its key came along.
	ca, cb := a.Certificates(t, "src"), b.Certificates(t, "dst")
	thumbs := func(cc *azcertificates.Client) map[string]int {
		out := map[string]int{}
		p := cc.NewListCertificatePropertiesVersionsPager("c1", nil)
		for p.More() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range page.Value {
				out[string(v.X509Thumbprint)]++
			}
		}
		return out
	}
	jsonEq(t, "certificate c1 versions", thumbs(ca), thumbs(cb))
	la, _ := ca.GetCertificate(ctx, "c1", "", nil)
	lb, _ := cb.GetCertificate(ctx, "c1", "", nil)
	if string(la.X509Thumbprint) != string(lb.X509Thumbprint) {
		t.Fatal("the copied certificate's current version is not the source's")
	}
	pa, _ := ca.GetCertificatePolicy(ctx, "c1", nil)
	pb, _ := cb.GetCertificatePolicy(ctx, "c1", nil)
	jsonEq(t, "certificate policy key", pa.KeyProperties, pb.KeyProperties)
	jsonEq(t, "certificate policy subject", pa.X509CertificateProperties.Subject, pb.X509CertificateProperties.Subject)
	if _, err := b.Keys(t, "dst").GetKey(ctx, "c1", "", nil); err != nil {
		t.Fatalf("the copied certificate's key: %v", err)
	}
}

func must(t *testing.T, s azsecrets.Secret) []byte {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
