package cli_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/testenv"
)

func b64dec(t *testing.T, v any) []byte {
	t.Helper()
	s, _ := v.(string)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("%q is not standard base64: %v", s, err)
	}
	return b
}

// TestKeyLifecycle drives every key command: create, import, show, list, versions,
// rotate, the four crypto operations (checked against the public key locally), backup,
// delete with the help for deleted keys, recover, purge and restore.
func TestKeyLifecycle(t *testing.T) {
	cleanEnv(t)
	st := testenv.NewStack(t)
	login(t, st)
	dir := t.TempDir()
	vn := []string{"--vault-name", "default"}
	key := func(args ...string) result { return coffer(t, append(append([]string{"key"}, args...), vn...)...) }

	k := jsonOut[map[string]any](t, key("create", "--name", "rsa", "--size", "2048", "--tags", "use=wrap").ok(t))
	if got := keysOf(k); got != "attributes,key,managed,releasePolicy,tags" {
		t.Fatalf("create keys %s", got)
	}
	if got := keysOf(k["attributes"].(map[string]any)); got != "created,enabled,expires,exportable,hsmPlatform,notBefore,recoverableDays,recoveryLevel,updated" {
		t.Fatalf("attribute keys %s", got)
	}
	jwk := k["key"].(map[string]any)
	if got := keysOf(jwk); got != "crv,d,dp,dq,e,k,keyOps,kid,kty,n,p,q,qi,t,x,y" {
		t.Fatalf("jwk keys %s", got)
	}
	if jwk["kty"] != "RSA" || len(b64dec(t, jwk["n"])) != 256 || jwk["d"] != nil || at(k, "tags.use") != "wrap" ||
		!strings.HasPrefix(jwk["kid"].(string), st.Server.VaultURL("default")+"keys/rsa/") || !azDate.MatchString(at(k, "attributes.created").(string)) {
		t.Fatalf("create printed %v", k)
	}

	// Encrypt and decrypt, az's shapes.
	enc := jsonOut[map[string]any](t, key("encrypt", "-n", "rsa", "-a", "RSA-OAEP-256", "--value", "hello", "--data-type", "plaintext").ok(t))
	if keysOf(enc) != "aad,algorithm,iv,kid,result,tag" || enc["algorithm"] != "RSA-OAEP-256" {
		t.Fatalf("encrypt %v", enc)
	}
	dec := jsonOut[map[string]any](t, key("decrypt", "-n", "rsa", "-a", "rsa-oaep-256", "--value", enc["result"].(string), "--data-type", "plaintext").ok(t))
	if keysOf(dec) != "algorithm,kid,result" || dec["result"] != "hello" {
		t.Fatalf("decrypt %v", dec)
	}
	if dec := jsonOut[map[string]any](t, key("decrypt", "-n", "rsa", "-a", "RSA-OAEP-256", "--value", enc["result"].(string)).ok(t)); dec["result"] != "aGVsbG8=" {
		t.Fatalf("decrypt base64 %v", dec)
	}
	key("decrypt", "-n", "rsa", "-a", "RSA-OAEP-256", "--value", "AAAA").fails(t, "400")
	key("encrypt", "-n", "rsa", "-a", "ROT13", "--value", "x").usage(t, `--algorithm "ROT13" is not known`).hinted(t)

	// Sign with EC, verify locally against the printed public key and with verify.
	k = jsonOut[map[string]any](t, key("create", "-n", "ec", "--curve", "P-256", "--ops", "sign verify").ok(t))
	jwk = k["key"].(map[string]any)
	if jwk["kty"] != "EC" || jwk["crv"] != "P-256" || jsonString(jwk["keyOps"]) != `["sign","verify"]` {
		t.Fatalf("ec key %v", jwk)
	}
	digest := sha256.Sum256([]byte("message"))
	d64 := base64.StdEncoding.EncodeToString(digest[:])
	sig := jsonOut[map[string]any](t, key("sign", "-n", "ec", "-a", "ES256", "--digest", d64).ok(t))
	if keysOf(sig) != "algorithm,keyId,signature" {
		t.Fatalf("sign %v", sig)
	}
	raw := b64dec(t, sig["signature"])
	pub := ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(b64dec(t, jwk["x"])), Y: new(big.Int).SetBytes(b64dec(t, jwk["y"]))}
	if len(raw) != 64 || !ecdsa.Verify(&pub, digest[:], new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])) {
		t.Fatalf("signature does not verify locally: %x", raw)
	}
	if v := jsonOut[map[string]any](t, key("verify", "-n", "ec", "-a", "ES256", "--digest", d64, "--signature", sig["signature"].(string)).ok(t)); v["isValid"] != true {
		t.Fatalf("verify %v", v)
	}
	raw[0] ^= 1
	if v := jsonOut[map[string]any](t, key("verify", "-n", "ec", "-a", "ES256", "--digest", d64, "--signature", base64.StdEncoding.EncodeToString(raw)).ok(t)); v["isValid"] != false {
		t.Fatalf("verify of a bad signature %v", v)
	}

	// Import RSA (PKCS#8) and EC (SEC 1) keys from PEM.
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	p8, _ := x509.MarshalPKCS8PrivateKey(rk)
	os.WriteFile(filepath.Join(dir, "rsa.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600)
	k = jsonOut[map[string]any](t, key("import", "-n", "imported", "--pem-file", filepath.Join(dir, "rsa.pem")).ok(t))
	if got := b64dec(t, at(k, "key.n")); new(big.Int).SetBytes(got).Cmp(rk.N) != 0 {
		t.Fatal("imported modulus differs")
	}
	ek, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(ek)
	k = jsonOut[map[string]any](t, key("import", "-n", "imported-ec", "--pem-string", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}))).ok(t))
	if at(k, "key.crv") != "P-384" || new(big.Int).SetBytes(b64dec(t, at(k, "key.x"))).Cmp(ek.X) != 0 {
		t.Fatalf("imported EC %v", k["key"])
	}
	key("import", "-n", "bad", "--pem-string", "not a pem").fails(t, "no private key").hinted(t)

	// show, list, rotate, list-versions.
	if k := jsonOut[map[string]any](t, key("show", "-n", "rsa").ok(t)); at(k, "key.kty") != "RSA" {
		t.Fatalf("show %v", k)
	}
	items := jsonOut[[]map[string]any](t, key("list").ok(t))
	if len(items) != 4 || keysOf(items[0]) != "attributes,kid,managed,name,tags" {
		t.Fatalf("list %v", items)
	}
	k = jsonOut[map[string]any](t, key("rotate", "-n", "rsa").ok(t))
	if at(k, "key.kid") == jwk["kid"] {
		t.Fatal("rotate made no new version")
	}
	if got := jsonOut[[]map[string]any](t, key("list-versions", "-n", "rsa").ok(t)); len(got) != 2 {
		t.Fatalf("list-versions %v", got)
	}

	backup := filepath.Join(dir, "rsa.bak")
	key("backup", "-n", "rsa", "-f", backup).ok(t)

	// Delete, and the help for the deleted key.
	r := key("delete", "-n", "rsa").ok(t)
	d := jsonOut[map[string]any](t, r)
	if keysOf(d) != "attributes,deletedDate,key,managed,recoveryId,releasePolicy,scheduledPurgeDate,tags" || d["recoveryId"] != st.Server.VaultURL("default")+"deletedkeys/rsa" {
		t.Fatalf("delete %v", d)
	}
	if !strings.Contains(r.err, "coffer key recover --vault-name default --name rsa") {
		t.Fatalf("delete stderr %q", r.err)
	}
	for _, args := range [][]string{{"show", "-n", "rsa"}, {"sign", "-n", "rsa", "-a", "RS256", "--digest", d64}, {"rotate", "-n", "rsa"}} {
		wantDeletedHints(t, key(args...).notFound(t, `key "rsa" in vault "default" is deleted`), "key", "default", "rsa", true)
	}
	wantDeletedHints(t, key("create", "-n", "rsa").conflict(t, `the name "rsa" is held by a deleted key`), "key", "default", "rsa", true)
	wantDeletedHints(t, key("restore", "-f", backup).conflict(t, `the name "rsa" is held by a deleted key`), "key", "default", "rsa", true)
	if got := jsonOut[[]map[string]any](t, key("list-deleted").ok(t)); len(got) != 1 || got[0]["name"] != "rsa" ||
		keysOf(got[0]) != "attributes,deletedDate,kid,managed,name,recoveryId,scheduledPurgeDate,tags" {
		t.Fatalf("list-deleted %v", got)
	}
	key("show-deleted", "-n", "rsa").ok(t)
	key("show-deleted", "-n", "ec").notFound(t, `key "ec" in vault "default" is not deleted`).hinted(t)
	if k := jsonOut[map[string]any](t, key("recover", "-n", "rsa").ok(t)); at(k, "key.kty") != "RSA" {
		t.Fatalf("recover %v", k)
	}
	key("delete", "-n", "rsa").ok(t)
	if r := key("purge", "-n", "rsa", "--yes").ok(t); r.out != "" {
		t.Fatalf("purge printed %q", r.out)
	}
	key("purge", "-n", "rsa", "--yes").notFound(t, `no deleted key "rsa"`).hinted(t)
	if k := jsonOut[map[string]any](t, key("restore", "-f", backup).ok(t)); at(k, "key.kty") != "RSA" {
		t.Fatalf("restore %v", k)
	}
	if got := jsonOut[[]map[string]any](t, key("list-versions", "-n", "rsa").ok(t)); len(got) != 2 {
		t.Fatalf("versions after restore %v", got)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
