package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/coffer/coffer/internal/barrier"
	"github.com/coffer/coffer/internal/clock"
	"github.com/coffer/coffer/internal/console"
	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/pki"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/bbolt"
	"github.com/coffer/coffer/internal/vault"
)

// CheckOptions configures [Check].
type CheckOptions struct {
	// MasterKey is COFFER_MASTER_KEY ("" → DIR/master.key): the values cannot be opened
	// without it.
	MasterKey string
	// Clock is the real clock (the vault clock is it plus the stored time shift); nil →
	// clock.Real.
	Clock clock.Clock
	// AcceptStale records the file's transaction in the txid record when the record names
	// a later one, is damaged or is missing: the next start then serves the file as it is.
	AcceptStale bool
}

// CheckReport is what [Check] found.
type CheckReport struct {
	Path        string // DIR/coffer.db
	TxidFile    string // DIR/coffer.db.txid
	Txid        uint64 // the transaction the file holds
	Recorded    uint64 // the transaction the txid record names, when RecordFound
	RecordFound bool
	Pages, Keys int
	// Values is how many values opened under the keyring; ValuesChecked is false when
	// the check stopped before them (a damaged structure: bbolt cannot be trusted to read
	// the file).
	Values        int
	ValuesChecked bool
	Problems      []CheckProblem
	// Stale says how the file is older than the txid record names (or that the record
	// is damaged), "" when it is not; Accepted is set when AcceptStale rewrote the record
	// (Stale is then no longer among the problems: the next start serves the file).
	Stale    string
	Accepted bool
}

// CheckProblem is one problem, with what it affects.
type CheckProblem struct {
	Affects string // "vault v, secret s", "the whole database", "the deletion ledger", …
	Where   string // the storage key, page or file at fault
	Text    string
}

func (p CheckProblem) String() string { return p.Affects + ": " + p.Where + ": " + p.Text }

// Check verifies the embedded storage of the stopped server at dataDir, offline: the
// file's own structure (bbolt's pages, both meta pages), that it is not older than the
// last transaction the server acknowledged (the txid record), that every stored value
// opens under the keyring and decodes as what its key says, and that the records agree
// with each other (the vault domain's heads, versions, scheduler entries and ledger
// chain; identity's tenant, principals and signing keys; the server's own). It holds a
// shared lock on the file, so no server can start meanwhile, and writes nothing but the
// txid record, and that only with AcceptStale.
func Check(ctx context.Context, dataDir string, opts CheckOptions) (*CheckReport, error) {
	clk := opts.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	r := &CheckReport{Path: filepath.Join(dataDir, storageFile), TxidFile: filepath.Join(dataDir, txidFile)}
	if _, err := os.Stat(r.Path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if rec, found, _ := bbolt.ReadTxidRecord(r.TxidFile); found {
				r.add("the whole database", r.Path, "missing, but %s shows that transaction %d was committed to it: it was moved or deleted", r.TxidFile, rec)
				return r, nil
			}
		}
		return nil, fmt.Errorf("no Coffer storage at %s: %w (coffer check checks the embedded storage; a data dir started with --storage postgres://… keeps its data in PostgreSQL)", r.Path, err)
	}
	db, err := bbolt.Open(r.Path, bbolt.Options{ReadOnly: true})
	var ce *bbolt.CorruptError
	switch {
	case errors.Is(err, bbolt.ErrInUse):
		return nil, fmt.Errorf("data dir in use: stop the coffer server on %s first (coffer check works offline)", dataDir)
	case errors.As(err, &ce):
		if ce.Report == nil {
			r.add("the whole database", r.Path, "bbolt failed on it: %s", ce.Panic)
			return r, nil
		}
		r.structure(ce.Report)
		r.compareRecord(ce.Report.Txid, false)
		return r, nil
	case err != nil:
		return nil, err
	}
	defer db.Close()
	// Open checked a bounded part of the file; check says what the whole of it holds.
	rep, err := db.VerifyFull(ctx, nil)
	if err != nil {
		return nil, err
	}
	r.structure(rep)
	if !onlyMetaProblems(rep) {
		r.compareRecord(rep.Txid, false)
		return r, nil // bbolt cannot be trusted to read a damaged structure
	}
	if r.Txid, err = db.Txid(); err != nil {
		return nil, err
	}
	r.compareRecord(r.Txid, opts.AcceptStale)

	kek, err := loadKEK(Config{DataDir: dataDir, MasterKey: opts.MasterKey}, false)
	if err != nil {
		return nil, fmt.Errorf("%w\ncoffer check opens every value with the key-encryption key: give the one this data dir runs with", err)
	}
	b, err := barrier.Open(ctx, db, kek, barrier.Options{})
	switch {
	case errors.Is(err, barrier.ErrWrongKEK):
		return nil, fmt.Errorf("%w\nset COFFER_MASTER_KEY (or restore %s) to the key this data dir runs with; coffer check needs it to open the values", err, filepath.Join(dataDir, masterKeyFile))
	case errors.Is(err, barrier.ErrNoKeyring):
		r.add("every stored value", "barrier/keyring", "the keyring is missing: no stored value can be opened")
		return r, nil
	case err != nil:
		r.add("every stored value", "barrier/keyring", "the keyring cannot be read: %v", err)
		return r, nil
	}
	if err := r.values(ctx, dataDir, db, b, clk); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *CheckReport) add(affects, where, format string, args ...any) {
	r.Problems = append(r.Problems, CheckProblem{Affects: affects, Where: where, Text: fmt.Sprintf(format, args...)})
}

func onlyMetaProblems(rep *bbolt.Report) bool {
	for _, p := range rep.Problems {
		if !p.Meta {
			return false
		}
	}
	return true
}

// structure takes what bbolt.Verify found.
func (r *CheckReport) structure(rep *bbolt.Report) {
	r.Txid, r.Pages, r.Keys = rep.Txid, rep.Pages, rep.Keys
	for _, p := range rep.Problems {
		r.add(p.Affects(), fmt.Sprintf("%s page %d", r.Path, p.Page), "%s", p.Text)
	}
}

// compareRecord compares the file's transaction with the txid record's, and with accept
// replaces a record that names a later transaction, is damaged or is missing.
func (r *CheckReport) compareRecord(txid uint64, accept bool) {
	rec, found, err := bbolt.ReadTxidRecord(r.TxidFile)
	r.Recorded, r.RecordFound = rec, found
	var problem CheckProblem
	switch {
	case err != nil:
		problem = CheckProblem{"the whole database", r.TxidFile, fmt.Sprintf("%v: a start cannot tell whether %s holds every acknowledged write, and refuses it", err, r.Path)}
	case found && rec > txid:
		problem = CheckProblem{"the whole database", r.Path, fmt.Sprintf("older than the last write the server acknowledged: it holds transaction %d, but %s records that transaction %d was committed; the writes of the last %s are not in it", txid, r.TxidFile, rec, transactions(rec-txid))}
	}
	r.Stale = problem.Text
	if !accept || (problem.Text == "" && found) {
		if problem.Text != "" {
			r.Problems = append(r.Problems, problem)
		}
		return
	}
	if err := bbolt.WriteTxidRecord(r.TxidFile, txid); err != nil {
		r.Problems = append(r.Problems, problem)
		r.add("the whole database", r.TxidFile, "could not be rewritten to accept the file as it is: %v", err)
		return
	}
	if err := bbolt.DiscardStaleWAL(r.Path, txid); err != nil {
		r.add("the whole database", r.Path+".wal", "could not be emptied to accept the file as it is: %v", err)
		return
	}
	r.Accepted, r.Recorded, r.RecordFound = true, txid, true
}

// values opens every value and checks what the records say about each other. Panics
// while reading (damage Verify cannot see, on which bbolt asserts) become a problem.
func (r *CheckReport) values(ctx context.Context, dataDir string, raw *bbolt.DB, sealed storage.Backend, clk clock.Clock) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			r.add("the whole database", r.Path, "reading it failed (%v): it is damaged in a way the structural check cannot see", p)
			err = nil
		}
	}()
	var keys []string
	err = raw.View(ctx, func(tx storage.Tx) error {
		after := ""
		for {
			page, err := tx.Scan("", after, 1000)
			if err != nil {
				return err
			}
			for _, e := range page {
				keys = append(keys, e.Key)
			}
			if len(page) < 1000 {
				return nil
			}
			after = page[len(page)-1].Key
		}
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", r.Path, err)
	}
	r.ValuesChecked = true
	serverOwns := func(k string) bool { return k == keyCA || k == keyTimeShift || strings.HasPrefix(k, "meta/") }
	var idKeys []string
	shift := time.Duration(0)
	err = sealed.View(ctx, func(tx storage.Tx) error {
		for _, k := range keys {
			if strings.HasPrefix(k, "barrier/") || strings.HasPrefix(k, "meta/") {
				continue // the keyring opened; meta/ is kept in clear
			}
			if _, err := tx.Get(k); err == nil {
				r.Values++
			}
			if identity.OwnsKey(k) {
				idKeys = append(idKeys, k)
			}
		}
		for _, p := range identity.CheckRecords(tx, idKeys) {
			r.add(p.Affects, p.Key, "%s", p.Text)
		}
		shift = r.serverRecords(tx, keys)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read %s: %w", r.Path, err)
	}
	r.clearRecords(dataDir, raw)
	now := clk.Now().Add(shift).UTC().Truncate(time.Second)
	problems, err := vault.CheckStore(ctx, sealed, raw, vault.CheckOptions{Now: now,
		Foreign: func(k string) bool { return serverOwns(k) || identity.OwnsKey(k) || console.OwnsKey(k) }})
	if err != nil {
		return fmt.Errorf("read %s: %w", r.Path, err)
	}
	for _, p := range problems {
		r.add(p.Affects(), p.Key, "%s", strings.Replace(p.Text, "under the barrier", "under the keyring", 1))
	}
	return nil
}

// serverRecords checks the server's sealed records (the CA, the time shift) and returns
// the time shift.
func (r *CheckReport) serverRecords(tx storage.Tx, keys []string) time.Duration {
	var shift time.Duration
	for _, k := range keys {
		switch k {
		case keyCA:
			var rec caRecord
			b, err := tx.Get(k)
			if err == nil {
				err = json.Unmarshal(b, &rec)
			}
			if err == nil {
				_, err = pki.ParseCA([]byte(rec.Cert), []byte(rec.Key))
			}
			if err != nil {
				r.add("the CA: the server's TLS certificate", k, "does not open or decode: %v", err)
			}
		case keyTimeShift:
			b, err := tx.Get(k)
			var n int64
			if err == nil {
				n, err = strconv.ParseInt(string(b), 10, 64)
			}
			if err != nil {
				r.add("the vault clock's time shift", k, "does not open or decode: %v", err)
			}
			shift = time.Duration(n) * time.Second
		}
	}
	return shift
}

// clearRecords checks the server's records kept in clear: the format and the storage id,
// which must be the one the data dir was first used with.
func (r *CheckReport) clearRecords(dataDir string, raw storage.Backend) {
	var format, id string
	_ = raw.View(context.Background(), func(tx storage.Tx) error {
		if b, err := tx.Get(keyFormat); err == nil {
			format = string(b)
		}
		if b, err := tx.Get(keyStorageID); err == nil {
			id = string(b)
		}
		return nil
	})
	if n, err := strconv.Atoi(format); err != nil || n < 1 || n > formatVersion {
		r.add("the whole database", keyFormat, "format %q: this coffer knows formats 1 to %d", format, formatVersion)
	}
	want, err := os.ReadFile(filepath.Join(dataDir, storageIDFile))
	switch {
	case id == "":
		r.add("the whole database", keyStorageID, "missing: a start would take the file for new storage")
	case err == nil && strings.TrimSpace(string(want)) != id:
		r.add("the whole database", keyStorageID, "%s, but this data dir was first used with storage %s: a start refuses it", id, strings.TrimSpace(string(want)))
	}
}

func transactions(n uint64) string {
	if n == 1 {
		return "transaction"
	}
	return strconv.FormatUint(n, 10) + " transactions"
}
