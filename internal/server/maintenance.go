package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/coffer/coffer/internal/barrier"
	"github.com/coffer/coffer/internal/storage/bbolt"
)

// RotateKeyring adds a data key to the keyring of the (stopped) server at dataDir: new
// writes use it, older values still open. masterKey is COFFER_MASTER_KEY ("" →
// DIR/master.key).
func RotateKeyring(ctx context.Context, dataDir, masterKey string) (uint32, error) {
	cfg := Config{DataDir: dataDir, MasterKey: masterKey}
	db, err := openOffline(dataDir)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	kek, err := loadKEK(cfg, false)
	if err != nil {
		return 0, err
	}
	b, err := barrier.Open(ctx, db, kek, barrier.Options{})
	if err != nil {
		return 0, err
	}
	return b.Rotate(ctx)
}

// RotateMasterKey re-seals the keyring of the (stopped) server at dataDir under a new
// key-encryption key. oldKey is COFFER_MASTER_KEY ("" → DIR/master.key). newKey is
// COFFER_NEW_MASTER_KEY; when it is "" the KEK must come from master.key, and a new one
// is generated and written there. It returns where the new key is.
//
// Crash safety for master.key: the new key is first written to master.key.new, then the
// keyring is re-sealed, then the file is renamed over master.key. A start that finds
// master.key unable to open the keyring tries master.key.new (see loadKEK's caller).
func RotateMasterKey(ctx context.Context, dataDir, oldKey, newKey string) (string, error) {
	cfg := Config{DataDir: dataDir, MasterKey: oldKey}
	db, err := openOffline(dataDir)
	if err != nil {
		return "", err
	}
	defer db.Close()
	old, err := loadKEK(cfg, false)
	if err != nil {
		return "", err
	}
	if newKey == "" && oldKey != "" {
		return "", errors.New("COFFER_MASTER_KEY is set, so the new key must come from COFFER_NEW_MASTER_KEY (Coffer writes a generated key only to master.key)")
	}
	keyPath := filepath.Join(dataDir, masterKeyFile)
	pending := keyPath + ".new"
	if newKey == "" {
		if newKey, err = barrier.GenerateKEK(); err != nil {
			return "", err
		}
		if err := writeFileAtomic(pending, []byte(newKey+"\n")); err != nil {
			return "", err
		}
	}
	nk, err := barrier.ParseKEK(newKey)
	if err != nil {
		return "", fmt.Errorf("COFFER_NEW_MASTER_KEY: %w", err)
	}
	if err := barrier.Rekey(ctx, db, old, nk); err != nil {
		return "", err
	}
	if oldKey != "" {
		return "COFFER_NEW_MASTER_KEY (set COFFER_MASTER_KEY to it before the next start)", nil
	}
	if _, err := os.Stat(pending); err == nil {
		return keyPath, os.Rename(pending, keyPath)
	}
	// The new key came from COFFER_NEW_MASTER_KEY while the old one was master.key.
	return keyPath, writeFileAtomic(keyPath, []byte(newKey+"\n"))
}

func openOffline(dataDir string) (*bbolt.DB, error) {
	path := filepath.Join(dataDir, storageFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no Coffer storage at %s: %w", path, err)
	}
	db, err := bbolt.Open(path, embeddedOptions(dataDir, nil))
	if errors.Is(err, bbolt.ErrInUse) {
		return nil, fmt.Errorf("data dir in use: stop the coffer server on %s first (this command works offline)", dataDir)
	}
	if err != nil {
		return nil, explainOpenError(dataDir, err)
	}
	return db, nil
}

// CompactStorage rewrites the embedded store of the stopped server at dataDir into a new
// file holding only what is live, and puts it in the old one's place (bbolt.Compact: the
// txid record follows, a crash at any point loses nothing). A bbolt file never shrinks by
// itself; after a mass purge this gives the space back and makes later starts and
// background checks read less.
func CompactStorage(dataDir string) (*bbolt.CompactResult, error) {
	path := filepath.Join(dataDir, storageFile)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no Coffer storage at %s: %w", path, err)
	}
	res, err := bbolt.Compact(path, filepath.Join(dataDir, txidFile))
	if errors.Is(err, bbolt.ErrInUse) {
		return nil, fmt.Errorf("data dir in use: stop the coffer server on %s first (this command works offline)", dataDir)
	}
	if err != nil {
		return nil, explainOpenError(dataDir, err)
	}
	return res, nil
}
