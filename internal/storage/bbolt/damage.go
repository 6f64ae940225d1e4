package bbolt

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrCorrupt is wrapped by the error of [Open] (a *[CorruptError]) when the file's
	// structure is damaged, or bbolt failed on it.
	ErrCorrupt = errors.New("bbolt: database file is damaged")
	// ErrStale is wrapped by the error of [Open] (a *[StaleError]) when the file holds an
	// older transaction than the txid record names: committed writes are not in it.
	ErrStale = errors.New("bbolt: database file is older than the last committed transaction")
	// ErrTxidRecord is wrapped when the txid record exists but names no transaction.
	ErrTxidRecord = errors.New("bbolt: the txid record is damaged")
)

// CorruptError is [Open]'s error for a damaged file: what [Verify] found, or the panic
// bbolt raised on it.
type CorruptError struct {
	Path   string
	Report *Report // nil when bbolt itself failed (Panic)
	Panic  string
}

func (e *CorruptError) Error() string {
	if e.Report == nil {
		return fmt.Sprintf("bbolt: %s is damaged: bbolt failed on it: %s", e.Path, e.Panic)
	}
	const show = 3
	var b strings.Builder
	n := len(e.Report.Problems)
	fmt.Fprintf(&b, "bbolt: %s is damaged (%d %s): ", e.Path, n, plural(n, "problem", "problems"))
	for i, p := range e.Report.Problems {
		if i == show {
			fmt.Fprintf(&b, "; and %d more", len(e.Report.Problems)-show)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// StaleError is [Open]'s error for a file older than its txid record: the record names a
// transaction the file does not hold.
type StaleError struct {
	Path, TxidFile string
	Recorded       uint64 // the last transaction committed and acknowledged
	Found          uint64 // the transaction the file holds
	Missing        bool   // there is no file at all
	// Meta holds the problems of the meta pages, when one does not validate: the usual
	// cause of a file one transaction behind.
	Meta []Problem
}

func (e *StaleError) Error() string {
	if e.Missing {
		return fmt.Sprintf("bbolt: %s does not exist, but %s records that transaction %d was committed to it", e.Path, e.TxidFile, e.Recorded)
	}
	s := fmt.Sprintf("bbolt: %s holds transaction %d, older than transaction %d, the last one committed (recorded in %s)", e.Path, e.Found, e.Recorded, e.TxidFile)
	for _, p := range e.Meta {
		s += "; " + p.Text
	}
	return s
}

func (e *StaleError) Unwrap() error { return ErrStale }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
