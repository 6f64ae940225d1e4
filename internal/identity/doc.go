// Package identity is Coffer's own token issuer and verifier. It owns the tenant id, the
// principals (the bootstrap administrator and any created later), the token-signing keys,
// the OIDC discovery documents, the JWKS of the signing keys and the client-credentials
// token endpoints in both URL forms (Microsoft identity platform v2 `/{tenant}/...` and
// ADFS `/adfs/...`), the data-plane challenge header, and the verification of bearer
// tokens.
//
// Start with [Open] (identity.go), which loads or bootstraps the state; then
// [Service.Verify] and the audience classes (token.go), [Service.ServeHTTP] and the token
// endpoint (http.go), and the principals (principals.go). docs/api.md lists the endpoints
// and docs/errors.md their OAuth errors.
//
// # Storage
//
// Everything lives in the [storage.Backend] given to [Open] (in production the encrypting
// barrier, so values are sealed at rest): `sys/tenant`, `sys/principals/<clientId>` and
// `sys/token-keys`. Nothing is kept per data directory, so several servers on one database
// share one tenant, one administrator and one set of signing keys, and each accepts the
// others' tokens. The first [Open] bootstraps all three in a single transaction.
//
// # Invariants
//
//   - The tenant id is a lower-case GUID generated once per storage and never changed.
//   - Token times (iat, nbf, exp) are set and checked against the real clock given in
//     [Options], never against the shifted vault clock.
//   - Signing keys persist, so a token stays valid for its whole lifetime across restarts.
//   - No client secret or token ever appears in an error message; storage keeps only a
//     SHA-256 of a principal's secret, except for the administrator, whose secret must be
//     reproducible for the bootstrap credentials file.
//   - [Service.Verify] caches a positive verdict per token for up to a second, so a busy
//     client's requests cost a map lookup, not a signature check, and a principal deleted
//     through another server loses access within that second.
//
// identity sits beside the planes: it may import storage (and storage/kvjson) and clock,
// and must not import vault, azapi, arm or server.
package identity
