package server_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/coffer/coffer/internal/testenv"
)

func rsaPublic(t *testing.T, k *azkeys.JSONWebKey) *rsa.PublicKey {
	t.Helper()
	if len(k.N) == 0 || len(k.E) == 0 || len(k.D) != 0 || len(k.P) != 0 {
		t.Fatalf("RSA JWK: n=%d e=%d d=%d p=%d", len(k.N), len(k.E), len(k.D), len(k.P))
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(k.N), E: int(new(big.Int).SetBytes(k.E).Int64())}
}

func TestKeysCreateAndCrypto(t *testing.T) {
	st := testenv.NewStack(t)
	c := st.Keys(t, "default")
	ctx := t.Context()
	digest := sha256.Sum256([]byte("hello"))

	// RSA: sign in the service, verify locally; encrypt locally, decrypt in the service.
	rk, err := c.CreateKey(ctx, "rsa", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA), KeySize: to.Ptr[int32](2048)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *rk.Key.Kty != azkeys.KeyTypeRSA || rk.Key.KID.Name() != "rsa" || len(rk.Key.KeyOps) != 6 {
		t.Fatalf("created %+v", rk.Key)
	}
	pub := rsaPublic(t, rk.Key)
	sig, err := c.Sign(ctx, "rsa", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Value: digest[:]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig.Result); err != nil {
		t.Fatalf("local RS256 verify: %v", err)
	}
	if sig.KID.Version() != rk.Key.KID.Version() {
		t.Fatalf("sign kid %s", *sig.KID)
	}
	ct, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, []byte("wrapped secret"), nil)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := c.Decrypt(ctx, "rsa", rk.Key.KID.Version(), azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: ct}, nil)
	if err != nil || string(dec.Result) != "wrapped secret" {
		t.Fatalf("decrypt: %v", err)
	}
	_, err = c.Decrypt(ctx, "rsa", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: ct[:len(ct)-1]}, nil)
	wantCode(t, err, 400, "BadParameter")
	wr, err := c.WrapKey(ctx, "rsa", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP), Value: []byte("0123456789abcdef")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	uw, err := c.UnwrapKey(ctx, "rsa", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP), Value: wr.Result}, nil)
	if err != nil || string(uw.Result) != "0123456789abcdef" {
		t.Fatalf("unwrap: %v", err)
	}

	// EC P-256: raw R||S signatures both ways.
	ek, err := c.CreateKey(ctx, "ec", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC), Curve: to.Ptr(azkeys.CurveNameP256)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ecPub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, ek.Key.X...), ek.Key.Y...))
	if err != nil {
		t.Fatal(err)
	}
	es, err := c.Sign(ctx, "ec", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmES256), Value: digest[:]}, nil)
	if err != nil || len(es.Result) != 64 {
		t.Fatalf("ES256: %v", err)
	}
	r, s := new(big.Int).SetBytes(es.Result[:32]), new(big.Int).SetBytes(es.Result[32:])
	if !ecdsa.Verify(ecPub, digest[:], r, s) {
		t.Fatal("local ES256 verify failed")
	}
	_, err = c.Sign(ctx, "ec", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Value: digest[:]}, nil)
	wantCode(t, err, 400, "BadParameter") // algorithm for another key type
	_, err = c.Sign(ctx, "ec", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmES256), Value: digest[:20]}, nil)
	wantCode(t, err, 400, "BadParameter") // digest of the wrong length
	_, err = c.Encrypt(ctx, "ec", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP), Value: []byte("x")}, nil)
	wantCode(t, err, 403, "Forbidden") // not in key_ops

	// Other curves, sizes and HSM types.
	for _, p := range []azkeys.CreateKeyParameters{
		{Kty: to.Ptr(azkeys.KeyTypeEC), Curve: to.Ptr(azkeys.CurveNameP384)},
		{Kty: to.Ptr(azkeys.KeyTypeECHSM), Curve: to.Ptr(azkeys.CurveNameP521)},
		{Kty: to.Ptr(azkeys.KeyTypeRSAHSM), KeySize: to.Ptr[int32](3072)},
		{Kty: to.Ptr(azkeys.KeyTypeOct), KeySize: to.Ptr[int32](256)},
	} {
		k, err := c.CreateKey(ctx, "k-"+string(*p.Kty), p, nil)
		if err != nil || *k.Key.Kty != *p.Kty {
			t.Fatalf("create %s: %v", *p.Kty, err)
		}
	}
	_, err = c.CreateKey(ctx, "bad", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA), KeySize: to.Ptr[int32](1024)}, nil)
	wantCode(t, err, 400, "BadParameter")

	// oct: AES-GCM and key wrap in the service.
	enc, err := c.Encrypt(ctx, "k-oct", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmA256GCM), Value: []byte("plain"), AdditionalAuthenticatedData: []byte("aad")}, nil)
	if err != nil || len(enc.IV) != 12 || len(enc.AuthenticationTag) != 16 {
		t.Fatalf("A256GCM: %v", err)
	}
	pt, err := c.Decrypt(ctx, "k-oct", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmA256GCM), Value: enc.Result, IV: enc.IV, AuthenticationTag: enc.AuthenticationTag, AdditionalAuthenticatedData: []byte("aad")}, nil)
	if err != nil || string(pt.Result) != "plain" {
		t.Fatalf("A256GCM decrypt: %v", err)
	}

	// Import a local key (private parts accepted, never returned), then verify through the service.
	local, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	raw, _ := local.Bytes()
	pubBytes, _ := local.PublicKey.Bytes()
	im, err := c.ImportKey(ctx, "imported", azkeys.ImportKeyParameters{Key: &azkeys.JSONWebKey{
		Kty: to.Ptr(azkeys.KeyTypeEC), Crv: to.Ptr(azkeys.CurveNameP256), D: raw, X: pubBytes[1:33], Y: pubBytes[33:],
		KeyOps: []*azkeys.KeyOperation{to.Ptr(azkeys.KeyOperationSign), to.Ptr(azkeys.KeyOperationVerify)},
	}}, nil)
	if err != nil || len(im.Key.D) != 0 {
		t.Fatalf("import: %v", err)
	}
	lr, ls, _ := ecdsa.Sign(rand.Reader, local, digest[:])
	localSig := append(lr.FillBytes(make([]byte, 32)), ls.FillBytes(make([]byte, 32))...)
	v, err := c.Verify(ctx, "imported", "", azkeys.VerifyParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmES256), Digest: digest[:], Signature: localSig}, nil)
	if err != nil || !*v.Value {
		t.Fatalf("service verify of a local signature: %v", err)
	}
	localSig[5] ^= 1
	v, err = c.Verify(ctx, "imported", "", azkeys.VerifyParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmES256), Digest: digest[:], Signature: localSig}, nil)
	if err != nil || *v.Value {
		t.Fatalf("tampered signature verified: %v", err)
	}

	// A disabled key refuses crypto; rng works.
	if _, err := c.UpdateKey(ctx, "ec", "", azkeys.UpdateKeyParameters{KeyAttributes: &azkeys.KeyAttributes{Enabled: to.Ptr(false)}}, nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.Sign(ctx, "ec", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmES256), Value: digest[:]}, nil)
	wantCode(t, err, 403, "Forbidden")
	rb, err := c.GetRandomBytes(ctx, azkeys.GetRandomBytesParameters{Count: to.Ptr[int32](32)}, nil)
	if err != nil || len(rb.Value) != 32 {
		t.Fatalf("rng: %v", err)
	}
}

func TestKeysLifecycleBackupRotation(t *testing.T) {
	st := testenv.NewStack(t)
	c := st.Keys(t, "default")
	ctx := t.Context()
	k1, err := c.CreateKey(ctx, "signer", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := c.RotateKey(ctx, "signer", nil)
	if err != nil || k2.Key.KID.Version() == k1.Key.KID.Version() || !bytes.Equal(k2.Key.X, k2.Key.X) {
		t.Fatalf("rotate: %v", err)
	}
	n := 0
	for _, p := range pages(t, c.NewListKeyPropertiesVersionsPager("signer", nil)) {
		n += len(p.Value)
	}
	if n != 2 {
		t.Fatalf("%d versions", n)
	}
	blob, err := c.BackupKey(ctx, "signer", nil)
	if err != nil {
		t.Fatal(err)
	}

	// Lifecycle.
	del, err := c.DeleteKey(ctx, "signer", nil)
	if err != nil || del.Key == nil || del.ScheduledPurgeDate == nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = c.GetKey(ctx, "signer", "", nil)
	wantCode(t, err, 404, "KeyNotFound")
	_, err = c.CreateKey(ctx, "signer", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC)}, nil)
	wantCode(t, err, 409, "Conflict")
	if _, err := c.GetDeletedKey(ctx, "signer", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RecoverDeletedKey(ctx, "signer", nil); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetKey(ctx, "signer", k1.Key.KID.Version(), nil)
	if err != nil || !bytes.Equal(got.Key.X, k1.Key.X) {
		t.Fatalf("first version after recover: %v", err)
	}
	c.DeleteKey(ctx, "signer", nil)
	if _, err := c.PurgeDeletedKey(ctx, "signer", nil); err != nil {
		t.Fatal(err)
	}

	// Restore, and kind checks: a secret blob is not a key.
	rs, err := c.RestoreKey(ctx, azkeys.RestoreKeyParameters{KeyBackup: blob.Value}, nil)
	if err != nil || rs.Key.KID.Version() != k2.Key.KID.Version() {
		t.Fatalf("restore: %v", err)
	}
	sc := st.Secrets(t, "default")
	sc.SetSecret(ctx, "s", azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil)
	sb, _ := sc.BackupSecret(ctx, "s", nil)
	_, err = c.RestoreKey(ctx, azkeys.RestoreKeyParameters{KeyBackup: sb.Value}, nil)
	wantCode(t, err, 400, "BadParameter")

	// Rotation by policy, on the (shifted) vault clock.
	pol, err := c.UpdateKeyRotationPolicy(ctx, "signer", azkeys.KeyRotationPolicy{
		Attributes: &azkeys.KeyRotationPolicyAttributes{ExpiryTime: to.Ptr("P90D")},
		LifetimeActions: []*azkeys.LifetimeAction{{
			Trigger: &azkeys.LifetimeActionTrigger{TimeAfterCreate: to.Ptr("P30D")},
			Action:  &azkeys.LifetimeActionType{Type: to.Ptr(azkeys.KeyRotationPolicyActionRotate)},
		}},
	}, nil)
	if err != nil || len(pol.LifetimeActions) != 2 {
		t.Fatalf("set policy: %v %+v", err, pol)
	}
	gp, err := c.GetKeyRotationPolicy(ctx, "signer", nil)
	if err != nil || *gp.Attributes.ExpiryTime != "P90D" {
		t.Fatalf("get policy: %v", err)
	}
	_, err = c.UpdateKeyRotationPolicy(ctx, "signer", azkeys.KeyRotationPolicy{Attributes: &azkeys.KeyRotationPolicyAttributes{ExpiryTime: to.Ptr("P7D")}}, nil)
	wantCode(t, err, 400, "BadParameter")
	wantSweep(t, st, 0, "early rotation")
	st.ShiftTime(t, 31*24*time.Hour)
	wantSweep(t, st, 1, "rotation by policy")
	latest, err := c.GetKey(ctx, "signer", "", nil)
	if err != nil || latest.Key.KID.Version() == k2.Key.KID.Version() || latest.Attributes.Expires == nil {
		t.Fatalf("after policy rotation: %v", err)
	}
	if d := latest.Attributes.Expires.Sub(*latest.Attributes.Created); d != 90*24*time.Hour {
		t.Fatalf("new version expires after %v", d)
	}
}
