// Package vault is Coffer's domain: vaults and the objects in them (secrets now; keys and
// certificates share the same machinery), their versions, and the soft-delete lifecycle
// that is the heart of Azure Key Vault's safety model: active → deleted (recoverable until
// its scheduledPurgeDate, name reserved) → purged.
//
// # Invariants
//
//   - A deleted object is recoverable with every version until its scheduledPurgeDate; from
//     that instant every read treats it as purged, whether or not the [Sweeper] has reclaimed
//     it yet, so a late or crashed sweeper never resurrects anything.
//   - Every change is one storage transaction: a crash leaves an object fully in its old or
//     fully in its new state.
//   - Time comes from the injected clock and is truncated to the second, the resolution of
//     the wire.
//
// vault stays HTTP-free and knows nothing of Azure's wire JSON; it gets a storage.Backend
// and never learns that it is the encrypting barrier.
package vault
