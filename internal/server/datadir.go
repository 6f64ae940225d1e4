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

	"github.com/coffer/coffer/internal/audit"
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

// prepareDataDir creates the data dir (0700) on first start and refuses to go on when
// the data dir or a file holding one of Coffer's secrets can be reached by other users
// (checkFileModes). A data dir that holds none of them yet — made by hand (mkdir with the
// usual umask gives 0755) or by a tool just before the first start — is made 0700 and
// the log says so: nothing can have leaked from it, and 0700 is what Coffer would have
// made.
func prepareDataDir(cfg Config, log *slog.Logger) error {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	fi, err := os.Stat(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && !holdsSecrets(cfg.DataDir) {
		if err := os.Chmod(cfg.DataDir, perm&0o700); err != nil {
			return fmt.Errorf("data dir: make it private: %w", err)
		}
		log.Info("made the new data dir private (chmod 700): it will hold keys and credentials", "dir", cfg.DataDir, "mode", perm.String())
	}
	return checkFileModes(cfg)
}

// holdsSecrets says whether dir holds any file with a key, a credential or stored data.
func holdsSecrets(dir string) bool {
	for _, name := range []string{masterKeyFile, masterKeyFile + ".new", credentialsFile, storageFile, filepath.Join(tlsDir, pki.KeyFile)} {
		if _, err := os.Lstat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			return true
		}
	}
	return false
}

// checkFileModes refuses a start when other users of the machine could read Coffer's
// secrets: the data dir (which holds all of them) must give group and others nothing, and
// so must the files with a key or a client secret in them — master.key (and
// master.key.new), bootstrap-credentials.json and the server certificate's key. An
// operator's own --tls-key may be readable by a group (as Debian's ssl-cert convention
// has it), never by others.
//
// Coffer refuses rather than fixing the modes itself: a mode that was loose for a while may
// already have let the secret out, which only the operator can judge (and answer, e.g. with
// `coffer master-key rotate`); and a chmod behind the operator's back would fight whatever
// set the mode (a restore, a configuration tool) instead of telling it. The error names
// every file and the exact command that fixes it. Nothing is changed.
func checkFileModes(cfg Config) error {
	type check struct {
		path  string
		dir   bool
		allow os.FileMode // permission bits that may be set besides the owner's
	}
	checks := []check{
		{path: cfg.DataDir, dir: true},
		{path: filepath.Join(cfg.DataDir, masterKeyFile)},
		{path: filepath.Join(cfg.DataDir, masterKeyFile+".new")},
		{path: filepath.Join(cfg.DataDir, credentialsFile)},
		{path: filepath.Join(cfg.DataDir, tlsDir, pki.KeyFile)},
	}
	if cfg.TLSKey != "" {
		checks = append(checks, check{path: cfg.TLSKey, allow: 0o070})
	}
	var problems, fixes []string
	for _, c := range checks {
		fi, err := os.Stat(c.path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("check the mode of %s: %w", c.path, err)
		}
		loose := fi.Mode().Perm() &^ 0o700 &^ c.allow
		if loose == 0 {
			continue
		}
		who := "group and others"
		switch {
		case loose&0o070 == 0:
			who = "others"
		case loose&0o007 == 0:
			who = "its group"
		}
		fix := "chmod 600 "
		switch {
		case c.dir:
			fix = "chmod 700 "
		case c.allow != 0:
			fix = "chmod o-rwx "
		}
		problems = append(problems, fmt.Sprintf("  %s has mode %s: %s can reach it", c.path, fi.Mode().Perm(), who))
		fixes = append(fixes, "  "+fix+shellQuote(c.path))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("refusing to start: other users of this machine could read Coffer's keys and credentials:\n%s\n"+
		"Coffer changes no modes itself. Run:\n%s\nthen start again. If a mode was loose for a while, treat what that file "+
		"holds as exposed (coffer master-key rotate replaces the key-encryption key).",
		strings.Join(problems, "\n"), strings.Join(fixes, "\n"))
}

// shellQuote quotes path for a shell command line when it needs it.
func shellQuote(path string) string {
	if path != "" && strings.IndexFunc(path, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:,@", r))
	}) < 0 {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}

// openStorage opens the embedded store, checks that it is the storage this data dir
// was made with and in a format this binary knows, and opens the barrier over it with
// the KEK — creating keyring and KEK only for storage that is brand new.
//
// With the embedded store, the audit log file af (nil: none) and the store share their
// durable writes: the request record of a stored change rides in the store's write-ahead
// log with the change (audit.File.SetJournal, bbolt.DB.Journal), the store syncs the
// audit log before each checkpoint, and gives it back, at the start after a crash, the
// records the log held.
func openStorage(ctx context.Context, cfg Config, log *slog.Logger, af *audit.File) (*barrier.Barrier, *bbolt.DB, error) {
	var db storage.Backend
	var embedded *bbolt.DB
	if cfg.postgres() {
		lock, err := lockDataDir(cfg.DataDir)
		if err != nil {
			return nil, nil, err
		}
		pg, err := postgres.Open(ctx, cfg.Storage)
		if err != nil {
			lock.Close()
			return nil, nil, err // postgres never puts the password in its errors
		}
		db = lockedBackend{Backend: pg, lock: lock}
	} else {
		opts := embeddedOptions(cfg.DataDir, log)
		opts.StartPages = cfg.StartCheckPages
		if af != nil {
			opts.BeforeCheckpoint = af.Sync
			opts.Restore = func(lines [][]byte) error {
				n, err := af.Restore(lines)
				if n > 0 {
					log.Warn("the audit log lacked request records that the storage's write-ahead log kept (the server stopped without syncing them); they are written back", "records", n, "path", af.Path())
				}
				return err
			}
		}
		bb, err := bbolt.Open(filepath.Join(cfg.DataDir, storageFile), opts)
		if err != nil {
			if errors.Is(err, bbolt.ErrInUse) {
				return nil, nil, fmt.Errorf("data dir in use: another coffer server has %s open", cfg.DataDir)
			}
			return nil, nil, explainOpenError(cfg.DataDir, err)
		}
		db, embedded = bb, bb
		if af != nil {
			af.SetJournal(bb.Journal)
		}
	}
	b, err := openBarrier(ctx, db, cfg, log)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return b, embedded, nil
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
