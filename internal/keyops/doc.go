// Package keyops owns the cryptography of Key Vault keys: generating and importing RSA, EC and
// AES (oct) keys, their JSON Web Key members, and the sign, verify, encrypt, decrypt, wrapKey and
// unwrapKey operations of the Key Vault data plane (the /keys routes listed in docs/api.md).
//
// Start with [Generate] and [Import] (keyops.go), which make a [Key]; the operations are its
// methods in sign.go and encrypt.go, and AES key wrap is in kw.go.
//
// It is pure: no storage, no HTTP, no Azure wire JSON. [JWK] carries raw bytes; the HTTP layer
// does base64url and the JSON names. The caller checks key_ops, enabled and nbf/exp before an
// operation ([OpFor] maps a route segment to its key_ops name); keyops only does the crypto.
// It imports the standard library only, and no other Coffer package.
//
// # Errors
//
// Every error caused by the request (algorithm, key type, sizes, a ciphertext that does not
// decrypt, an inconsistent imported key) satisfies errors.Is(err, [ErrInvalid]); its Error()
// text is written for the client: it says what is wrong and what is allowed, and never contains
// key material, plaintext or a value derived from them. Any other error is an internal failure.
//
// # Algorithms
//
//	RSA, RSA-HSM (2048, 3072, 4096 bits; e = 65537 when generated)
//	  sign/verify        RS256 RS384 RS512 (PKCS #1 v1.5), PS256 PS384 PS512 (PSS, salt = hash length)
//	  encrypt/decrypt    RSA-OAEP (SHA-1), RSA-OAEP-256, RSA1_5
//	  wrapKey/unwrapKey  same as encrypt
//	EC, EC-HSM (P-256, P-384, P-521; P-256K is refused)
//	  sign/verify        ES256 (P-256), ES384 (P-384), ES512 (P-521): raw r||s, each padded to the curve size
//	oct, oct-HSM (128, 192, 256 bits)
//	  encrypt/decrypt    A128GCM A192GCM A256GCM, A128CBC A192CBC A256CBC, A128CBCPAD A192CBCPAD A256CBCPAD
//	  wrapKey/unwrapKey  A128KW A192KW A256KW and CKM_AES_KEY_WRAP (RFC 3394),
//	                     CKM_AES_KEY_WRAP_PAD (RFC 5649)
//
// Sign and verify take a digest, not the message. AES key wrap (RFC 3394, RFC 5649) is not in the
// standard library nor in golang.org/x/crypto; it is implemented here on crypto/aes (kw.go) and
// checked against the RFCs' test vectors.
package keyops
