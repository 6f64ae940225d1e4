package bbolt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// A bbolt file never shrinks: pages freed by deletes are reused by later writes, but the
// file keeps the size of the most it ever held. After a mass purge, [Compact] copies what
// is live into a new file and puts it in the old one's place (`coffer storage compact`,
// with the server stopped).

// CompactResult is what [Compact] did.
type CompactResult struct {
	Before, After int64  // file sizes in bytes
	Txid          uint64 // the transaction the new file holds (a new file starts again from a few)
}

// compactTxSize bounds what one transaction of the copy holds in memory.
const compactTxSize = 64 << 20

// Compact rewrites the file at path into a new file holding the same keys and values and
// nothing else, then renames it over path. It takes the file's lock (a server cannot run
// meanwhile, nor start until it is done) and checks every page first: a damaged file is
// refused (restore it from a backup instead), as is one older than its txid record.
//
// txidFile is the txid record (see txid.go), or "". The new file's transactions start
// again from a few, so the record must follow it, in this order: the new file is written
// and fsynced beside the old one; the record is set to the new file's transaction; the
// new file is renamed over the old one and the directory fsynced. A crash before the
// rename leaves the old file, whole, with a record behind it, which Open accepts and
// catches up; after it, the new file and its record. Either way nothing is lost.
func Compact(path, txidFile string) (*CompactResult, error) {
	src, err := Open(path, Options{TxidFile: txidFile, StartPages: -1})
	if err != nil {
		return nil, err
	}
	srcOpen := true
	defer func() {
		if srcOpen {
			src.Close()
		}
	}()
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	res := &CompactResult{Before: fi.Size()}
	tmp := path + ".compact"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	defer os.Remove(tmp) // left only when something failed
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("bbolt: compact: create %s: %w", tmp, err)
	}
	err = bolt.Compact(dst, src.bolt, compactTxSize)
	if err == nil {
		err = dst.View(func(tx *bolt.Tx) error {
			res.Txid = uint64(tx.ID())
			return nil
		})
	}
	if cerr := dst.Close(); err == nil {
		err = cerr // bbolt fsyncs every commit; Close releases the file
	}
	if err != nil {
		return nil, fmt.Errorf("bbolt: compact %s: %w", path, err)
	}
	if rep, err := Verify(tmp); err != nil || len(rep.Problems) > 0 || rep.Keys != mustKeys(src) {
		return nil, fmt.Errorf("bbolt: compact %s: the new file does not verify (%v, %v)", path, err, rep)
	}
	// Open wrote what the write-ahead log held into the old file; its records lie on the
	// old file's transactions, which the new file's do not continue, so it is emptied
	// before the new file takes the old one's place.
	if err := src.wal.empty(); err != nil {
		return nil, fmt.Errorf("bbolt: compact: %w", err)
	}
	if txidFile != "" {
		if err := WriteTxidRecord(txidFile, res.Txid); err != nil {
			return nil, fmt.Errorf("bbolt: compact: write the txid record: %w", err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("bbolt: compact: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("bbolt: compact: sync %s: %w", filepath.Dir(path), err)
	}
	srcOpen = false
	src.unsynced = false // no last commit of the free list: the old file is gone, and the record is the new one's
	if err := src.Close(); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(path); err == nil {
		res.After = fi.Size()
	}
	return res, nil
}

// mustKeys counts the keys in db's bucket (-1 when it cannot).
func mustKeys(db *DB) int {
	n := -1
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucket).Stats().KeyN
		return nil
	})
	return n
}
