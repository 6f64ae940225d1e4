package azapi

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestKeyLifecycle(t *testing.T) {
	e := newEnv(t)
	base := vaultURL("az") + "/keys/k1"
	exp := unixAt(30 * 24 * time.Hour)
	created := e.must(t, 200, admin, "POST", "/keys/k1/create", map[string]any{"kty": "EC", "crv": "P-384",
		"key_ops": []string{"sign", "verify"}, "tags": map[string]string{"t": "1"}, "attributes": map[string]any{"exp": exp}})
	v1 := versioned(t, str(created, "key.kid"), base)
	fieldsAre(t, created, map[string]any{
		"key.kty": "EC", "key.crv": "P-384", "key.key_ops": []string{"sign", "verify"},
		"key.x": present, "key.y": present, "key.d": absent, "key.n": absent, "kid": absent,
		"tags.t": "1", "attributes.enabled": true, "attributes.exp": exp, "attributes.created": unixAt(0),
		"attributes.recoveryLevel": "Recoverable+Purgeable", "attributes.recoverableDays": 90, "managed": absent,
	})
	if x := dec(t, created, "key.x"); len(x) != 48 {
		t.Errorf("P-384 x has %d bytes", len(x))
	}
	fieldsAre(t, e.must(t, 200, admin, "GET", "/keys/k1", nil), map[string]any{"key.kid": base + "/" + v1, "key.x": str(created, "key.x")})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/keys/k1/"+v1, nil), map[string]any{"key.kid": base + "/" + v1})

	e.clk.Advance(time.Hour)
	upd := e.must(t, 200, admin, "PATCH", "/keys/k1/"+v1, map[string]any{"key_ops": []string{"verify"}, "tags": map[string]string{"t": "2"},
		"attributes": map[string]any{"nbf": unixAt(0), "enabled": true}})
	fieldsAre(t, upd, map[string]any{"key.key_ops": []string{"verify"}, "tags.t": "2", "attributes.nbf": unixAt(0),
		"attributes.exp": exp, "attributes.updated": unixAt(time.Hour)})

	rotated := e.must(t, 200, admin, "POST", "/keys/k1/rotate", nil)
	v2 := versioned(t, str(rotated, "key.kid"), base)
	if v2 == v1 || str(rotated, "key.x") == str(created, "key.x") {
		t.Fatal("rotate did not make a new key version")
	}
	fieldsAre(t, rotated, map[string]any{"key.kty": "EC", "key.crv": "P-384"})
	vers := e.must(t, 200, admin, "GET", "/keys/k1/versions", nil)
	fieldsAre(t, vers, map[string]any{"value.2": absent, "value.0.key": absent, "value.0.kid": present, "nextLink": nil})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/keys", nil), map[string]any{"value.0.kid": base, "value.0.key": absent, "value.0.tags": present, "value.1": absent})

	// The default rotation policy, then one that rotates.
	pol := e.must(t, 200, admin, "GET", "/keys/k1/rotationpolicy", nil)
	fieldsAre(t, pol, map[string]any{"id": base + "/rotationpolicy", "lifetimeActions": present})
	set := e.must(t, 200, admin, "PUT", "/keys/k1/rotationpolicy", map[string]any{
		"lifetimeActions": []any{map[string]any{"trigger": map[string]any{"timeBeforeExpiry": "P7D"}, "action": map[string]any{"type": "rotate"}}},
		"attributes":      map[string]any{"expiryTime": "P60D"}})
	fieldsAre(t, set, map[string]any{"lifetimeActions.0.action.type": "Rotate", "lifetimeActions.0.trigger.timeBeforeExpiry": "P7D",
		"lifetimeActions.1.action.type": "Notify", "attributes.expiryTime": "P60D", "attributes.created": unixAt(time.Hour)})
	fieldsAre(t, e.must(t, 200, admin, "GET", "/keys/k1/rotationpolicy", nil), map[string]any{"lifetimeActions.0.action.type": "Rotate", "attributes.expiryTime": "P60D"})

	backup := str(e.must(t, 200, admin, "POST", "/keys/k1/backup", nil), "value")
	deletedShape := map[string]any{"key.kid": base + "/" + v2, "recoveryId": vaultURL("az") + "/deletedkeys/k1",
		"deletedDate": unixAt(time.Hour), "scheduledPurgeDate": unixAt(time.Hour + 90*24*time.Hour)}
	fieldsAre(t, e.must(t, 200, admin, "DELETE", "/keys/k1", nil), deletedShape)
	fieldsAre(t, e.must(t, 200, admin, "GET", "/deletedkeys/k1", nil), deletedShape)
	fieldsAre(t, e.must(t, 200, admin, "GET", "/deletedkeys", nil), map[string]any{"value.0.kid": base, "value.0.key": absent,
		"value.0.recoveryId": vaultURL("az") + "/deletedkeys/k1", "value.1": absent})
	wantErr(t, e.do(t, admin, "GET", "/keys/k1", nil), apiErr{404, "KeyNotFound", "", []string{"A key with (name/id) k1 was not found"}})
	wantErr(t, e.do(t, admin, "POST", "/keys/k1/create", map[string]any{"kty": "EC"}), apiErr{409, "Conflict", "ObjectIsDeletedButRecoverable", []string{"Key k1 is currently in a deleted but recoverable state"}})
	fieldsAre(t, e.must(t, 200, admin, "POST", "/deletedkeys/k1/recover", nil), map[string]any{"key.kid": base + "/" + v2, "recoveryId": absent})

	e.must(t, 200, admin, "DELETE", "/keys/k1", nil)
	if rec := e.do(t, admin, "DELETE", "/deletedkeys/k1", nil); rec.Code != 204 {
		t.Fatalf("purge: %d %s", rec.Code, rec.Body)
	}
	wantErr(t, e.do(t, admin, "GET", "/deletedkeys/k1", nil), apiErr{404, "KeyNotFound", "", []string{"Deleted Key not found: k1"}})
	fieldsAre(t, e.must(t, 200, admin, "POST", "/keys/restore", map[string]any{"value": backup}), map[string]any{"key.kid": base + "/" + v2, "key.x": str(rotated, "key.x")})
	e.must(t, 200, admin, "GET", "/keys/k1/"+v1, nil)
	wantErr(t, e.do(t, admin, "POST", "/keys/restore", map[string]any{"value": backup}), apiErr{409, "Conflict", "ObjectAlreadyExists", []string{"Key k1 already exists"}})
	// A key backup is not a secret backup.
	wantErr(t, e.do(t, admin, "POST", "/secrets/restore", map[string]any{"value": backup}), apiErr{400, "BadParameter", "", nil})
}

func TestKeyImport(t *testing.T) {
	e := newEnv(t)
	k := newECKey(t)
	jwk := map[string]any{"kty": "EC", "crv": "P-256", "x": enc(k.X.FillBytes(make([]byte, 32))), "y": enc(k.Y.FillBytes(make([]byte, 32))),
		"d": enc(k.D.FillBytes(make([]byte, 32))), "key_ops": []string{"sign", "verify"}}
	imp := e.must(t, 200, admin, "PUT", "/keys/imp", map[string]any{"key": jwk, "Hsm": true, "tags": map[string]string{"from": "test"},
		"attributes": map[string]any{"enabled": true}})
	fieldsAre(t, imp, map[string]any{"key.kty": "EC-HSM", "key.crv": "P-256", "key.x": jwk["x"], "key.y": jwk["y"], "key.d": absent,
		"key.key_ops": []string{"sign", "verify"}, "tags.from": "test"})

	// What the vault signs, the imported public key verifies.
	digest := sha256.Sum256([]byte("message"))
	sig := dec(t, e.must(t, 200, admin, "POST", "/keys/imp/sign", map[string]any{"alg": "ES256", "value": enc(digest[:])}), "value")
	if len(sig) != 64 || !ecdsa.Verify(&k.PublicKey, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatalf("signature %x does not verify with the imported key", sig)
	}

	jwkWith := func(name string, v any) map[string]any {
		out := map[string]any{}
		for k, v := range jwk {
			out[k] = v
		}
		out[name] = v
		return out
	}
	bad := func(says ...string) apiErr { return apiErr{400, "BadParameter", "", says} }
	for _, tc := range []struct {
		name string
		body any
		want apiErr
	}{
		{"no key", map[string]any{"Hsm": true}, bad("The request body must have 'key': a JSON Web Key with its private members.")},
		{"BYOK", map[string]any{"key": jwkWith("key_hsm", enc([]byte("blob")))}, bad("BYOK (key_hsm) imports need an HSM")},
		{"exportable", map[string]any{"key": jwk, "attributes": map[string]any{"exportable": true}}, bad("Exportable keys need a release policy")},
		{"point off the curve", map[string]any{"key": jwkWith("x", enc(make([]byte, 32)))}, bad("the point (x, y) is not on curve P-256")},
		{"no kty", map[string]any{"key": jwkWith("kty", "")}, bad("the key has no kty")},
		{"bad key_ops", map[string]any{"key": jwkWith("key_ops", []string{"Sign"})}, bad(`key operation "Sign" is not valid (did you mean "sign"? names are case-sensitive)`)},
		{"body too long", map[string]any{"key": jwk, "tags": map[string]string{"t": strings.Repeat("x", 64<<10)}}, bad("larger than the 65536 bytes")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do(t, admin, "PUT", "/keys/imp2", tc.body)
			wantErr(t, rec, tc.want)
			if strings.Contains(rec.Body.String(), jwk["d"].(string)) {
				t.Errorf("the answer echoes the private key: %s", rec.Body)
			}
		})
	}
	wantErr(t, e.do(t, admin, "GET", "/keys/imp2", nil), apiErr{404, "KeyNotFound", "", nil})
}

func TestKeyCreateBadRequests(t *testing.T) {
	e := newEnv(t)
	bad := func(says ...string) apiErr { return apiErr{400, "BadParameter", "", says} }
	for _, tc := range []struct {
		name, method, path string
		body               any
		want               apiErr
	}{
		{"no kty", "POST", "/keys/k/create", map[string]any{"key_size": 2048}, bad("The request body must have 'kty'")},
		{"unknown kty", "POST", "/keys/k/create", map[string]any{"kty": "DSA"}, bad(`key type "DSA" is not valid`)},
		{"release policy", "POST", "/keys/k/create", map[string]any{"kty": "EC", "release_policy": map[string]any{"data": "x"}}, bad("Key release policies need attestation")},
		{"exportable", "POST", "/keys/k/create", map[string]any{"kty": "EC", "attributes": map[string]any{"exportable": true}}, bad("Exportable keys need a release policy and attestation")},
		{"oct size", "POST", "/keys/k/create", map[string]any{"kty": "oct", "key_size": 100}, bad("oct key size 100 is not valid; use 128, 192 or 256")},
		{"exponent", "POST", "/keys/k/create", map[string]any{"kty": "EC", "public_exponent": 3}, bad("public_exponent applies to RSA keys only")},
		{"curve", "POST", "/keys/k/create", map[string]any{"kty": "EC", "crv": "P-999"}, bad("P-999")},
		{"kty a number", "POST", "/keys/k/create", `{"kty":1}`, bad(`field "kty" must be a JSON string`)},
		{"bad name", "POST", "/keys/k_1/create", map[string]any{"kty": "EC"}, bad("invalid name: k_1")},
		{"update unknown", "PATCH", "/keys/k", map[string]any{"tags": map[string]string{}}, apiErr{404, "KeyNotFound", "", nil}},
		{"update exportable", "PATCH", "/keys/k", map[string]any{"attributes": map[string]any{"exportable": true}}, bad("Exportable keys")},
		{"update no body", "PATCH", "/keys/k", nil, bad("The request body is empty")},
		{"rotate unknown", "POST", "/keys/k/rotate", nil, apiErr{404, "KeyNotFound", "", nil}},
		{"policy of unknown", "GET", "/keys/k/rotationpolicy", nil, apiErr{404, "KeyNotFound", "", nil}},
		{"restore garbage", "POST", "/keys/restore", map[string]any{"value": "AAAA"}, bad("Backup blob is invalid")},
		{"restore no value", "POST", "/keys/restore", `{}`, bad("The backup blob in 'value' must be the base64url text")},
	} {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, e.do(t, admin, tc.method, tc.path, tc.body), tc.want) })
	}
	fieldsAre(t, e.must(t, 200, admin, "GET", "/keys", nil), map[string]any{"value": []any{}})
}

func TestRotationPolicyBadRequests(t *testing.T) {
	e := newEnv(t)
	e.must(t, 200, admin, "POST", "/keys/k1/create", map[string]any{"kty": "EC"})
	action := func(trigger map[string]any, typ string) map[string]any {
		return map[string]any{"lifetimeActions": []any{map[string]any{"trigger": trigger, "action": map[string]any{"type": typ}}}}
	}
	for _, tc := range []struct {
		name string
		body any
		says string
	}{
		{"no trigger", map[string]any{"lifetimeActions": []any{map[string]any{"action": map[string]any{"type": "Rotate"}}}}, "Each lifetime action needs a 'trigger' and an 'action'."},
		{"no action", map[string]any{"lifetimeActions": []any{map[string]any{"trigger": map[string]any{"timeAfterCreate": "P1D"}}}}, "Each lifetime action needs a 'trigger' and an 'action'."},
		{"unknown type", action(map[string]any{"timeAfterCreate": "P1D"}, "Explode"), `Invalid rotation policy: action type "Explode" is not Rotate or Notify.`},
		{"short expiry", map[string]any{"lifetimeActions": []any{}, "attributes": map[string]any{"expiryTime": "P1D"}}, "expiryTime must be at least 28 days (P28D)"},
		{"two triggers", action(map[string]any{"timeAfterCreate": "P1D", "timeBeforeExpiry": "P1D"}, "Rotate"), "exactly one trigger"},
		{"not JSON", `{"lifetimeActions":`, "not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, e.do(t, admin, "PUT", "/keys/k1/rotationpolicy", tc.body), apiErr{400, "BadParameter", "", []string{tc.says}})
		})
	}
	fieldsAre(t, e.must(t, 200, admin, "GET", "/keys/k1/rotationpolicy", nil), map[string]any{"lifetimeActions.0.action.type": "Notify", "lifetimeActions.1": absent})
}

// TestKeyCrypto runs every crypto operation, latest and versioned, and checks the
// results against each other.
func TestKeyCrypto(t *testing.T) {
	e := newEnv(t)
	ec := e.must(t, 200, admin, "POST", "/keys/ec/create", map[string]any{"kty": "EC-HSM", "crv": "P-256"})
	ecVer := versioned(t, str(ec, "key.kid"), vaultURL("az")+"/keys/ec")
	fieldsAre(t, ec, map[string]any{"key.kty": "EC-HSM", "key.key_ops": []string{"sign", "verify"}})
	oct := e.must(t, 200, admin, "POST", "/keys/aes/create", map[string]any{"kty": "oct", "key_size": 256})
	octVer := versioned(t, str(oct, "key.kid"), vaultURL("az")+"/keys/aes")
	fieldsAre(t, oct, map[string]any{"key.kty": "oct", "key.k": absent, "key.key_ops": []string{"encrypt", "decrypt", "wrapKey", "unwrapKey"}})

	digest := sha256.Sum256([]byte("to sign"))
	for _, path := range []string{"/keys/ec", "/keys/ec/" + ecVer} {
		signed := e.must(t, 200, admin, "POST", path+"/sign", map[string]any{"alg": "ES256", "value": enc(digest[:])})
		fieldsAre(t, signed, map[string]any{"kid": vaultURL("az") + "/keys/ec/" + ecVer})
		sig := str(signed, "value")
		fieldsAre(t, e.must(t, 200, admin, "POST", path+"/verify", map[string]any{"alg": "ES256", "digest": enc(digest[:]), "value": sig}),
			map[string]any{"value": true, "kid": absent})
		other := sha256.Sum256([]byte("other"))
		fieldsAre(t, e.must(t, 200, admin, "POST", path+"/verify", map[string]any{"alg": "ES256", "digest": enc(other[:]), "value": sig}),
			map[string]any{"value": false})
	}

	plain, aad := []byte("plain text"), []byte("context")
	for _, path := range []string{"/keys/aes", "/keys/aes/" + octVer} {
		ct := e.must(t, 200, admin, "POST", path+"/encrypt", map[string]any{"alg": "A256GCM", "value": enc(plain), "aad": enc(aad)})
		fieldsAre(t, ct, map[string]any{"kid": vaultURL("az") + "/keys/aes/" + octVer, "aad": enc(aad)})
		if len(dec(t, ct, "iv")) != 12 || len(dec(t, ct, "tag")) != 16 {
			t.Fatalf("GCM answer %v", ct)
		}
		pt := e.must(t, 200, admin, "POST", path+"/decrypt", map[string]any{"alg": "A256GCM", "value": str(ct, "value"),
			"iv": str(ct, "iv"), "tag": str(ct, "tag"), "aad": enc(aad)})
		fieldsAre(t, pt, map[string]any{"value": enc(plain), "iv": absent, "tag": absent})

		cek := make([]byte, 32)
		wrapped := e.must(t, 200, admin, "POST", path+"/wrapkey", map[string]any{"alg": "A256KW", "value": enc(cek)})
		if len(dec(t, wrapped, "value")) != 40 {
			t.Fatalf("wrapped %v", wrapped)
		}
		fieldsAre(t, e.must(t, 200, admin, "POST", path+"/unwrapkey", map[string]any{"alg": "A256KW", "value": str(wrapped, "value")}),
			map[string]any{"value": enc(cek)})
	}
	// CBC has no tag and no aad.
	fieldsAre(t, e.must(t, 200, admin, "POST", "/keys/aes/encrypt", map[string]any{"alg": "A256CBCPAD", "value": enc(plain)}),
		map[string]any{"aad": absent, "tag": absent, "iv": present})
}

func TestKeyCryptoRefusals(t *testing.T) {
	e := newEnv(t)
	e.must(t, 200, admin, "POST", "/keys/ec/create", map[string]any{"kty": "EC"})
	e.must(t, 200, admin, "POST", "/keys/aes/create", map[string]any{"kty": "oct"})
	// Keys that allow every operation, whatever their type can do.
	every := []string{"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"}
	e.must(t, 200, admin, "POST", "/keys/ecall/create", map[string]any{"kty": "EC", "key_ops": every})
	e.must(t, 200, admin, "POST", "/keys/aesall/create", map[string]any{"kty": "oct", "key_ops": every})
	e.must(t, 200, admin, "POST", "/keys/verifier/create", map[string]any{"kty": "EC", "key_ops": []string{"verify"}})
	e.must(t, 200, admin, "POST", "/keys/off/create", map[string]any{"kty": "EC", "attributes": map[string]any{"enabled": false}})
	e.must(t, 200, admin, "POST", "/keys/later/create", map[string]any{"kty": "EC", "attributes": map[string]any{"nbf": unixAt(time.Hour)}})
	digest := enc(make([]byte, 32))
	op := map[string]any{"alg": "ES256", "value": digest, "digest": digest}
	bad := func(says ...string) apiErr { return apiErr{400, "BadParameter", "", says} }
	forbidden := func(inner string, says ...string) apiErr { return apiErr{403, "Forbidden", inner, says} }
	for _, tc := range []struct {
		name, path string
		body       any
		want       apiErr
	}{
		{"no alg", "/keys/ec/sign", map[string]any{"value": digest}, bad("The request body must have 'alg', the algorithm to use.")},
		{"empty alg", "/keys/ec/sign", map[string]any{"alg": "", "value": digest}, bad("must have 'alg'")},
		{"no value", "/keys/ec/sign", map[string]any{"alg": "ES256"}, bad("The request body must have 'value' (base64url).")},
		{"alg a number", "/keys/ec/sign", `{"alg":256,"value":"AA"}`, bad(`field "alg" must be a JSON string`)},
		{"unknown alg", "/keys/ec/sign", map[string]any{"alg": "XS999", "value": digest}, bad("XS999")},
		{"RSA alg on EC", "/keys/ec/sign", map[string]any{"alg": "RS256", "value": digest}, bad("RS256")},
		{"wrong digest size", "/keys/ec/sign", map[string]any{"alg": "ES256", "value": enc([]byte("short"))}, bad("the digest for ES256 must be 32 bytes (the SHA-256 hash of the message), got 5")},
		{"sign with AES", "/keys/aesall/sign", op, bad("an oct (AES) key cannot sign or verify")},
		{"encrypt with EC", "/keys/ecall/encrypt", map[string]any{"alg": "RSA-OAEP", "value": digest}, bad("an EC key cannot encrypt and decrypt")},
		{"wrap with EC", "/keys/ecall/wrapkey", map[string]any{"alg": "A256KW", "value": digest}, bad("an EC key cannot wrapKey and unwrapKey")},
		{"aad with CBC", "/keys/aes/encrypt", map[string]any{"alg": "A256CBC", "value": digest, "aad": digest}, bad("aad does not apply to A256CBC")},
		{"wrap alg for encrypt", "/keys/aes/encrypt", map[string]any{"alg": "A256KW", "value": digest}, bad("A256KW")},
		{"AES size mismatch", "/keys/aes/wrapkey", map[string]any{"alg": "A128KW", "value": digest}, bad("A128KW")},
		{"decrypt garbage", "/keys/aes/decrypt", map[string]any{"alg": "A256GCM", "value": digest, "iv": enc(make([]byte, 12)), "tag": enc(make([]byte, 16))}, bad("the ciphertext could not be decrypted with this key and algorithm")},
		{"unwrap garbage", "/keys/aes/unwrapkey", map[string]any{"alg": "A256KW", "value": enc(make([]byte, 40))}, bad("the wrapped key could not be unwrapped")},
		{"body too long", "/keys/ec/sign", map[string]any{"alg": "ES256", "value": enc(make([]byte, 64<<10))}, bad("larger than the 65536 bytes")},
		{"not in key_ops", "/keys/verifier/sign", op, forbidden("KeyOperationForbidden", "Operation sign is not permitted on this key: its key_ops are [verify]")},
		{"disabled", "/keys/off/verify", op, forbidden("KeyDisabled", "Operation verify is not allowed on a disabled key.")},
		{"before nbf", "/keys/later/sign", op, forbidden("KeyDisabled", "Operation sign is not allowed: the key is outside its validity period")},
		{"unknown key", "/keys/nokey/sign", op, apiErr{404, "KeyNotFound", "", []string{"(name/id) nokey "}}},
		{"unknown version", "/keys/ec/" + ver + "/sign", op, apiErr{404, "KeyNotFound", "", []string{"(name/id) ec/" + ver + " "}}},
	} {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, e.do(t, admin, "POST", tc.path, tc.body), tc.want) })
	}
	// Verify still works outside the validity period; sign does once nbf has passed.
	e.must(t, 200, admin, "POST", "/keys/later/verify", op)
	e.clk.Advance(time.Hour)
	e.must(t, 200, admin, "POST", "/keys/later/sign", op)
}

func TestRandomBytes(t *testing.T) {
	e := newEnv(t)
	a := dec(t, e.must(t, 200, admin, "POST", "/rng", map[string]any{"count": 128}), "value")
	b := dec(t, e.must(t, 200, reader, "POST", "/rng", map[string]any{"count": 1}), "value")
	if len(a) != 128 || len(b) != 1 || string(a) == string(make([]byte, 128)) {
		t.Fatalf("random bytes %x %x", a, b)
	}
	for _, body := range []any{map[string]any{}, map[string]any{"count": 0}, map[string]any{"count": 129}, `{"count":-1}`} {
		wantErr(t, e.do(t, admin, "POST", "/rng", body), apiErr{400, "BadParameter", "", []string{"'count' must be an integer from 1 to 128."}})
	}
	wantErr(t, e.do(t, admin, "POST", "/rng", `{"count":"8"}`), apiErr{400, "BadParameter", "", []string{`field "count" must be a JSON number`}})
	wantErr(t, e.do(t, admin, "POST", "/rng", `{"count":8,"pad":"`+strings.Repeat("x", 4096)+`"}`), apiErr{400, "BadParameter", "", []string{"larger than the 4096 bytes"}})
	wantErr(t, e.do(t, stranger, "POST", "/rng", map[string]any{"count": 8}), apiErr{403, "Forbidden", "ForbiddenByPolicy", []string{"keys get"}})
}
