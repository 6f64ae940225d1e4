package bbolt

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// The write-ahead log (DIR/coffer.db.wal) is what makes a batch durable. bbolt writes every
// page a transaction changes, up to the root, at scattered places in the file, and the
// disk charges for each of those writes: committing every batch to the tree made the disk,
// not the processor, the bound of the write rate. So a batch's changes are appended to the
// log as one record, the log is fdatasynced, and only then are the batch's callers
// answered; the changes go to the tree later, many batches in one bbolt transaction (a
// checkpoint, see checkpoint in batch.go), and the log starts again from its beginning.
//
// A record: its payload's length (u32), a CRC-32C (Castagnoli) of what follows it (u32),
// the id of the bbolt transaction the log's records lie on (u64, the "base": the file's
// transaction when the log started again), the record's number from 1 (u64), then the
// payload: the batch's changes in order, each a byte (put or delete), the key's length
// (uvarint) and bytes, and for a put the value's length (uvarint) and bytes; before them,
// the lines given to DB.Journal since the last record (a byte, the length, the bytes).
//
// The log is overwritten in place from its start after each checkpoint, so behind the
// newest records lie older ones; the file only grows. Reading it (readWAL) takes the
// records from the start that lie on the file's own transaction, numbered 1, 2, 3 … and
// stops at the first that does not follow: an older record, zeros, or a record torn by a
// crash while it was written (its callers were not answered). Overwriting in place also
// means that, once the file has grown to its working size, an fdatasync flushes the
// record's pages and nothing else: appending would change the file's size, and the file
// system would commit its journal for it on every sync.

const (
	walHeaderSize = 24
	walPut        = 0
	walDelete     = 1
	walNote       = 2 // a line given to DB.Journal
)

// walSize is the length of log after which a checkpoint starts it again (checked before
// each batch; a batch is never split). It bounds what a crash makes a start read and
// replay, and the memory the overlay holds. A variable so that tests can make
// checkpoints frequent.
var walSize int64 = 16 << 20

var walTable = crc32.MakeTable(crc32.Castagnoli)

// wal is the open log of a writable DB. Only the committer touches it.
type wal struct {
	f    *os.File
	off  int64  // where the next record goes
	seq  uint64 // the last record's number; 0 right after a checkpoint
	base uint64 // the bbolt transaction the current records lie on
	buf  []byte // the record being built, kept between batches
}

// walPath is the log of the database file at path.
func walPath(path string) string { return path + ".wal" }

// openWAL opens (or creates) the log of the database file at path for writing and
// returns it with the changes of its records that lie on transaction base, in order. A
// new file's directory is synced, so that the log is there after a crash.
func openWAL(path string, base uint64) (*wal, walContents, error) {
	name := walPath(path)
	_, statErr := os.Stat(name)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, walContents{}, fmt.Errorf("bbolt: open the write-ahead log: %w", err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		if err := syncDir(filepath.Dir(name)); err != nil {
			f.Close()
			return nil, walContents{}, fmt.Errorf("bbolt: create the write-ahead log: %w", err)
		}
	}
	c, end, seq, err := readWAL(f, base)
	if err != nil {
		f.Close()
		return nil, walContents{}, err
	}
	return &wal{f: f, off: end, seq: seq, base: base}, c, nil
}

// walContents is what a log's records hold, in order.
type walContents struct {
	items []item
	notes [][]byte
}

// readWALFile returns the changes the log of the database file at path holds on top of
// transaction base, for a DB opened read-only; none when there is no log.
func readWALFile(path string, base uint64) (walContents, error) {
	f, err := os.Open(walPath(path))
	if errors.Is(err, os.ErrNotExist) {
		return walContents{}, nil
	}
	if err != nil {
		return walContents{}, fmt.Errorf("bbolt: open the write-ahead log: %w", err)
	}
	defer f.Close()
	c, _, _, err := readWAL(f, base)
	return c, err
}

// readWAL reads the records of f that lie on transaction base (see the top of this file)
// and returns their changes in order, where the next record goes, and the last record's
// number. A log whose first record lies on a later transaction than base belongs to a
// newer state of the database file than this one: that is an error wrapping [ErrStale].
// A record that does not check followed by one that does is damage, not a torn end: an
// error wrapping [ErrCorrupt].
func readWAL(f *os.File, base uint64) (c walContents, end int64, seq uint64, err error) {
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		rec, n, ok := readRecord(r)
		if !ok || rec.base != base || rec.seq != seq+1 {
			if seq == 0 && ok && rec.base > base {
				return walContents{}, 0, 0, fmt.Errorf("%w: the write-ahead log %s continues transaction %d, but the database file holds transaction %d", ErrStale, f.Name(), rec.base, base)
			}
			if seq > 0 && !ok && n > 0 {
				if err := checkTornEnd(f, end+int64(n), base, seq+1); err != nil {
					return walContents{}, 0, 0, err
				}
			}
			return c, end, seq, nil
		}
		c.items = append(c.items, rec.items...)
		c.notes = append(c.notes, rec.notes...)
		end += int64(n)
		seq = rec.seq
	}
}

// checkTornEnd is called when the record at the end of the log's valid records does not
// check: a crash while it was written (its callers were never answered) leaves the log
// ending there, so no record numbered next may follow where its header says it ends.
func checkTornEnd(f *os.File, after int64, base, next uint64) error {
	if _, err := f.Seek(after, io.SeekStart); err != nil {
		return nil
	}
	rec, _, ok := readRecord(bufio.NewReader(f))
	if ok && rec.base == base && rec.seq == next+1 {
		return fmt.Errorf("%w: record %d of the write-ahead log %s is damaged, and records after it are whole: acknowledged writes would be lost", ErrCorrupt, next, f.Name())
	}
	return nil
}

// DiscardStaleWAL empties the write-ahead log of the database file at path when its
// records continue a later transaction than txid, the file's: for a file accepted as it
// is although older than what was acknowledged (coffer check --accept-stale-database),
// whose start would otherwise refuse the log. The file's lock must be held.
func DiscardStaleWAL(path string, txid uint64) error {
	f, err := os.OpenFile(walPath(path), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if _, _, _, err := readWAL(f, txid); !errors.Is(err, ErrStale) {
		return nil
	}
	w := &wal{f: f}
	return w.empty()
}

type walRecord struct {
	base, seq uint64
	items     []item
	notes     [][]byte
}

// readRecord reads one record. n is the length its header claims (header included), or
// 0 when not even a header could be read; ok reports a whole record whose checksum and
// payload check.
func readRecord(r *bufio.Reader) (rec walRecord, n int, ok bool) {
	var h [walHeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return rec, 0, false
	}
	size := binary.LittleEndian.Uint32(h[0:])
	if size == 0 || int64(size) > 1<<31 {
		return rec, 0, false
	}
	n = walHeaderSize + int(size)
	body := make([]byte, 16+int(size))
	copy(body, h[8:])
	if _, err := io.ReadFull(r, body[16:]); err != nil {
		return rec, n, false
	}
	if crc32.Checksum(body, walTable) != binary.LittleEndian.Uint32(h[4:]) {
		return rec, n, false
	}
	rec.base = binary.LittleEndian.Uint64(body[0:])
	rec.seq = binary.LittleEndian.Uint64(body[8:])
	items, notes, err := decodeChanges(body[16:])
	if err != nil {
		return rec, n, false
	}
	rec.items, rec.notes = items, notes
	return rec, n, true
}

// decodeChanges decodes a record's payload. The values and notes point into p.
func decodeChanges(p []byte) (items []item, notes [][]byte, err error) {
	for len(p) > 0 {
		op := p[0]
		p = p[1:]
		k, rest, err := lengthPrefixed(p)
		if err != nil {
			return nil, nil, err
		}
		p = rest
		if op == walNote {
			notes = append(notes, k)
			continue
		}
		it := item{key: string(k)}
		switch op {
		case walDelete:
			it.del = true
		case walPut:
			if it.val, p, err = lengthPrefixed(p); err != nil {
				return nil, nil, err
			}
		default:
			return nil, nil, fmt.Errorf("unknown change %d", op)
		}
		items = append(items, it)
	}
	return items, notes, nil
}

func lengthPrefixed(p []byte) (field, rest []byte, err error) {
	l, n := binary.Uvarint(p)
	if n <= 0 || l > uint64(len(p)-n) {
		return nil, nil, errors.New("a length beyond the record")
	}
	return p[n : n+int(l) : n+int(l)], p[n+int(l):], nil
}

// append writes the changes as the next record and flushes it: when it returns nil the
// changes survive a crash. A failed write leaves the log as it was (the next record goes
// to the same place, with the same number, over whatever this one left); see the
// committer for a failed flush.
func (w *wal) append(notes [][]byte, changes []undo) error {
	b := append(w.buf[:0], make([]byte, walHeaderSize)...)
	for _, n := range notes {
		b = append(b, walNote)
		b = binary.AppendUvarint(b, uint64(len(n)))
		b = append(b, n...)
	}
	for _, c := range changes {
		if c.now.del {
			b = append(b, walDelete)
			b = binary.AppendUvarint(b, uint64(len(c.now.key)))
			b = append(b, c.now.key...)
			continue
		}
		b = append(b, walPut)
		b = binary.AppendUvarint(b, uint64(len(c.now.key)))
		b = append(b, c.now.key...)
		b = binary.AppendUvarint(b, uint64(len(c.now.val)))
		b = append(b, c.now.val...)
	}
	binary.LittleEndian.PutUint32(b[0:], uint32(len(b)-walHeaderSize))
	binary.LittleEndian.PutUint64(b[8:], w.base)
	binary.LittleEndian.PutUint64(b[16:], w.seq+1)
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(b[8:], walTable))
	w.buf = b
	if _, err := w.f.WriteAt(b, w.off); err != nil {
		return fmt.Errorf("bbolt: write the write-ahead log: %w", err)
	}
	if err := fdatasync(w.f); err != nil {
		return fmt.Errorf("%w: %w", errUnflushed, err)
	}
	w.off += int64(len(b))
	w.seq++
	if cap(w.buf) > 4<<20 {
		w.buf = nil // a huge batch's buffer is not kept
	}
	return nil
}

// errUnflushed wraps the error of a record written but not flushed: whether it is on
// disk, and so whether a start after a crash replays it, is unknown.
var errUnflushed = errors.New("bbolt: the write-ahead log was written but could not be flushed")

// restart makes the log start again from its beginning, on transaction base: every
// record so far is in the database file.
func (w *wal) restart(base uint64) { w.off, w.seq, w.base = 0, 0, base }

// empty truncates the log to nothing, for a database file that replaces the one its
// records lie on (every record is in that one).
func (w *wal) empty() error {
	if err := w.f.Truncate(0); err != nil {
		return fmt.Errorf("empty the write-ahead log: %w", err)
	}
	if err := fdatasync(w.f); err != nil {
		return fmt.Errorf("empty the write-ahead log: %w", err)
	}
	w.restart(w.base)
	return nil
}

func (w *wal) close() error { return w.f.Close() }
