package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/time/rate"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/bbolt"
	"github.com/coffer/coffer/internal/storage/postgres"
	"github.com/coffer/coffer/internal/storage/snapfile"
)

// Online snapshots (coffer snapshot save / restore). A snapshot is every key of the
// storage with its value as stored, read below the barrier from one consistent view
// (storage.Snapshotter) while the server keeps serving, and written in the portable
// format of storage/snapfile. Values stay sealed — the keyring too, by the KEK — so a
// snapshot is no more readable than the storage it came from, and it is useless without
// the master key. Restoring writes the same keys and bytes into an empty target (a new
// data dir, or an empty PostgreSQL database), like CopyStorage.

// lockedBackend hides the PostgreSQL backend's methods beyond storage.Backend: pass the
// snapshot through.
func (l lockedBackend) ReadSnapshot(ctx context.Context, fn func(string, []byte) error) error {
	s, ok := l.Backend.(storage.Snapshotter)
	if !ok {
		return errors.New("the storage cannot take an online snapshot")
	}
	return s.ReadSnapshot(ctx, fn)
}

// DefaultSnapshotRate is how fast GET /admin/snapshot streams unless the request says
// otherwise, in bytes a second: slow enough that the requests served meanwhile keep
// their latency on a small machine (the snapshot competes with them for CPU: reading,
// TLS), fast enough for a million objects in well under a minute. bench/snapshot
// measures both.
const DefaultSnapshotRate = 64 << 20

// WriteSnapshot streams a snapshot of the server's whole storage to w, at most bytesPerSecond bytes
// a second (0: as fast as it goes), and returns what its trailer says. It is what GET
// /admin/snapshot answers. Should it fail midway, w has received a file without its
// trailer, which no restore accepts.
func (s *Server) WriteSnapshot(ctx context.Context, w io.Writer, bytesPerSecond int64) (snapfile.Summary, error) {
	sn, ok := s.store.Snapshotter()
	if !ok {
		return snapfile.Summary{}, errors.New("the storage cannot take an online snapshot")
	}
	hdr := snapfile.Header{Source: "bbolt", Created: s.cfg.Clock.Now().UTC()}
	if s.cfg.postgres() {
		hdr.Source = "postgres"
	}
	if id, err := os.ReadFile(filepath.Join(s.cfg.DataDir, storageIDFile)); err == nil {
		hdr.StorageID = strings.TrimSpace(string(id))
	}
	if bytesPerSecond > 0 {
		w = &pacedWriter{ctx: ctx, w: w, lim: rate.NewLimiter(rate.Limit(bytesPerSecond), pacedBurst)}
	}
	sw, err := snapfile.NewWriter(w, hdr)
	if err != nil {
		return snapfile.Summary{}, err
	}
	if err := sn.ReadSnapshot(ctx, sw.Add); err != nil {
		return snapfile.Summary{}, err
	}
	return sw.Close()
}

// pacedBurst is the most a pacedWriter lets through at once: the snapshot writer's
// buffer (snapfile writes 256 KiB at a time).
const pacedBurst = 256 << 10

// pacedWriter holds writes to a rate: a snapshot is a bulk copy that must not crowd out
// the requests served meanwhile.
type pacedWriter struct {
	ctx context.Context
	w   io.Writer
	lim *rate.Limiter
}

func (p *pacedWriter) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		chunk := b[:min(len(b), pacedBurst)]
		if err := p.lim.WaitN(p.ctx, len(chunk)); err != nil {
			return n, err
		}
		m, err := p.w.Write(chunk)
		n += m
		if err != nil {
			return n, err
		}
		b = b[m:]
	}
	return n, nil
}

// RestoreTarget is where RestoreSnapshot writes: a data dir for the embedded store, or a
// PostgreSQL database.
type RestoreTarget struct {
	DataDir string // DIR: DIR/coffer.db is created
	DSN     string // postgres://…: an empty database
}

// RestoreResult is what RestoreSnapshot did.
type RestoreResult struct {
	Header  snapfile.Header
	Records int64
	Target  string // the file or the database written
}

// Restore batches: as CopyStorage's for PostgreSQL; larger for bbolt, where each one is
// a commit and an fsync of a file nobody else has open yet.
const (
	restoreBboltKeys  = 20000
	restoreBboltBytes = 32 << 20
)

// RestoreSnapshot writes the snapshot file into an empty target, offline, and returns what
// it wrote. The file is read twice: first checked whole (count, order, SHA-256: a damaged
// or truncated file is refused before anything is written), then written, and the target
// is read back and compared (key count and a SHA-256 over every key and value).
//
// A data dir gets DIR/coffer.db through a temporary file, linked into place only once it
// is complete and checked (never over an existing file), and a txid record naming the
// restored file's last transaction; a failure leaves DIR without coffer.db. On
// PostgreSQL the keyring and meta/* are written last, as CopyStorage does, and a failure
// deletes what was written.
//
// The master key is not in the snapshot: start the restored storage with the key the
// source ran with (DIR/master.key or COFFER_MASTER_KEY).
func RestoreSnapshot(ctx context.Context, file string, to RestoreTarget) (RestoreResult, error) {
	if (to.DataDir == "") == (to.DSN == "") {
		return RestoreResult{}, errors.New("restore into one target: a data dir or a postgres:// URL")
	}
	if to.DSN != "" && !(&Config{Storage: to.DSN}).postgres() {
		return RestoreResult{}, errors.New("--storage: expected a postgres:// URL")
	}
	hdr, sum, err := checkSnapshotFile(file)
	if err != nil {
		return RestoreResult{}, err
	}
	res := RestoreResult{Header: hdr, Records: sum.Records}
	if to.DataDir != "" {
		res.Target = filepath.Join(to.DataDir, storageFile)
		return res, restoreToDir(ctx, file, sum, to.DataDir)
	}
	res.Target = "PostgreSQL"
	return res, restoreToPostgres(ctx, file, sum, to.DSN)
}

// CheckSnapshot reads a whole snapshot file and returns its header and trailer when it is
// sound: what `coffer snapshot save` checks before it keeps a file.
func CheckSnapshot(file string) (snapfile.Header, snapfile.Summary, error) {
	return checkSnapshotFile(file)
}

// checkSnapshotFile is the first pass: the file is whole and holds a keyring.
func checkSnapshotFile(file string) (snapfile.Header, snapfile.Summary, error) {
	f, err := os.Open(file)
	if err != nil {
		return snapfile.Header{}, snapfile.Summary{}, err
	}
	defer f.Close()
	r, err := snapfile.NewReader(f)
	if err != nil {
		return snapfile.Header{}, snapfile.Summary{}, fmt.Errorf("%s: %w", file, err)
	}
	keyring := false
	for {
		k, _, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return snapfile.Header{}, snapfile.Summary{}, fmt.Errorf("%s: %w", file, err)
		}
		keyring = keyring || k == "barrier/keyring"
	}
	if !keyring {
		return snapfile.Header{}, snapfile.Summary{}, fmt.Errorf("%s holds no keyring (barrier/keyring): it is not a snapshot of a Coffer deployment", file)
	}
	return r.Header(), r.Summary(), nil
}

// snapshotEntries is the second pass: it reads the file again, hands every record to put
// (the keyring and meta/* last, as CopyStorage writes them), and returns the digest of
// what it read. The file must be the one the first pass checked.
func snapshotEntries(file string, want snapfile.Summary, put func(storage.Entry) error) (*copyDigest, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := snapfile.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	sum := newCopyDigest()
	var last []storage.Entry
	for {
		k, v, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s changed while it was restored: %w", file, err)
		}
		e := storage.Entry{Key: k, Value: bytes.Clone(v)}
		sum.add(e)
		if strings.HasPrefix(k, "barrier/") || strings.HasPrefix(k, "meta/") {
			last = append(last, e)
			continue
		}
		if err := put(e); err != nil {
			return nil, err
		}
	}
	if r.Summary() != want {
		return nil, fmt.Errorf("%s changed while it was restored", file)
	}
	for _, e := range last {
		if err := put(e); err != nil {
			return nil, err
		}
	}
	return sum, nil
}

// batcher gathers entries into Updates of at most maxKeys keys and maxBytes bytes.
type batcher struct {
	ctx               context.Context
	db                storage.Backend
	maxKeys, maxBytes int
	batch             []storage.Entry
	bytes             int
	n                 int
}

func (b *batcher) put(e storage.Entry) error {
	b.batch = append(b.batch, e)
	b.bytes += len(e.Key) + len(e.Value)
	if len(b.batch) >= b.maxKeys || b.bytes >= b.maxBytes {
		return b.flush()
	}
	return nil
}

func (b *batcher) flush() error {
	if len(b.batch) == 0 {
		return nil
	}
	err := b.db.Update(b.ctx, func(tx storage.Tx) error {
		for _, e := range b.batch {
			if err := tx.Put(e.Key, e.Value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write after %d keys: %w", b.n, err)
	}
	b.n += len(b.batch)
	b.batch, b.bytes = b.batch[:0], 0
	return nil
}

// readBack digests every key of db, as stored.
func readBack(ctx context.Context, db storage.Snapshotter) (*copyDigest, error) {
	sum := newCopyDigest()
	err := db.ReadSnapshot(ctx, func(k string, v []byte) error {
		sum.add(storage.Entry{Key: k, Value: v})
		return nil
	})
	return sum, err
}

// compare fails unless the target holds exactly what the snapshot did.
func compare(src, dst *copyDigest) error {
	if src.n != dst.n {
		return fmt.Errorf("verify the restore: the snapshot holds %d keys, the target %d", src.n, dst.n)
	}
	if !bytes.Equal(src.h.Sum(nil), dst.h.Sum(nil)) {
		return fmt.Errorf("verify the restore: %d keys on both sides, but their checksums differ", src.n)
	}
	return nil
}

// restoreToDir writes DIR/coffer.db (see RestoreSnapshot).
func restoreToDir(ctx context.Context, file string, want snapfile.Summary, dir string) (err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	final := filepath.Join(dir, storageFile)
	for _, name := range []string{storageFile, txidFile, storageIDFile} {
		if _, err := os.Lstat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: %s already holds %s: restore into a new, empty data dir (a master.key may be there already); a restore never replaces or merges into a deployment's storage", ErrTargetNotEmpty, dir, name)
		}
	}
	// As a first start does: a dir made by hand (0755 with the usual umask) that holds no
	// secret yet is made private, since it is about to hold the whole deployment.
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o077 != 0 && !holdsSecrets(dir) {
		if err := os.Chmod(dir, fi.Mode().Perm()&0o700); err != nil {
			return fmt.Errorf("data dir: make it private: %w", err)
		}
	}
	tmp := final + ".restoring"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	defer os.Remove(tmp) // after a success, only the link in DIR/coffer.db is left
	db, err := bbolt.Open(tmp, bbolt.Options{})
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			db.Close()
		}
	}()
	b := &batcher{ctx: ctx, db: db, maxKeys: restoreBboltKeys, maxBytes: restoreBboltBytes}
	src, err := snapshotEntries(file, want, b.put)
	if err == nil {
		err = b.flush()
	}
	if err != nil {
		return fmt.Errorf("restore into %s: %w", final, err)
	}
	dst, err := readBack(ctx, db)
	if err != nil {
		return fmt.Errorf("verify the restore: %w", err)
	}
	if err := compare(src, dst); err != nil {
		return err
	}
	txid, err := db.Txid()
	if err != nil {
		return err
	}
	closed = true
	if err := db.Close(); err != nil {
		return err
	}
	// A link, not a rename: it fails rather than replace a coffer.db that appeared meanwhile.
	if err := os.Link(tmp, final); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s appeared while the snapshot was restored", ErrTargetNotEmpty, final)
		}
		return err
	}
	// The record is renamed into dir and dir fsynced: the link above is durable with it.
	if err := bbolt.WriteTxidRecord(filepath.Join(dir, txidFile), txid); err != nil {
		return fmt.Errorf("write the txid record: %w", err)
	}
	return nil
}

// restoreToPostgres writes into an empty database (see RestoreSnapshot).
func restoreToPostgres(ctx context.Context, file string, want snapfile.Summary, dsn string) (err error) {
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		return err // postgres never puts the password in its errors
	}
	defer db.Close()
	if err := db.View(ctx, func(tx storage.Tx) error { return checkEmpty(tx, restoreNotEmpty) }); err != nil {
		return err
	}
	wrote := false
	defer func() {
		if err != nil && wrote {
			if cerr := emptyDatabase(context.WithoutCancel(ctx), db); cerr != nil {
				err = fmt.Errorf("%w\nremoving what was written failed too (%v): empty the database (DELETE FROM coffer_kv) before restoring again", err, cerr)
			} else {
				err = fmt.Errorf("%w\nwhat was written has been removed: the database is empty again", err)
			}
		}
	}()
	b := &batcher{ctx: ctx, db: db, maxKeys: copyBatchKeys, maxBytes: copyBatchBytes}
	first := true
	put := func(e storage.Entry) error {
		if first {
			first = false
			// Again inside the first transaction: a server may have started on it meanwhile.
			err := db.Update(ctx, func(tx storage.Tx) error {
				if err := checkEmpty(tx, restoreNotEmpty); err != nil {
					return err
				}
				return tx.Put(e.Key, e.Value)
			})
			if err == nil {
				wrote, b.n = true, 1
			}
			return err
		}
		return b.put(e)
	}
	src, err := snapshotEntries(file, want, put)
	if err == nil {
		err = b.flush()
	}
	if err != nil {
		return fmt.Errorf("restore into PostgreSQL: %w", err)
	}
	dst, err := readBack(ctx, db)
	if err != nil {
		return fmt.Errorf("verify the restore: %w", err)
	}
	return compare(src, dst)
}

// restoreNotEmpty is what RestoreSnapshot says of a PostgreSQL target that holds keys.
const restoreNotEmpty = "the PostgreSQL database holds Coffer data already: restore into an empty database (a new one, or a new schema named by search_path in the URL); a restore never replaces or merges into a deployment's storage"

// emptyDatabase deletes every key, in batches.
func emptyDatabase(ctx context.Context, db storage.Backend) error {
	for {
		var n int
		err := db.Update(ctx, func(tx storage.Tx) error {
			page, err := tx.Scan("", "", copyBatchKeys)
			n = len(page)
			for _, e := range page {
				if err := tx.Delete(e.Key); err != nil {
					return err
				}
			}
			return err
		})
		if err != nil || n == 0 {
			return err
		}
	}
}
