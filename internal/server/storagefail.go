package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/coffer/coffer/internal/barrier"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/bbolt"
)

// txidFile is the txid record beside the embedded store (see bbolt's txid.go): the last
// transaction committed and acknowledged, so that a start can tell a coffer.db older than
// that (a damaged newest meta page, a file replaced or restored) and refuse it.
const txidFile = storageFile + ".txid"

// embeddedOptions are the options the embedded store of data dir dir is opened with: the
// txid record beside it, and the committer's log (a full disk, and its end).
func embeddedOptions(dir string, log *slog.Logger) bbolt.Options {
	return bbolt.Options{Log: log, TxidFile: filepath.Join(dir, txidFile)}
}

// openError is an error the person starting Coffer reads: what happened, then (after a
// newline, which the CLI shows as hints) what to do; it wraps the cause.
type openError struct {
	msg   string
	cause error
}

func (e *openError) Error() string { return e.msg }
func (e *openError) Unwrap() error { return e.cause }

// explainOpenError turns the embedded store's refusal to open into what happened and what
// to do; other errors pass as they are.
func explainOpenError(dataDir string, err error) error {
	db := filepath.Join(dataDir, storageFile)
	rec := filepath.Join(dataDir, txidFile)
	check := "coffer check --data-dir " + dataDir
	var se *bbolt.StaleError
	var ce *bbolt.CorruptError
	switch {
	case errors.As(err, &se) && se.Missing:
		return &openError{cause: err, msg: fmt.Sprintf(
			"%s is missing, but %s shows that transaction %d was committed to a database there: it was moved or deleted, and Coffer does not start on a new, empty one in its place\n"+
				"put the file back, or restore it from a backup (then run `%s`)\n"+
				"to start afresh with an empty database instead, delete %s too",
			db, rec, se.Recorded, check, rec)}
	case errors.As(err, &se):
		why := "it was replaced by an older copy, or restored from a backup"
		if len(se.Meta) > 0 {
			why = fmt.Sprintf("its newest meta page (page %d) is damaged, so the file falls back to the transaction before", se.Meta[0].Page)
		}
		return &openError{cause: err, msg: fmt.Sprintf(
			"%s is older than the last write this server acknowledged: it holds transaction %d, but transaction %d was committed (recorded in %s); %s. Serving it would silently lose acknowledged writes, so Coffer does not start\n"+
				"restore %s from a backup taken after that write, or put back the file it replaced; `%s` shows what the file holds and whatever else is wrong with it\n"+
				"to serve the file as it is anyway (a backup restored on purpose), run `%s --accept-stale-database`, then start again",
			db, se.Found, se.Recorded, rec, why, db, check, check)}
	case errors.Is(err, bbolt.ErrTxidRecord):
		return &openError{cause: err, msg: fmt.Sprintf(
			"%s is damaged (%v), so Coffer cannot tell whether %s holds every acknowledged write, and does not start\n"+
				"run `%s`; if it finds nothing wrong, `%s --accept-stale-database` records the database's current transaction, and the next start goes on",
			rec, err, db, check, check)}
	case errors.As(err, &ce):
		what := "bbolt failed on it: " + ce.Panic
		if ce.Report != nil {
			var ps []string
			for i, p := range ce.Report.Problems {
				if i == 3 {
					ps = append(ps, fmt.Sprintf("and %d more", len(ce.Report.Problems)-3))
					break
				}
				ps = append(ps, p.String())
			}
			what = strings.Join(ps, "; ")
		}
		return &openError{cause: err, msg: fmt.Sprintf(
			"%s is damaged: %s. Coffer does not start on a damaged database\n"+
				"with the server stopped, run `%s` to list every problem and what it affects, then restore %s from a backup",
			db, what, check, db)}
	}
	return err
}

// maxUnopenableLogged bounds the log lines of reportUnopenable; a summary counts the rest.
const maxUnopenableLogged = 10

// reportUnopenable reads each suspect key (one whose stored bytes did not open as the
// background check read them, see storagecheck.go) through the barrier, and logs each that
// still does not open: a byte changed in a value or in its key (the barrier seals each value
// with its key, so a key that changed no longer opens its value). Nothing else would say
// so — the object would answer 404, or a list would fail. It does not stop the server (the
// rest is served); `coffer check` says more. PostgreSQL is left alone (several servers
// share it, and it has its own integrity).
func reportUnopenable(ctx context.Context, b *barrier.Barrier, suspects []string, log *slog.Logger) {
	bad := 0
	err := b.View(ctx, func(tx storage.Tx) error {
		for _, k := range suspects {
			if _, err := tx.Get(k); err != nil && !errors.Is(err, storage.ErrNotFound) {
				if bad++; bad <= maxUnopenableLogged {
					log.Error("a stored value does not open under the keyring: it, or its key, is damaged, and what it holds answers as missing; with the server stopped, run coffer check to see what it affects", "key", k, "err", err)
				}
			}
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		log.Error("the check of the stored values stopped", "err", err)
	}
	if bad > maxUnopenableLogged {
		log.Error("more stored values do not open under the keyring; coffer check lists them all", "count", bad)
	}
}
