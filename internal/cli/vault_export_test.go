package cli_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/server"
	"github.com/coffer/coffer/internal/storage/postgres/pgtest"
	"github.com/coffer/coffer/internal/testenv"
)

// as runs the command line against st (COFFER_SERVER, COFFER_CREDENTIALS, --ca).
func as(t *testing.T, st *testenv.Stack, args ...string) result {
	t.Helper()
	t.Setenv("COFFER_SERVER", st.Server.URL())
	t.Setenv("COFFER_CREDENTIALS", st.Server.CredentialsPath())
	return coffer(t, append(args, "--ca", st.Server.CAPath())...)
}

// ageKey writes a new age identity to a file and returns the file and its recipient.
func ageKey(t *testing.T) (string, string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(f, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f, id.Recipient().String()
}

// fillVault makes vault src on st: secrets with several versions, tags, content types and
// attributes; deleted secrets, one of which will be past its purge date by import time;
// a key with two versions and a rotation policy; a certificate with its policy; contacts
// and an issuer.
func fillVault(t *testing.T, st *testenv.Stack) {
	t.Helper()
	ctx := t.Context()
	as(t, st, "vault", "create", "--name", "src", "--retention-days", "7").ok(t)
	sc := st.Secrets(t, "src")
	set := func(name, value string, p azsecrets.SetSecretParameters) {
		p.Value = &value
		if _, err := sc.SetSecret(ctx, name, p, nil); err != nil {
			t.Fatal(err)
		}
	}
	set("s1", "one", azsecrets.SetSecretParameters{ContentType: to.Ptr("text/plain"), Tags: map[string]*string{"env": to.Ptr("prod")}})
	set("s1", "two", azsecrets.SetSecretParameters{SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(false)}})
	set("s1", "three", azsecrets.SetSecretParameters{SecretAttributes: &azsecrets.SecretAttributes{
		Expires: to.Ptr(time.Now().Add(400 * 24 * time.Hour).UTC().Truncate(time.Second)), NotBefore: to.Ptr(time.Now().Add(-time.Hour).UTC().Truncate(time.Second))}})
	for _, n := range []string{"old", "gone1", "gone2", "live2"} {
		set(n, "v-"+n, azsecrets.SetSecretParameters{})
	}
	if _, err := sc.DeleteSecret(ctx, "old", nil); err != nil {
		t.Fatal(err)
	}
	st.ShiftTime(t, 3*24*time.Hour)
	for _, n := range []string{"gone1", "gone2"} {
		if _, err := sc.DeleteSecret(ctx, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	kc := st.Keys(t, "src")
	for range 2 {
		if _, err := kc.CreateKey(ctx, "k1", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC), Curve: to.Ptr(azkeys.CurveNameP256),
			Tags: map[string]*string{"k": to.Ptr("v")}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := kc.UpdateKeyRotationPolicy(ctx, "k1", azkeys.KeyRotationPolicy{
		Attributes: &azkeys.KeyRotationPolicyAttributes{ExpiryTime: to.Ptr("P90D")},
		LifetimeActions: []*azkeys.LifetimeAction{{Action: &azkeys.LifetimeActionType{Type: to.Ptr(azkeys.KeyRotationPolicyActionRotate)},
			Trigger: &azkeys.LifetimeActionTrigger{TimeBeforeExpiry: to.Ptr("P30D")}}}}, nil); err != nil {
		t.Fatal(err)
	}
	cc := st.Certificates(t, "src")
	pol := azcertificates.CertificatePolicy{
		IssuerParameters:          &azcertificates.IssuerParameters{Name: to.Ptr("Self")},
		KeyProperties:             &azcertificates.KeyProperties{Exportable: to.Ptr(true), KeyType: to.Ptr(azcertificates.KeyTypeEC), Curve: to.Ptr(azcertificates.CurveNameP256)},
		SecretProperties:          &azcertificates.SecretProperties{ContentType: to.Ptr("application/x-pem-file")},
		X509CertificateProperties: &azcertificates.X509CertificateProperties{Subject: to.Ptr("CN=web"), ValidityInMonths: to.Ptr(int32(12))},
	}
	for range 2 {
		if _, err := cc.CreateCertificate(ctx, "c1", azcertificates.CreateCertificateParameters{CertificatePolicy: &pol}, nil); err != nil {
			t.Fatal(err)
		}
		waitCert(t, cc, "c1")
	}
	if _, err := cc.SetIssuer(ctx, "corp", azcertificates.SetIssuerParameters{Provider: to.Ptr("Test"),
		Credentials: &azcertificates.IssuerCredentials{AccountID: to.Ptr("acct"), Password: to.Ptr("pw")}}, nil); err != nil {
		t.Fatal(err)
	}
	// A deleted key and a deleted certificate (with its key and secret).
	if _, err := kc.CreateKey(ctx, "kgone", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC), Curve: to.Ptr(azkeys.CurveNameP256)}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kc.DeleteKey(ctx, "kgone", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.CreateCertificate(ctx, "cgone", azcertificates.CreateCertificateParameters{CertificatePolicy: &pol}, nil); err != nil {
		t.Fatal(err)
	}
	waitCert(t, cc, "cgone")
	if _, err := cc.DeleteCertificate(ctx, "cgone", nil); err != nil {
		t.Fatal(err)
	}
	// Role assignments at the vault and inside it (the administrator: a
	// principal of this deployment; the target keeps the id as it is).
	scope := "/subscriptions/c0ffe000-0000-4000-8000-000000000000/resourceGroups/coffer/providers/Microsoft.KeyVault/vaults/src"
	as(t, st, "role", "assignment", "create", "--assignee", st.Creds.ClientID, "--role", "Key Vault Secrets User", "--scope", scope).ok(t)
	as(t, st, "role", "assignment", "create", "--assignee", st.Creds.ClientID, "--role", "Key Vault Reader", "--scope", scope+"/secrets/s1").ok(t)
	if _, err := cc.SetContacts(ctx, azcertificates.Contacts{ContactList: []*azcertificates.Contact{{Email: to.Ptr("ops@example.com"), Name: to.Ptr("Ops")}}}, nil); err != nil {
		t.Fatal(err)
	}
}

// waitCert waits for a certificate's pending issuance to end.
func waitCert(t *testing.T, cc *azcertificates.Client, name string) {
	t.Helper()
	for range 100 {
		op, err := cc.GetCertificateOperation(t.Context(), name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if op.Status != nil && *op.Status != "inProgress" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("certificate issuance did not end")
}

// secretVersions reads every version of a secret, by version id.
func secretVersions(t *testing.T, sc *azsecrets.Client, name string) map[string]azsecrets.Secret {
	t.Helper()
	out := map[string]azsecrets.Secret{}
	p := sc.NewListSecretPropertiesVersionsPager(name, nil)
	for p.More() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Value {
			s := azsecrets.Secret{Attributes: v.Attributes, ContentType: v.ContentType, Tags: v.Tags}
			if v.Attributes.Enabled == nil || *v.Attributes.Enabled { // a disabled version's value cannot be read
				got, err := sc.GetSecret(t.Context(), name, v.ID.Version(), nil)
				if err != nil {
					t.Fatal(err)
				}
				got.ID = nil // names the vault
				s = got.Secret
			}
			out[v.ID.Version()] = s
		}
	}
	return out
}

func deletedSecrets(t *testing.T, sc *azsecrets.Client) map[string][2]time.Time {
	t.Helper()
	out := map[string][2]time.Time{}
	p := sc.NewListDeletedSecretPropertiesPager(nil)
	for p.More() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Value {
			out[d.ID.Name()] = [2]time.Time{*d.DeletedDate, *d.ScheduledPurgeDate}
		}
	}
	return out
}

func jsonEq(t *testing.T, what string, a, b any) {
	t.Helper()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("%s differ:\nsource %s\nimport %s", what, ja, jb)
	}
}

// TestVaultExportImport exports a vault from one deployment and imports it into another
// (another KEK), then compares everything through the Azure SDK, runs the soft-delete
// lifecycle on the import, and checks that bad files are refused with nothing created.
func TestVaultExportImport(t *testing.T) {
	cleanEnv(t)
	a := testenv.NewStack(t)
	b := testenv.NewStack(t)
	exportImport(t, a, b)
}

// TestVaultExportImportPostgres is TestVaultExportImport onto a PostgreSQL deployment.
func TestVaultExportImportPostgres(t *testing.T) {
	cleanEnv(t)
	dsn := pgtest.FreshSchema(t, "coffer_vx_")
	a := testenv.NewStack(t)
	b := testenv.NewStack(t, testenv.Options{Config: func(c *server.Config) { c.Storage = dsn }})
	exportImport(t, a, b)
}

func exportImport(t *testing.T, a, b *testenv.Stack) {
	ctx := t.Context()
	fillVault(t, a)
	dir := t.TempDir()
	keyFile, recipient := ageKey(t)
	file := filepath.Join(dir, "src.cfx")
	// Only the administrator exports, even a principal with every access policy right.
	var other identity.Credentials
	json.Unmarshal([]byte(as(t, a, "principal", "create", "--name", "other").ok(t).out), &other)
	as(t, a, "vault", "set-policy", "--name", "src", "--object-id", other.ObjectID, "--secret-permissions", "all", "--key-permissions", "all").ok(t)
	if status, body := send(t, a, "GET", a.Server.URL()+"/admin/export/src", token(t, a, other, "https://management.azure.com"), ""); status != http.StatusForbidden {
		t.Fatalf("a principal other than the administrator exported: %d %.200s", status, body)
	}
	ex := jsonOut[map[string]any](t, as(t, a, "vault", "export", "--name", "src", "--file", file, "--recipient", recipient).ok(t))
	if at(ex, "counts.secrets") != float64(2) || at(ex, "counts.deletedSecrets") != float64(3) || at(ex, "counts.keys") != float64(1) ||
		at(ex, "counts.certificates") != float64(1) || at(ex, "counts.deletedKeys") != float64(1) || at(ex, "counts.deletedCertificates") != float64(1) {
		t.Fatalf("export summary %v", ex)
	}
	raw, _ := os.ReadFile(file)
	if bytes.Contains(raw, []byte("v-live2")) || !bytes.HasPrefix(raw, []byte("age-encryption.org/v1")) {
		t.Fatal("the export file is not age-encrypted")
	}
	as(t, a, "vault", "export", "--name", "src", "--file", file, "--recipient", recipient).usage(t, "exists")
	if log, _ := os.ReadFile(filepath.Join(a.DataDir, "audit", "audit.log")); !bytes.Contains(log, []byte(`"op":"VaultExport"`)) {
		t.Fatal("the export is not in the audit log")
	}
	if log, _ := os.ReadFile(filepath.Join(a.DataDir, "audit", "audit.log")); bytes.Contains(log, []byte("v-live2")) {
		t.Fatal("the audit log holds a secret value")
	}
	ledger := as(t, a, "ledger", "--vault-name", "src").ok(t).out
	if !strings.Contains(ledger, `"action": "export"`) {
		t.Fatalf("no export in the ledger: %s", ledger)
	}

	// The target's clock is 8 days further on: "old" (deleted 3 days before the others,
	// 7 days' retention) is past its purge date there.
	b.ShiftTime(t, 8*24*time.Hour)
	dry := jsonOut[map[string]any](t, as(t, b, "vault", "import", "--file", file, "--name", "dst", "--identity", keyFile, "--dry-run").ok(t))
	if items, _ := dry["items"].([]any); len(items) < 6 {
		t.Fatalf("dry run listed %v", dry["items"])
	}
	as(t, b, "vault", "show", "--name", "dst").notFound(t, "")
	sum := jsonOut[map[string]any](t, as(t, b, "vault", "import", "--file", file, "--name", "dst", "--identity", keyFile).ok(t))
	if p, _ := sum["purgedNotImported"].([]any); len(p) != 1 || at(p[0], "name") != "old" {
		t.Fatalf("import summary: purgedNotImported %v", sum["purgedNotImported"])
	}
	as(t, b, "vault", "import", "--file", file, "--name", "dst", "--identity", keyFile).conflict(t, "taken")
	if l := as(t, b, "ledger", "--vault-name", "dst").ok(t).out; !strings.Contains(l, `"action": "import"`) || !strings.Contains(l, "from vault src") {
		t.Fatalf("no import in the target's ledger: %s", l)
	}

	// The vault: settings and access policies.
	va, err := a.Vaults(t, "c0ffe000-0000-4000-8000-000000000000").Get(ctx, "coffer", "src", nil)
	if err != nil {
		t.Fatal(err)
	}
	vb, err := b.Vaults(t, "c0ffe000-0000-4000-8000-000000000000").Get(ctx, "coffer", "dst", nil)
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := *va.Properties, *vb.Properties
	// Access policies name the target's tenant (a deployment has one); all else is kept.
	for _, p := range append(slices.Clone(pa.AccessPolicies), pb.AccessPolicies...) {
		p.TenantID = nil
	}
	jsonEq(t, "access policies", pa.AccessPolicies, pb.AccessPolicies)
	jsonEq(t, "retention", pa.SoftDeleteRetentionInDays, pb.SoftDeleteRetentionInDays)
	jsonEq(t, "purge protection", pa.EnablePurgeProtection, pb.EnablePurgeProtection)
	jsonEq(t, "sku", pa.SKU, pb.SKU)
	jsonEq(t, "rbac", pa.EnableRbacAuthorization, pb.EnableRbacAuthorization)
	jsonEq(t, "tags", va.Tags, vb.Tags)
	jsonEq(t, "created", va.SystemData.CreatedAt, vb.SystemData.CreatedAt)

	// Role assignments: the same roles, principals and names, at the new vault.
	roles := func(st *testenv.Stack, vault string) []string {
		var out []string
		for _, a := range jsonOut[[]map[string]any](t, as(t, st, "role", "assignment", "list", "--all").ok(t)) {
			if sc, _ := a["scope"].(string); strings.Contains(sc, "/vaults/"+vault) {
				out = append(out, a["name"].(string)+" "+a["roleDefinitionName"].(string)+" "+strings.TrimPrefix(sc[strings.Index(sc, "/vaults/"):], "/vaults/"+vault))
			}
		}
		slices.Sort(out)
		return out
	}
	if ra, rb := roles(a, "src"), roles(b, "dst"); len(ra) != 2 || !slices.Equal(ra, rb) {
		t.Fatalf("role assignments: source %v, import %v", ra, rb)
	}

	// Secrets: every version, value, attribute (dates too) and tag.
	sa, sb := a.Secrets(t, "src"), b.Secrets(t, "dst")
	for _, n := range []string{"s1", "live2"} {
		va, vb := secretVersions(t, sa, n), secretVersions(t, sb, n)
		if n == "s1" && len(va) != 3 {
			t.Fatalf("s1 has %d versions", len(va))
		}
		jsonEq(t, "secret "+n, va, vb)
	}
	da, db := deletedSecrets(t, sa), deletedSecrets(t, sb)
	delete(da, "old")
	if !reflect.DeepEqual(da, db) || len(db) != 2 {
		t.Fatalf("deleted secrets: source %v, import %v", da, db)
	}

	// Keys: versions, material, attributes, rotation policy.
	ka, kb := a.Keys(t, "src"), b.Keys(t, "dst")
	kvers := func(kc *azkeys.Client) map[string]azkeys.KeyBundle {
		out := map[string]azkeys.KeyBundle{}
		p := kc.NewListKeyPropertiesVersionsPager("k1", nil)
		for p.More() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range page.Value {
				got, err := kc.GetKey(ctx, "k1", v.KID.Version(), nil)
				if err != nil {
					t.Fatal(err)
				}
				got.Key.KID = nil
				out[v.KID.Version()] = got.KeyBundle
			}
		}
		return out
	}
	if ka, kb := kvers(ka), kvers(kb); len(ka) != 2 || !reflect.DeepEqual(ka, kb) {
		jsonEq(t, "key k1", ka, kb)
	}
	rpa, err := ka.GetKeyRotationPolicy(ctx, "k1", nil)
	if err != nil {
		t.Fatal(err)
	}
	rpb, err := kb.GetKeyRotationPolicy(ctx, "k1", nil)
	if err != nil {
		t.Fatal(err)
	}
	rpa.ID, rpb.ID = nil, nil
	jsonEq(t, "rotation policy", rpa, rpb)
	// The imported key signs under the target's KEK; the source's public key verifies.
	digest := bytes.Repeat([]byte{7}, 32)
	sig, err := kb.Sign(ctx, "k1", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmES256), Value: digest}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ver, err := ka.Verify(ctx, "k1", "", azkeys.VerifyParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmES256), Digest: digest, Signature: sig.Result}, nil)
	if err != nil || !*ver.Value {
		t.Fatalf("the source does not verify the import's signature: %v", err)
	}

	// Certificates: versions, CER, policy; contacts.
	ca, cb := a.Certificates(t, "src"), b.Certificates(t, "dst")
	cvers := func(cc *azcertificates.Client) map[string][]byte {
		out := map[string][]byte{}
		p := cc.NewListCertificatePropertiesVersionsPager("c1", nil)
		for p.More() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range page.Value {
				got, err := cc.GetCertificate(ctx, "c1", v.ID.Version(), nil)
				if err != nil {
					t.Fatal(err)
				}
				out[v.ID.Version()] = got.CER
			}
		}
		return out
	}
	if x, y := cvers(ca), cvers(cb); len(x) != 2 || !reflect.DeepEqual(x, y) {
		t.Fatalf("certificate versions differ: %d and %d", len(x), len(y))
	}
	pola, _ := ca.GetCertificatePolicy(ctx, "c1", nil)
	polb, _ := cb.GetCertificatePolicy(ctx, "c1", nil)
	pola.ID, polb.ID = nil, nil
	jsonEq(t, "certificate policy", pola.CertificatePolicy, polb.CertificatePolicy)
	cona, _ := ca.GetContacts(ctx, nil)
	conb, _ := cb.GetContacts(ctx, nil)
	jsonEq(t, "contacts", cona.ContactList, conb.ContactList)

	iss1, err := ca.GetIssuer(ctx, "corp", nil)
	if err != nil {
		t.Fatal(err)
	}
	iss2, err := cb.GetIssuer(ctx, "corp", nil)
	if err != nil {
		t.Fatal(err)
	}
	iss1.ID, iss2.ID = nil, nil
	jsonEq(t, "issuer", iss1.Issuer, iss2.Issuer)

	// Deleted keys and certificates, with their dates.
	delKeys := func(kc *azkeys.Client) map[string]any {
		out := map[string]any{}
		p := kc.NewListDeletedKeyPropertiesPager(nil)
		for p.More() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range page.Value {
				out[d.KID.Name()] = []any{d.DeletedDate, d.ScheduledPurgeDate, d.Attributes.Created, d.Managed}
			}
		}
		return out
	}
	if x, y := delKeys(ka), delKeys(kb); len(x) != 1 || !reflect.DeepEqual(x, y) {
		jsonEq(t, "deleted keys", x, y)
	}
	delCerts := func(cc *azcertificates.Client) map[string]any {
		out := map[string]any{}
		p := cc.NewListDeletedCertificatePropertiesPager(nil)
		for p.More() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range page.Value {
				out[d.ID.Name()] = []any{d.DeletedDate, d.ScheduledPurgeDate, d.Attributes.Created, d.X509Thumbprint}
			}
		}
		return out
	}
	if x, y := delCerts(ca), delCerts(cb); len(x) != 1 || !reflect.DeepEqual(x, y) {
		jsonEq(t, "deleted certificates", x, y)
	}
	if _, err := cb.RecoverDeletedCertificate(ctx, "cgone", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kb.GetKey(ctx, "cgone", "", nil); err != nil {
		t.Fatalf("the recovered certificate's key: %v", err)
	}

	// Purge protection is kept.
	as(t, a, "vault", "create", "--name", "guarded", "--enable-purge-protection", "true").ok(t)
	gfile := filepath.Join(dir, "guarded.cfx")
	as(t, a, "vault", "export", "--name", "guarded", "--file", gfile, "--recipient", recipient).ok(t)
	as(t, b, "vault", "import", "--file", gfile, "--name", "guarded2", "--identity", keyFile).ok(t)
	if g := jsonOut[map[string]any](t, as(t, b, "vault", "show", "--name", "guarded2").ok(t)); at(g, "properties.enablePurgeProtection") != true {
		t.Fatalf("purge protection lost: %v", at(g, "properties"))
	}

	// The soft-delete lifecycle on the import: recover one, purge the other.
	if _, err := sb.RecoverDeletedSecret(ctx, "gone1", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := sb.GetSecret(ctx, "gone1", "", nil); err != nil || *got.Value != "v-gone1" {
		t.Fatalf("recovered gone1: %v", err)
	}
	if _, err := sb.PurgeDeletedSecret(ctx, "gone2", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.GetDeletedSecret(ctx, "gone2", nil); err == nil {
		t.Fatal("gone2 is still there after its purge")
	}

	// Bad files: nothing is created.
	otherKey, _ := ageKey(t)
	as(t, b, "vault", "import", "--file", file, "--name", "bad1", "--identity", otherKey).fails(t, "wrong key")
	cut := filepath.Join(dir, "cut.cfx")
	os.WriteFile(cut, raw[:len(raw)-100], 0o600)
	as(t, b, "vault", "import", "--file", cut, "--name", "bad2", "--identity", keyFile).fails(t, "")
	cut2 := filepath.Join(dir, "cut2.cfx")
	os.WriteFile(cut2, raw[:len(raw)/2], 0o600)
	as(t, b, "vault", "import", "--file", cut2, "--name", "bad3", "--identity", keyFile).fails(t, "")
	tampered := filepath.Join(dir, "tampered.cfx")
	bad := slices.Clone(raw)
	bad[len(bad)/2] ^= 1
	os.WriteFile(tampered, bad, 0o600)
	as(t, b, "vault", "import", "--file", tampered, "--name", "bad4", "--identity", keyFile).fails(t, "")
	pfile := filepath.Join(dir, "pass.cfx")
	t.Setenv("COFFER_EXPORT_PASSPHRASE", "correct horse battery staple")
	as(t, a, "vault", "export", "--name", "src", "--file", pfile, "--passphrase").ok(t)
	t.Setenv("COFFER_EXPORT_PASSPHRASE", "wrong")
	as(t, b, "vault", "import", "--file", pfile, "--name", "bad5", "--passphrase").fails(t, "wrong key")
	for _, n := range []string{"bad1", "bad2", "bad3", "bad4", "bad5"} {
		as(t, b, "vault", "show", "--name", n).notFound(t, "")
	}
	t.Setenv("COFFER_EXPORT_PASSPHRASE", "correct horse battery staple")
	as(t, b, "vault", "import", "--file", pfile, "--name", "good5", "--passphrase").ok(t)
	// A soft-deleted vault holds its name until its purge date.
	as(t, b, "vault", "delete", "--name", "good5").ok(t)
	as(t, b, "vault", "import", "--file", pfile, "--name", "good5", "--passphrase").conflict(t, "soft-deleted")

	// A plaintext stream cut before its trailer, sent straight to the server: refused,
	// and the name is free afterwards (no staging left behind).
	plain := exportPlain(t, a, "src")
	status, body := send(t, b, "POST", b.Server.URL()+"/admin/import/cut6", b.ARMToken(t), plain[:len(plain)-30])
	if status != http.StatusBadRequest || !strings.Contains(body, "truncated") {
		t.Fatalf("a cut stream: %d %s", status, body)
	}
	as(t, b, "vault", "create", "--name", "cut6").ok(t)
	if got := secretVersions(t, b.Secrets(t, "cut6"), "s1"); len(got) != 0 {
		t.Fatalf("a failed import left %d versions behind", len(got))
	}
}

// exportPlain reads a vault's plaintext export stream from the admin route.
func exportPlain(t *testing.T, st *testenv.Stack, vault string) string {
	t.Helper()
	status, body := send(t, st, "GET", st.Server.URL()+"/admin/export/"+vault, st.ARMToken(t), "")
	if status != http.StatusOK {
		t.Fatalf("export: %d %s", status, body)
	}
	return body
}
