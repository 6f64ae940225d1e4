package bbolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
)

// The txid record guards against a database file older than what was acknowledged. bbolt
// keeps two meta pages and, when the newest does not validate (bit rot, a lost write),
// silently uses the other, one transaction older; a file restored from a backup, or
// replaced by a copy, is older too. Nothing inside the file can tell: the file is
// consistent, only old. So the id of every committed transaction is also written to a
// small file beside it ([Options.TxidFile]), and [Open] refuses a file that holds an older
// transaction than the record names ([ErrStale]).
//
// Order: the committer writes the record after bbolt's commit returned (the file fsynced)
// and before it answers the batch's callers. A crash between the two leaves the record one
// batch behind, never ahead — a transaction that was never acknowledged — and Open accepts
// a record that is behind, catching it up. The record is two slots of 16 bytes (txid, then
// a checksum), written alternately in place and fdatasynced: a write torn by a crash
// spoils one slot, and the other still holds the transaction before.

const (
	txidSlotSize   = 16
	txidRecordSize = 2 * txidSlotSize
)

// txidRecord is the open record file of a DB.
type txidRecord struct {
	f    *os.File
	slot int64 // the slot the next write goes to
}

func txidSum(txid uint64) uint64 {
	h := fnv.New64a()
	h.Write([]byte("coffer bbolt txid\x00"))
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], txid)
	h.Write(b[:])
	return h.Sum64()
}

func txidSlot(txid uint64) []byte {
	b := make([]byte, txidSlotSize)
	binary.LittleEndian.PutUint64(b, txid)
	binary.LittleEndian.PutUint64(b[8:], txidSum(txid))
	return b
}

// ReadTxidRecord returns the transaction a txid record names: the higher of its valid
// slots. found is false when there is no record; an error wrapping [ErrTxidRecord] means
// the file exists but names nothing.
func ReadTxidRecord(path string) (txid uint64, found bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if len(b) != txidRecordSize {
		return 0, true, fmt.Errorf("%w: %s is %d bytes, not %d", ErrTxidRecord, path, len(b), txidRecordSize)
	}
	valid := false
	for off := 0; off < txidRecordSize; off += txidSlotSize {
		t := binary.LittleEndian.Uint64(b[off:])
		if binary.LittleEndian.Uint64(b[off+8:]) == txidSum(t) {
			valid, txid = true, max(txid, t)
		}
	}
	if !valid {
		return 0, true, fmt.Errorf("%w: neither slot of %s has a valid checksum", ErrTxidRecord, path)
	}
	return txid, true, nil
}

// WriteTxidRecord replaces the record at path with one naming txid, through a synced
// temporary file, a rename and an fsync of the directory, whatever it named before: it is
// how an operator accepts a database file as it is (see ErrStale). Nothing may have the
// database open meanwhile.
func WriteTxidRecord(path string, txid uint64) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	slot := txidSlot(txid)
	_, err = f.Write(append(slot, slot...))
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir fsyncs dir, so that a file renamed or linked into it stays there.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// openTxidRecord opens the record at path for the committer, creating it naming txid when
// it does not exist, and catching it up to txid when it is behind.
func openTxidRecord(path string, txid uint64) (*txidRecord, error) {
	recorded, found, err := ReadTxidRecord(path)
	if err != nil {
		return nil, err
	}
	if !found {
		if err := WriteTxidRecord(path, txid); err != nil {
			return nil, fmt.Errorf("bbolt: create the txid record: %w", err)
		}
		recorded = txid
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("bbolt: open the txid record: %w", err)
	}
	r := &txidRecord{f: f}
	// Start with the slot that does not hold the higher transaction.
	var first [8]byte
	if _, err := f.ReadAt(first[:], 0); err != nil && !errors.Is(err, io.EOF) {
		f.Close()
		return nil, fmt.Errorf("bbolt: read the txid record: %w", err)
	}
	if binary.LittleEndian.Uint64(first[:]) == recorded {
		r.slot = 1
	}
	if recorded < txid {
		if err := r.write(txid); err != nil {
			f.Close()
			return nil, fmt.Errorf("bbolt: write the txid record: %w", err)
		}
	}
	return r, nil
}

// write records txid in the next slot and flushes it to disk.
func (r *txidRecord) write(txid uint64) error {
	if _, err := r.f.WriteAt(txidSlot(txid), r.slot*txidSlotSize); err != nil {
		return err
	}
	if err := fdatasync(r.f); err != nil {
		return err
	}
	r.slot ^= 1
	return nil
}

func (r *txidRecord) close() error { return r.f.Close() }
