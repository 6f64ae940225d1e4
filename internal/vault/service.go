package vault

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/kvjson"
)

// Options configure a Service.
type Options struct {
	Storage storage.Backend
	Clock   clock.Clock  // the vault clock (possibly shifted)
	Log     *slog.Logger // scheduled actions are logged; nil → slog.Default()
	// TenantID is the server's tenant: vaults and access policies must name it.
	TenantID string
	// LedgerRetention is how long deletion-ledger entries are kept; 0 →
	// DefaultLedgerRetention.
	LedgerRetention time.Duration
	// ConcurrentWriters says that Storage runs Updates side by side, locking what they
	// touch (PostgreSQL), rather than one after the other (bbolt). A change then records
	// its ledger entry pending and has it linked into the chain, in groups, before it is
	// acknowledged (ledgerlink.go), since appending to the chain in every change would
	// make all changes queue on its head. One after the other, a change appends itself.
	ConcurrentWriters bool
}

// Service carries out every operation on vaults and their objects.
type Service struct {
	st        storage.Backend
	clk       clock.Clock
	log       *slog.Logger
	tenant    string
	backupKey []byte
	keys      keyCache
	// ledgerRetention and counts: the deletion ledger and metrics (ledger.go).
	ledgerRetention time.Duration
	counts          schedulerCounts
	pace            pacer // the sweeper's (sweeper.go)
	latest          latestHints
}

// Open returns a Service over st, creating the deployment's backup key on first use.
func Open(ctx context.Context, opts Options) (*Service, error) {
	st := opts.Storage
	if opts.ConcurrentWriters {
		st = &linkingStore{Backend: st}
	}
	s := &Service{st: st, clk: opts.Clock, log: opts.Log, tenant: opts.TenantID, ledgerRetention: opts.LedgerRetention}
	if s.ledgerRetention <= 0 {
		s.ledgerRetention = DefaultLedgerRetention
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	var key []byte
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		b, err := tx.Get(backupKeyKey)
		if err == nil {
			key = b
			return nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		key = make([]byte, 32)
		rand.Read(key)
		return tx.Put(backupKeyKey, key)
	})
	if err != nil {
		return nil, fmt.Errorf("vault: backup key: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("vault: backup key has %d bytes, want 32", len(key))
	}
	s.backupKey = key
	if err := s.backfillStats(ctx); err != nil {
		return nil, err
	}
	if err := s.clearDeadImports(ctx); err != nil {
		s.log.Error("could not clear the staging of imports that did not finish; the next import or create of their names clears it", "err", err)
	}
	return s, nil
}

// Now is the vault clock's time at the wire's resolution.
func (s *Service) Now() time.Time { return wireTime(s.clk.Now()) }

// EnsureVault creates v when no vault of that name exists and returns the stored record.
func (s *Service) EnsureVault(ctx context.Context, v Vault) (Vault, bool, error) {
	var out Vault
	var created bool
	err := s.st.Update(ctx, func(tx storage.Tx) error {
		created = false
		err := kvjson.Get(tx, vaultKey(v.Name), &out)
		if err == nil {
			return nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		out = v
		if out.Created.IsZero() {
			out.Created = s.Now()
		}
		created = true
		return tx.Put(vaultKey(v.Name), mustJSON(out))
	})
	return out, created, err
}

// GetVault returns the vault's record.
func (s Request) GetVault(ctx context.Context, name string) (Vault, error) {
	var v Vault
	err := s.st.View(ctx, func(tx storage.Tx) error {
		// One record, and every operation on the vault reads it again in its own
		// transaction: no snapshot needed (on PostgreSQL, one statement rather than three).
		storage.NoSnapshot(tx)
		var err error
		v, err = s.vault(tx, name)
		return err
	})
	return v, err
}

// Request is one request's handle on the vaults: who acts, for the deletion ledger, and
// the access decision the request's plane made. Every operation through it reads the
// vault it acts on once, inside its own transaction, and hands it to that decision
// before it reads or changes anything else — one vault read and one decision per
// request, for reads and mutations alike.
type Request struct {
	*Service
	actor  Actor
	decide func(Vault) error
}

// Actor is who a change is recorded against in the deletion ledger. The zero Actor is
// Coffer itself (the sweeper and the scheduler).
type Actor struct {
	Principal string // object id, or the client id when there is none
	ClientID  string
	RequestID string
}

func (a Actor) entry() ledger.Entry {
	if a == (Actor{}) {
		return ledger.Entry{Principal: ledger.Sweeper}
	}
	return ledger.Entry{Principal: a.Principal, ClientID: a.ClientID, RequestID: a.RequestID}
}

// As returns the handle through which actor acts; decide is called with each vault an
// operation acts on, and an error from it ends the operation with nothing changed. A nil
// decide allows every vault.
func (s *Service) As(actor Actor, decide func(Vault) error) Request {
	return Request{Service: s, actor: actor, decide: decide}
}

// Internal is the handle of Coffer's own work (start-up, the administrator's routes,
// tests): every vault, recorded as Coffer.
func (s *Service) Internal() Request { return Request{Service: s} }

// vault returns a live vault that passes the request's decision: a deleted one is not
// found, as the data plane sees it.
func (r Request) vault(tx storage.Tx, name string) (Vault, error) {
	v, err := getVaultRecordForUpdate(tx, name)
	return r.decideVault(name, v, err)
}

// sharedVault is vault for a transaction that changes what is inside the vault but not
// the vault's record: it reads the record under a shared lock
// ([storage.GetShared]), so that changes to different objects of one vault do not
// queue behind each other, while a change to the vault itself waits for them.
func (r Request) sharedVault(tx storage.Tx, name string) (Vault, error) {
	v, err := getVaultRecord(tx, name)
	return r.decideVault(name, v, err)
}

func (r Request) decideVault(name string, v Vault, err error) (Vault, error) {
	if err == nil && !v.DeletedDate.IsZero() {
		return v, &Error{Kind: ErrVaultNotFound, Name: name}
	}
	if err == nil && r.decide != nil {
		err = r.decide(v)
	}
	return v, err
}

// inVault runs fn in a transaction — a write one when write is set — on the vault
// vaultName: read once, inside the transaction, and handed to the request's decision
// before fn reads or changes anything else; now is the vault clock's time.
func (r Request) inVault(ctx context.Context, write bool, vaultName string, fn func(tx storage.Tx, vlt Vault, now time.Time) error) error {
	return r.inVaultReading(ctx, write, vaultName, nil, fn)
}

// inVaultReading is inVault for a get: fn reads the object at keys[0], then one of its
// versions, which keys[1] names when it is known (or guessed) before. A read-only
// transaction reads keys with the vault's record, in one round trip where the storage
// can ([storage.Prefetch]), and its reads need not share a snapshot
// ([storage.NoSnapshot]; on PostgreSQL one round trip, or two when the version was not
// known before, instead of three with BEGIN and COMMIT): every state the three records
// can be seen in is one the get could have answered at some instant of its own. The
// vault's record and the object's are read in one round trip; a version, once written,
// only changes its attributes, and a version gone by the time it is read (the object
// purged meanwhile) is answered as not found, as a get after the purge would be.
func (r Request) inVaultReading(ctx context.Context, write bool, vaultName string, keys []string, fn func(tx storage.Tx, vlt Vault, now time.Time) error) error {
	run := r.st.View
	if write {
		run = r.st.Update
	}
	return run(ctx, func(tx storage.Tx) error {
		if len(keys) > 0 && !write {
			storage.NoSnapshot(tx)
			storage.Prefetch(tx, keys...)
		}
		vlt, err := r.sharedVault(tx, vaultName)
		if err != nil {
			return err
		}
		return fn(tx, vlt, r.Now())
	})
}

// getVaultRecord returns a vault's record whatever its state.
//
// In a write transaction it reads under a shared lock (storage.GetShared): the
// transaction must not change the vault's record, and changes of different objects in
// one vault, and the sweeper's purges, do not queue behind each other. A transaction
// that changes the record reads it with getVaultRecordForUpdate.
func getVaultRecord(tx storage.Tx, name string) (Vault, error) {
	return getVaultRecordWith(tx, name, storage.GetShared)
}

// getVaultRecordForUpdate is getVaultRecord for a transaction that may change the
// vault's record: it locks it for itself, waiting for the shared readers
// (storage.GetExclusive).
func getVaultRecordForUpdate(tx storage.Tx, name string) (Vault, error) {
	return getVaultRecordWith(tx, name, storage.GetExclusive)
}

// getVaultRecordWith is getVaultRecord reading with get (storage.GetShared or GetExclusive).
func getVaultRecordWith(tx storage.Tx, name string, get func(storage.Tx, string) ([]byte, error)) (Vault, error) {
	key := vaultKey(name)
	b, err := get(tx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return Vault{}, &Error{Kind: ErrVaultNotFound, Name: name}
	}
	if err != nil {
		return Vault{}, err
	}
	return decodeVault(key, b)
}

// vaultCache keeps the decoded form of vault records, keyed by storage key and checked
// against the stored bytes on every use, so it is never stale (also with several
// servers on one database): every request reads its vault, and decoding it was a
// fifth of a read's cost. Callers must not mutate the maps and slices of a Vault they
// did not copy (writers clone before changing them).
var vaultCache struct {
	sync.Mutex
	m map[string]cachedVault
}

type cachedVault struct {
	raw []byte
	v   Vault
}

func decodeVault(key string, b []byte) (Vault, error) {
	vaultCache.Lock()
	c, ok := vaultCache.m[key]
	vaultCache.Unlock()
	if ok && bytes.Equal(c.raw, b) {
		return c.v, nil
	}
	var v Vault
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("decode %s: %w", key, err)
	}
	vaultCache.Lock()
	if vaultCache.m == nil || len(vaultCache.m) >= 1024 {
		vaultCache.m = make(map[string]cachedVault)
	}
	vaultCache.m[key] = cachedVault{raw: b, v: v}
	vaultCache.Unlock()
	return v, nil
}

// onRecord reads one of a vault's own records, at key(vault) — its certificate
// contacts, an issuer, a certificate's issuance operation — in a transaction (a write one
// when write is set) on the vault vaultName; missing is the error when there is none.
// fn, if set, may then change or remove it (key is where it is stored).
func onRecord[T any](s Request, ctx context.Context, write bool, vaultName string, key func(vault string) string, missing error, fn func(tx storage.Tx, key string, rec *T) error) (T, error) {
	var out T
	err := s.inVault(ctx, write, vaultName, func(tx storage.Tx, vlt Vault, _ time.Time) error {
		k := key(vlt.Name)
		var err error
		if out, err = getRecord[T](tx, k, missing); err != nil || fn == nil {
			return err
		}
		return fn(tx, k, &out)
	})
	return out, err
}

// getRecord reads the record at key; missing is the error when there is none.
func getRecord[T any](tx storage.Tx, key string, missing error) (T, error) {
	var rec T
	err := kvjson.Get(tx, key, &rec)
	if errors.Is(err, storage.ErrNotFound) {
		return rec, missing
	}
	return rec, err
}

func newVersionID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
