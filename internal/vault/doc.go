// Package vault is Coffer's domain: vaults and the objects in them — secrets, keys and
// certificates — their versions, and the soft-delete lifecycle that is the heart of Azure
// Key Vault's safety model: active → deleted (recoverable with every version until its
// scheduledPurgeDate, its name reserved) → purged; purge protection refuses a purge by
// hand until the retention ends, when the sweeper purges.
//
// # Where to start reading
//
//   - lifecycle.go: Lifecycle, the deletion dates and the rules of each transition, shared
//     by Object (an object's head record) and Vault.
//   - transition.go: change.after, the one step every transition ends with — the deletion
//     ledger's entry, the sweeper's purge entries and the webhook events.
//   - objects.go: the object lifecycle on storage (delete, recover, purge, name reuse) and
//     kindRules, what a kind adds to it; engine.go: the operations every kind has in the
//     same shape, reached through Objects (Request.Secrets, Keys, Certificates).
//   - secrets.go, keys.go (rotation.go), certificates.go (renewal.go): each kind's own
//     material, policy and operations; versions.go: the attributes every version carries.
//   - vault.go, vaults.go: vault records and the management plane's vault lifecycle.
//   - service.go: Service and Request — a request acts through Service.As (or Internal),
//     and each operation reads its vault once, inside its transaction, and hands it to the
//     request's access decision first.
//   - sweeper.go (and ledger.go, webhooks.go): the scheduler's index and its actions.
//   - layout.go: the storage keys; backup.go: sealed backup blobs; export.go, import.go:
//     the whole-vault export stream and its all-or-nothing, staged import.
//
// # Invariants
//
//   - A deleted object is recoverable with every version until its scheduledPurgeDate; from
//     that instant every read treats it as purged, whether or not the sweeper has reclaimed
//     it yet, so a late or crashed sweeper never resurrects anything.
//   - Every change is one storage transaction, side effects included: a crash leaves an
//     object fully in its old or fully in its new state.
//   - The key and secret behind a certificate share its name, version ids and lifecycle;
//     only the certificate's own operations change them.
//   - Time comes from the injected clock and is truncated to the second, the resolution of
//     the wire.
//
// The tests' harness (harness_test.go) checks the whole store against these rules when
// each test ends (check_test.go).
//
// vault stays HTTP-free and knows nothing of Azure's wire JSON; it gets a storage.Backend
// and never learns that it is the encrypting barrier.
package vault
