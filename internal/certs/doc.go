// Package certs owns the certificate logic of Key Vault certificates (the /certificates
// routes listed in docs/api.md): the domain form of a certificate policy and its defaults
// ([Policy], [Policy.Normalize]), self-signed issuance ([SelfSigned]), the certificate
// signing request of a pending operation ([CSR]) and its merge ([CheckMerge]), the value of
// the backing secret ([EncodeSecret]), the parsing of an imported PFX or PEM bundle
// ([ParseImport]) and the policy an imported certificate implies ([PolicyFromCertificate]).
//
// Start with [Policy] and [Policy.Normalize] (policy.go), then [SelfSigned], [CSR] and
// [CheckMerge] (issue.go) and [ParseImport] and [EncodeSecret] (secret.go). The vault domain
// calls them; it stores what they return.
//
// It is pure: no storage, no HTTP, no Azure wire JSON, no clock (functions take the time they
// use). It imports the standard library, software.sslmate.com/src/go-pkcs12 and, of Coffer's
// packages, only keyops (to hand an imported key to the key domain, [KeyFromSigner]; and the
// client error both domains return) and pki (serial numbers, subject key ids and key
// comparison, as Coffer's own CA makes them). It must not import vault, storage, the
// barrier, azapi or net/http.
//
// # Errors
//
// Every error caused by the request (a contradictory policy, an unparseable PFX or PEM, a wrong
// PFX password, a merge certificate for another key) satisfies errors.Is(err, [ErrInvalid]);
// its Error() text is written for the client: it says what is wrong and what to do, and never
// contains key material or a password. Any other error is an internal failure.
//
// # Encodings
//
// X.509 certificates and PKCS #10 requests are written by crypto/x509. The one thing it cannot
// write is a UPN subject alternative name (an otherName, OID 1.3.6.1.4.1.311.20.2.3, holding a
// UTF8String): when a policy has UPNs, the subjectAltName extension is built with encoding/asn1
// from typed values and passed as an extra extension (san.go). Subjects are parsed from the
// Windows/RFC 4514 string form ("CN=web, O=Contoso, C=US"; the first component is the most
// specific, so it is the last RDN in the DER) and written as a raw RDN sequence.
//
// PKCS #12 is read and written by go-pkcs12, which derives keys as many times as the file
// says. Before it reads an imported PFX, pfxwork.go reads every iteration count from the
// file's ASN.1 structure (opening encrypted safes, whose own counts are checked first, to
// find key bags hidden in them) and refuses a file above [MaxPFXIterations]. The backing secret of an
// application/x-pkcs12 certificate is a PKCS #12 with an empty password made with
// [pkcs12.LegacyDES] (3DES, HMAC-SHA-1): with an empty password its encryption protects
// nothing, so the choice is the widest compatibility — Go, OpenSSL 1.x and 3.x without the
// legacy provider, .NET and Windows of every version, Java and macOS read it. (RC2, which Azure
// itself has used, is not readable by OpenSSL 3 by default; PBES2/AES is not by older Windows
// and macOS.)
package certs
