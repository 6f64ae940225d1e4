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
	"slices"
)

// The write-ahead log (DIR/coffer.db.wal and DIR/coffer.db.wal.1) is what makes a batch
// durable. bbolt writes every page a transaction changes, up to the root, at scattered
// places in the file, and the disk charges for each of those writes: committing every
// batch to the tree made the disk, not the processor, the bound of the write rate. So a
// batch's changes are appended to the log as one record, the log is fdatasynced, and only
// then are the batch's callers answered; the changes go to the tree later, many batches in
// one bbolt transaction (a checkpoint, see checkpoint.go).
//
// A record: its payload's length (u32), a CRC-32C (Castagnoli) of what follows it (u32),
// the id of the bbolt transaction its round lies on (u64, the "base"), the record's number
// in its round from 1 (u64), then the payload: the lines given to DB.Journal since the last
// record (a byte, the length, the bytes), then the batch's changes in order, each a byte
// (put or delete), the key's length (uvarint) and bytes, and for a put the value's length
// (uvarint) and bytes.
//
// The log is written in rounds, which alternate between its two files, each round from
// the start of its file. When a round has grown to walSize, the committer freezes it: the
// next round begins in the other file, on the transaction the checkpoint of the frozen
// round will commit (the file's transaction plus one: nothing else commits), while that
// checkpoint runs beside it; the frozen round's file is written again only once its
// checkpoint is in the file. So a round's base is the file's transaction when it began, or
// the one after; reading the log at a start (readRounds) takes, from each file, the records
// from its start that lie on the database file's transaction or on the one after,
// numbered 1, 2, 3 …, and stops at the first that does not follow: an older record, zeros,
// or a record torn by a crash while it was written (its callers were not answered).
//
// Each file is overwritten in place, so behind a round's records lie older ones, and the
// files only grow. Overwriting in place also means that, once a file has grown to its
// working size, an fdatasync flushes the record's pages and nothing else: appending would
// change the file's size, and the file system would commit its journal for it on every
// sync.

const (
	walHeaderSize = 24
	walPut        = 0
	walDelete     = 1
	walNote       = 2 // a line given to DB.Journal
)

// walSize is the length of a round after which it is frozen and checkpointed (checked
// before each batch; a batch is never split). It bounds what a crash makes a start read
// and replay (two rounds at most), and the memory the overlay holds. A variable so that
// tests can make checkpoints frequent.
var walSize int64 = 16 << 20

var walTable = crc32.MakeTable(crc32.Castagnoli)

// wal is the open log of a writable DB. Only the committer touches it.
type wal struct {
	files [2]*os.File
	cur   int    // the file the current round is written to
	off   int64  // where the next record goes
	seq   uint64 // the last record's number in the round; 0 at its start
	base  uint64 // the bbolt transaction the round lies on
	buf   []byte // the record being built, kept between batches
}

// walPaths are the two files of the log of the database file at path.
func walPaths(path string) [2]string { return [2]string{path + ".wal", path + ".wal.1"} }

// walContents is what a round's records hold, in order.
type walContents struct {
	items []item
	notes [][]byte
}

// walRound is a round of the log found at a start.
type walRound struct {
	walContents
	file int
	base uint64
	end  int64  // where its next record would go
	seq  uint64 // its last record's number
}

// openWAL opens (or creates) the log of the database file at path, whose transaction is
// txid, for writing, and returns it with its rounds (see readRounds); the current round is
// the last of them, or a new one on txid in the first file. A file it creates has its
// directory synced, so that it is there after a crash.
func openWAL(path string, txid uint64) (*wal, []walRound, error) {
	w := &wal{base: txid}
	for i, name := range walPaths(path) {
		_, statErr := os.Stat(name)
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
		if err == nil && errors.Is(statErr, os.ErrNotExist) {
			err = syncDir(filepath.Dir(name))
		}
		if err != nil {
			w.close()
			return nil, nil, fmt.Errorf("bbolt: open the write-ahead log: %w", err)
		}
		w.files[i] = f
	}
	rounds, err := readRounds(w.files, txid)
	if err == nil {
		err = checkRounds(rounds, txid, path)
	}
	if err != nil {
		w.close()
		return nil, nil, err
	}
	rounds = roundsOn(rounds, txid)
	if n := len(rounds); n > 0 {
		last := rounds[n-1]
		w.cur, w.off, w.seq, w.base = last.file, last.end, last.seq, last.base
	}
	return w, rounds, nil
}

// readWALFiles returns the rounds of the log of the database file at path that lie on
// txid or the one after, for a DB opened read-only; none when there is no log. A log
// that continues a later file is left to the txid record to tell (see DiscardStaleWAL).
func readWALFiles(path string, txid uint64) ([]walRound, error) {
	var files [2]*os.File
	for i, name := range walPaths(path) {
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("bbolt: open the write-ahead log: %w", err)
		}
		defer f.Close()
		files[i] = f
	}
	rounds, err := readRounds(files, txid)
	if err != nil {
		return nil, err
	}
	if _, stale := staleRound(rounds, txid); stale {
		return nil, nil
	}
	return roundsOn(rounds, txid), nil
}

// readRounds returns the round each file (nil: none) begins with, the base of its first
// record; the records of a round that lies on txid or the one after (the rounds a start
// on a file at txid replays) are read too: those from the file's start on that base,
// numbered from 1.
func readRounds(files [2]*os.File, txid uint64) ([]walRound, error) {
	var rounds []walRound
	for i, f := range files {
		if f == nil {
			continue
		}
		size, err := fileSize(f)
		if err != nil {
			return nil, err
		}
		first, _, ok := readRecord(bufio.NewReader(io.NewSectionReader(f, 0, size)), size)
		if !ok || first.seq != 1 {
			continue
		}
		r := walRound{file: i, base: first.base}
		if r.base == txid || r.base == txid+1 {
			if r.walContents, r.end, r.seq, err = readWAL(f, r.base); err != nil {
				return nil, err
			}
		}
		rounds = append(rounds, r)
	}
	return rounds, nil
}

func fileSize(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("bbolt: read the write-ahead log: %w", err)
	}
	return fi.Size(), nil
}

// checkRounds refuses rounds that continue a newer state of the database file than
// txid, its transaction: a round on a later transaction than the one after txid, or on
// the one after without the round on txid whose checkpoint it follows.
func checkRounds(rounds []walRound, txid uint64, path string) error {
	if r, ok := staleRound(rounds, txid); ok {
		return fmt.Errorf("%w: the write-ahead log %s continues transaction %d, but the database file holds transaction %d", ErrStale, walPaths(path)[r.file], r.base, txid)
	}
	if len(rounds) == 2 && rounds[0].base == rounds[1].base && rounds[0].base >= txid {
		return fmt.Errorf("%w: both files of the write-ahead log %s hold a round on transaction %d", ErrCorrupt, walPaths(path)[0], rounds[0].base)
	}
	return nil
}

// staleRound returns a round that continues a newer state of the file than txid (see
// checkRounds).
func staleRound(rounds []walRound, txid uint64) (walRound, bool) {
	hasBase := false
	for _, r := range rounds {
		hasBase = hasBase || r.base == txid
	}
	for _, r := range rounds {
		if r.base > txid+1 || (r.base == txid+1 && !hasBase) {
			return r, true
		}
	}
	return walRound{}, false
}

// roundsOn returns the rounds to replay on a file at transaction txid, in order: the one
// on txid, then the one begun on txid+1 while its checkpoint ran (which did not land).
func roundsOn(rounds []walRound, txid uint64) []walRound {
	var out []walRound
	for base := txid; base <= txid+1; base++ {
		for _, r := range rounds {
			if r.base == base {
				out = append(out, r)
			}
		}
	}
	return out
}

// readWAL reads the records from the start of f that lie on transaction base, numbered
// from 1, and returns their contents in order, where the next record goes, and the last
// record's number. A record that does not check followed by one that does is damage, not
// a torn end: an error wrapping [ErrCorrupt].
func readWAL(f *os.File, base uint64) (c walContents, end int64, seq uint64, err error) {
	size, err := fileSize(f)
	if err != nil {
		return walContents{}, 0, 0, err
	}
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, size), 1<<20)
	for {
		rec, n, ok := readRecord(r, size-end)
		if !ok || rec.base != base || rec.seq != seq+1 {
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

// checkTornEnd is called when the record at the end of a round's valid records does not
// check: a crash while it was written (its callers were never answered) leaves the round
// ending there, so no record numbered next may follow where its header says it ends.
func checkTornEnd(f *os.File, after int64, base, next uint64) error {
	size, err := fileSize(f)
	if err != nil || after >= size {
		return nil
	}
	rec, _, ok := readRecord(bufio.NewReader(io.NewSectionReader(f, after, size-after)), size-after)
	if ok && rec.base == base && rec.seq == next+1 {
		return fmt.Errorf("%w: record %d of the write-ahead log %s is damaged, and records after it are whole: acknowledged writes would be lost", ErrCorrupt, next, f.Name())
	}
	return nil
}

// DiscardStaleWAL empties the files of the write-ahead log of the database file at path
// whose rounds continue a later transaction than the one after txid, the file's: for a
// file accepted as it is although older than what was acknowledged (coffer check
// --accept-stale-database), whose start would otherwise refuse the log. The file's lock
// must be held.
func DiscardStaleWAL(path string, txid uint64) error {
	var files [2]*os.File
	for i, name := range walPaths(path) {
		f, err := os.OpenFile(name, os.O_RDWR, 0)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		defer f.Close()
		files[i] = f
	}
	rounds, err := readRounds(files, txid)
	if err != nil {
		return err
	}
	for {
		r, ok := staleRound(rounds, txid)
		if !ok {
			return nil
		}
		if err := emptyFile(files[r.file]); err != nil {
			return err
		}
		rounds = slices.DeleteFunc(rounds, func(o walRound) bool { return o.file == r.file })
	}
}

// emptyFile truncates f to nothing, durably.
func emptyFile(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("empty the write-ahead log: %w", err)
	}
	if err := fdatasync(f); err != nil {
		return fmt.Errorf("empty the write-ahead log: %w", err)
	}
	return nil
}

type walRecord struct {
	base, seq uint64
	items     []item
	notes     [][]byte
}

// readRecord reads one record from r, which holds max bytes more. n is the length its
// header claims (header included), or 0 when not even a plausible header could be read
// (a length beyond what r holds is not a record's); ok reports a whole record whose
// checksum and payload check.
func readRecord(r *bufio.Reader, max int64) (rec walRecord, n int, ok bool) {
	var h [walHeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return rec, 0, false
	}
	size := binary.LittleEndian.Uint32(h[0:])
	if size == 0 || walHeaderSize+int64(size) > max {
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

// append writes the changes as the next record of the current round and flushes it:
// when it returns nil the changes survive a crash. A failed write leaves the log as it
// was (the next record goes to the same place, with the same number, over whatever this
// one left); see the committer for a failed flush.
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
	f := w.files[w.cur]
	if _, err := f.WriteAt(b, w.off); err != nil {
		return fmt.Errorf("bbolt: write the write-ahead log: %w", err)
	}
	if err := flushLog(f); err != nil {
		return fmt.Errorf("%w: %w", errUnflushed, err)
	}
	w.off += int64(len(b))
	w.seq++
	if cap(w.buf) > 4<<20 {
		w.buf = nil // a huge batch's buffer is not kept
	}
	return nil
}

// flushLog flushes a record of the log: fdatasync; a variable so that a test can make
// it fail.
var flushLog = fdatasync

// errUnflushed wraps the error of a record written but not flushed: whether it is on
// disk, and so whether a start after a crash replays it, is unknown.
var errUnflushed = errors.New("bbolt: the write-ahead log was written but could not be flushed")

// next begins a new round, in the other file, on transaction base. The other file's
// records lie on an older transaction than base (its round was checkpointed, or is the
// frozen one, whose checkpoint commits base), so none of them continues the new round.
func (w *wal) next(base uint64) { w.cur, w.off, w.seq, w.base = 1-w.cur, 0, 0, base }

// invalidate ends the current round at its first record (its header zeroed, durably):
// for a round whose records the file holds although they lie on its transaction.
func (w *wal) invalidate() error {
	f := w.files[w.cur]
	if _, err := f.WriteAt(make([]byte, walHeaderSize), 0); err != nil {
		return fmt.Errorf("bbolt: end a round of the write-ahead log: %w", err)
	}
	if err := fdatasync(f); err != nil {
		return fmt.Errorf("bbolt: end a round of the write-ahead log: %w", err)
	}
	return nil
}

// empty truncates both files to nothing, for a database file that replaces the one their
// rounds lie on (every record is in that one).
func (w *wal) empty() error {
	for _, f := range w.files {
		if err := emptyFile(f); err != nil {
			return err
		}
	}
	w.cur, w.off, w.seq = 0, 0, 0
	return nil
}

func (w *wal) close() error {
	var first error
	for _, f := range w.files {
		if f == nil {
			continue
		}
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
