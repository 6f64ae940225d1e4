package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"path/filepath"
	"strings"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/postgres"
)

// Limits of one copy transaction: small enough that PostgreSQL commits it quickly,
// large enough that a big store needs few round trips.
const (
	copyBatchKeys  = 1000
	copyBatchBytes = 8 << 20
)

// ErrTargetNotEmpty is returned (wrapped) by [CopyStorage] and [RestoreSnapshot] when
// their target already holds data: they never replace or merge into a deployment's
// storage.
var ErrTargetNotEmpty = errors.New("the target is not empty")

// CopyStorage copies the embedded storage of the stopped server at fromDir
// (DIR/coffer.db) into the empty PostgreSQL database toDSN, key by key and byte for
// byte, and returns how many keys it copied.
//
// The values are sealed by the barrier with their storage key as additional data, so
// the raw bytes stay valid under the same key in another backend: nothing is decrypted
// and no key-encryption key is needed. The keyring (barrier/keyring) and meta/* — the
// storage id among them — are copied too, so DIR (with its master.key) then starts with
// `--storage postgres://…`, and further servers start with COFFER_MASTER_KEY set to the
// content of DIR/master.key.
//
// The keyring and meta/* are written in the last transaction: a copy interrupted
// midway leaves a database without a keyring, on which no server starts (and which a
// new copy refuses as not empty). Afterwards the key count and a SHA-256 over every key
// and value, in key order, are compared between the two stores.
//
// bbolt's file lock makes the copy fail while a server runs on fromDir. fromDir is left
// as it was.
func CopyStorage(ctx context.Context, fromDir, toDSN string) (n int, err error) {
	if !(&Config{Storage: toDSN}).postgres() {
		return 0, errors.New("--to: expected a postgres:// URL")
	}
	src, err := openOffline(fromDir)
	if err != nil {
		return 0, err
	}
	defer src.Close()

	err = src.View(ctx, func(tx storage.Tx) error {
		_, err := tx.Get(keyStorageID)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return 0, fmt.Errorf("%s holds no Coffer storage id: start `coffer server --data-dir %s` once, then copy", filepath.Join(fromDir, storageFile), fromDir)
	}
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", filepath.Join(fromDir, storageFile), err)
	}

	dst, err := postgres.Open(ctx, toDSN)
	if err != nil {
		return 0, err // postgres never puts the password in its errors
	}
	defer dst.Close()
	if err := dst.View(ctx, func(tx storage.Tx) error { return checkEmpty(tx, copyNotEmpty) }); err != nil {
		return 0, err
	}

	srcSum := newCopyDigest()
	var last []storage.Entry // barrier/ and meta/: written at the end
	var batch []storage.Entry
	batchBytes := 0
	first := true
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		check := first
		err := dst.Update(ctx, func(tx storage.Tx) error {
			if check {
				// Again inside the transaction: a server may have started on the target meanwhile.
				if err := checkEmpty(tx, copyNotEmpty); err != nil {
					return err
				}
			}
			for _, e := range batch {
				if err := tx.Put(e.Key, e.Value); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("copy to PostgreSQL after %d keys: %w", n, err)
		}
		n += len(batch)
		batch, batchBytes, first = batch[:0], 0, false
		return nil
	}

	after := ""
	for {
		var page []storage.Entry
		err := src.View(ctx, func(tx storage.Tx) error {
			var err error
			page, err = tx.Scan("", after, copyBatchKeys)
			return err
		})
		if err != nil {
			return n, fmt.Errorf("read %s: %w", filepath.Join(fromDir, storageFile), err)
		}
		for _, e := range page {
			srcSum.add(e)
			if strings.HasPrefix(e.Key, "barrier/") || strings.HasPrefix(e.Key, "meta/") {
				last = append(last, e)
				continue
			}
			batch = append(batch, e)
			batchBytes += len(e.Key) + len(e.Value)
			if len(batch) >= copyBatchKeys || batchBytes >= copyBatchBytes {
				if err := flush(); err != nil {
					return n, err
				}
			}
		}
		if len(page) < copyBatchKeys {
			break
		}
		after = page[len(page)-1].Key
	}
	if err := flush(); err != nil {
		return n, err
	}
	batch = last
	if err := flush(); err != nil {
		return n, err
	}

	dstSum := newCopyDigest()
	err = dst.View(ctx, func(tx storage.Tx) error {
		dstSum = newCopyDigest()
		after := ""
		for {
			page, err := tx.Scan("", after, copyBatchKeys)
			if err != nil {
				return err
			}
			for _, e := range page {
				dstSum.add(e)
			}
			if len(page) < copyBatchKeys {
				return nil
			}
			after = page[len(page)-1].Key
		}
	})
	if err != nil {
		return n, fmt.Errorf("verify the copy: %w", err)
	}
	if srcSum.n != n || dstSum.n != n {
		return n, fmt.Errorf("verify the copy: the source holds %d keys, %d were copied, the target holds %d: the target is not a faithful copy; empty it before copying again", srcSum.n, n, dstSum.n)
	}
	if !bytes.Equal(srcSum.h.Sum(nil), dstSum.h.Sum(nil)) {
		return n, fmt.Errorf("verify the copy: %d keys on both sides, but their checksums differ: the target is not a faithful copy; empty it before copying again", n)
	}
	return n, nil
}

// copyNotEmpty is what CopyStorage says of a target that holds keys.
const copyNotEmpty = "it holds Coffer data already, or a partial copy\nCopy into an empty database; a copy never merges into one in use. If this one holds nothing you need (an interrupted copy), empty it: DELETE FROM coffer_kv"

// checkEmpty fails with ErrTargetNotEmpty, saying why, when tx holds any key.
func checkEmpty(tx storage.Tx, why string) error {
	some, err := tx.Scan("", "", 1)
	if err != nil {
		return fmt.Errorf("read the target database: %w", err)
	}
	if len(some) > 0 {
		return fmt.Errorf("%w: %s", ErrTargetNotEmpty, why)
	}
	return nil
}

// copyDigest is a SHA-256 over length-prefixed keys and values, in the order added.
type copyDigest struct {
	h hash.Hash
	n int
}

func newCopyDigest() *copyDigest { return &copyDigest{h: sha256.New()} }

func (d *copyDigest) add(e storage.Entry) {
	var l [8]byte
	binary.BigEndian.PutUint64(l[:], uint64(len(e.Key)))
	d.h.Write(l[:])
	d.h.Write([]byte(e.Key))
	binary.BigEndian.PutUint64(l[:], uint64(len(e.Value)))
	d.h.Write(l[:])
	d.h.Write(e.Value)
	d.n++
}
