package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/barrier"
	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/pki"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/bbolt"
	"github.com/coffer/coffer/internal/storage/postgres"
)

// Storage keys the server owns. meta/ is kept in clear beside the barrier's keyring
// (they are needed before it opens and are not secret); sys/ goes through the barrier.
const (
	keyFormat    = "meta/format"
	keyStorageID = "meta/storage-id"
	keyCA        = "sys/ca"
	keyTimeShift = "sys/time-shift"

	// formatVersion is the storage layout this binary writes.
	formatVersion = 1
)

func prepareDataDir(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		log.Warn("the data dir can be read by group or others; it holds the key-encryption key: chmod 700 it", "dir", dir, "mode", fi.Mode().Perm().String())
	}
	return nil
}

// openStorage opens the embedded store, checks that it is the storage this data dir
// was made with and in a format this binary knows, and opens the barrier over it with
// the KEK — creating keyring and KEK only for storage that is brand new.
func openStorage(ctx context.Context, cfg Config, log *slog.Logger) (*barrier.Barrier, error) {
	var db storage.Backend
	if cfg.postgres() {
		lock, err := lockDataDir(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		pg, err := postgres.Open(ctx, cfg.Storage)
		if err != nil {
			lock.Close()
			return nil, err // postgres never puts the password in its errors
		}
		db = lockedBackend{Backend: pg, lock: lock}
	} else {
		bb, err := bbolt.Open(filepath.Join(cfg.DataDir, storageFile), embeddedOptions(cfg.DataDir, log))
		if err != nil {
			if errors.Is(err, bbolt.ErrInUse) {
				return nil, fmt.Errorf("data dir in use: another coffer server has %s open", cfg.DataDir)
			}
			return nil, explainOpenError(cfg.DataDir, err)
		}
		db = bb
	}
	b, err := openBarrier(ctx, db, cfg, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	reportUnopenable(ctx, db, b, log)
	return b, nil
}

// lockDataDir takes DIR/lock so that a second server on the same DIR fails at once
// (with the embedded store, bbolt's own file lock does this).
func lockDataDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data dir in use: another coffer server has %s open", dir)
	}
	return f, nil
}

// lockedBackend releases the data dir lock when the storage closes.
type lockedBackend struct {
	storage.Backend
	lock *os.File
}

func (l lockedBackend) Close() error {
	err := l.Backend.Close()
	l.lock.Close()
	return err
}

func openBarrier(ctx context.Context, db storage.Backend, cfg Config, log *slog.Logger) (*barrier.Barrier, error) {
	var format, storageID string
	fresh := false
	err := db.View(ctx, func(tx storage.Tx) error {
		f, err := tx.Get(keyFormat)
		if err == nil {
			format = string(f)
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if id, err := tx.Get(keyStorageID); err == nil {
			storageID = string(id)
		}
		any, err := tx.Scan("", "", 1)
		fresh = len(any) == 0
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read storage: %w", err)
	}
	if format != "" {
		n, err := strconv.Atoi(format)
		if err != nil || n > formatVersion {
			return nil, fmt.Errorf("the storage has format version %s, newer than this coffer binary knows (%d): run a newer coffer", format, formatVersion)
		}
	}
	idPath := filepath.Join(cfg.DataDir, storageIDFile)
	if want, err := os.ReadFile(idPath); err == nil && storageID != "" && strings.TrimSpace(string(want)) != storageID {
		return nil, fmt.Errorf("this data dir was first used with storage %s, but the storage given holds %s: start with the storage this data dir belongs to, or use another --data-dir", strings.TrimSpace(string(want)), storageID)
	}

	kek, err := loadKEK(cfg, fresh)
	if err != nil {
		return nil, err
	}
	b, err := barrier.Open(ctx, db, kek, barrier.Options{Create: fresh})
	if errors.Is(err, barrier.ErrWrongKEK) && cfg.MasterKey == "" {
		b, err = finishMasterKeyRotation(ctx, db, cfg, log, err)
	}
	if err != nil {
		if errors.Is(err, barrier.ErrWrongKEK) {
			return nil, fmt.Errorf("%w\nThe stored data is sealed by another key-encryption key: set COFFER_MASTER_KEY (or restore %s) to the one it was created with. Coffer never makes a new keyring over existing data.", err, filepath.Join(cfg.DataDir, masterKeyFile))
		}
		return nil, err
	}
	if storageID == "" || format != strconv.Itoa(formatVersion) {
		candidate := uuid.NewString()
		err := db.Update(ctx, func(tx storage.Tx) error {
			// Another server starting on the same new database may have written the
			// id meanwhile: the stored one wins.
			id, err := tx.Get(keyStorageID)
			switch {
			case err == nil:
				storageID = string(id)
			case errors.Is(err, storage.ErrNotFound):
				storageID = candidate
				if err := tx.Put(keyStorageID, []byte(storageID)); err != nil {
					return err
				}
			default:
				return err
			}
			return tx.Put(keyFormat, []byte(strconv.Itoa(formatVersion)))
		})
		if err != nil {
			return nil, fmt.Errorf("write storage format: %w", err)
		}
	}
	if err := writeFileAtomic(idPath, []byte(storageID+"\n")); err != nil {
		return nil, err
	}
	if fresh {
		log.Info("initialised new storage", "storageId", storageID)
	}
	return b, nil
}

// loadKEK reads the key-encryption key: COFFER_MASTER_KEY, else DIR/master.key, which
// is created only for brand-new storage.
func loadKEK(cfg Config, fresh bool) ([]byte, error) {
	if cfg.MasterKey != "" {
		k, err := barrier.ParseKEK(cfg.MasterKey)
		if err != nil {
			return nil, fmt.Errorf("COFFER_MASTER_KEY: %w", err)
		}
		return k, nil
	}
	path := filepath.Join(cfg.DataDir, masterKeyFile)
	text, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if !fresh {
			return nil, fmt.Errorf("the storage is sealed by a key-encryption key, but COFFER_MASTER_KEY is unset and %s is missing: without that key the stored secrets cannot be read", path)
		}
		s, err := barrier.GenerateKEK()
		if err != nil {
			return nil, err
		}
		if err := writeFileAtomic(path, []byte(s+"\n")); err != nil {
			return nil, err
		}
		text = []byte(s)
	} else if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	k, err := barrier.ParseKEK(string(text))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

type caRecord struct {
	Cert string `json:"cert"`
	Key  string `json:"key"`
}

// loadCA returns the deployment's CA, kept in storage (sealed) so that every server on
// one database shares it; the first start creates it.
func loadCA(ctx context.Context, st storage.Backend, now time.Time) (*pki.CA, error) {
	var rec caRecord
	err := st.Update(ctx, func(tx storage.Tx) error {
		b, err := tx.Get(keyCA)
		if err == nil {
			return json.Unmarshal(b, &rec)
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		ca, err := pki.NewCA(now, "Coffer CA")
		if err != nil {
			return err
		}
		c, k, err := ca.MarshalPEM()
		if err != nil {
			return err
		}
		rec = caRecord{Cert: string(c), Key: string(k)}
		b, _ = json.Marshal(rec)
		return tx.Put(keyCA, b)
	})
	if err != nil {
		return nil, fmt.Errorf("CA: %w", err)
	}
	return pki.ParseCA([]byte(rec.Cert), []byte(rec.Key))
}

func loadTimeShift(ctx context.Context, st storage.Backend) (time.Duration, error) {
	var d time.Duration
	err := st.View(ctx, func(tx storage.Tx) error {
		b, err := tx.Get(keyTimeShift)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		n, err := strconv.ParseInt(string(b), 10, 64)
		d = time.Duration(n) * time.Second
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("time shift: %w", err)
	}
	return d, nil
}

// addTimeShift adds seconds to the stored offset and returns the new total.
func addTimeShift(ctx context.Context, st storage.Backend, seconds int64) (time.Duration, error) {
	var total int64
	err := st.Update(ctx, func(tx storage.Tx) error {
		total = 0
		b, err := tx.Get(keyTimeShift)
		if err == nil {
			if total, err = strconv.ParseInt(string(b), 10, 64); err != nil {
				return err
			}
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		total += seconds
		return tx.Put(keyTimeShift, []byte(strconv.FormatInt(total, 10)))
	})
	return time.Duration(total) * time.Second, err
}

func writeCredentials(path string, c identity.Credentials) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// writeFileAtomic writes data to path with mode 0600 through a synced temporary file
// and a rename, so a crash leaves the old file or the new one.
func writeFileAtomic(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return os.Chmod(path, 0o600)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// finishMasterKeyRotation completes a `coffer master-key rotate` that crashed after
// re-sealing the keyring but before renaming master.key.new over master.key.
func finishMasterKeyRotation(ctx context.Context, db storage.Backend, cfg Config, log *slog.Logger, openErr error) (*barrier.Barrier, error) {
	keyPath := filepath.Join(cfg.DataDir, masterKeyFile)
	text, err := os.ReadFile(keyPath + ".new")
	if err != nil {
		return nil, openErr
	}
	kek, err := barrier.ParseKEK(string(text))
	if err != nil {
		return nil, openErr
	}
	b, err := barrier.Open(ctx, db, kek, barrier.Options{})
	if err != nil {
		return nil, openErr
	}
	if err := os.Rename(keyPath+".new", keyPath); err != nil {
		b.Close()
		return nil, fmt.Errorf("finish master key rotation: %w", err)
	}
	log.Warn("finished an interrupted master-key rotation: master.key.new is now master.key")
	return b, nil
}
