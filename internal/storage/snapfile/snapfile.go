// Package snapfile is the file format of an online snapshot (coffer snapshot save and
// restore): every key and value of a deployment's storage, as stored — still sealed by
// the barrier — in a form that no backend owns, so that a snapshot of bbolt restores onto
// PostgreSQL and back. It knows bytes only: it imports no Coffer package, and reads and
// writes as a stream, one record at a time, never a whole store in memory.
//
// # Layout
//
//	magic    16 bytes  "coffer-snapshot\x00"
//	version   2 bytes  big endian, [Version]
//	hlen      4 bytes  big endian, length of the header JSON (at most 64 KiB)
//	header   hlen      JSON: [Header]
//	records  'R' | uvarint len(key) | key | uvarint len(value) | value, in key order
//	trailer  'E' | 8 bytes big endian record count | 32 bytes SHA-256
//
// The SHA-256 covers every byte before it, from the magic through the record count. A
// file ends right after its trailer. [Reader] refuses a file whose trailer is missing
// (truncated: a server that failed midway sends none), whose count or checksum does not
// match what it read, whose records are out of order, or that goes on after the trailer.
//
// The checksum tells damage, not forgery: whoever can write the file can recompute it.
// The values themselves are sealed by the barrier with their storage key as additional
// data, so an altered or moved value does not open; a record removed with the checksum
// recomputed is not detected.
package snapfile

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"
)

// Version is the format version this package writes and the newest it reads.
const Version = 1

const (
	magic      = "coffer-snapshot\x00"
	tagRecord  = 'R'
	tagEnd     = 'E'
	maxHeader  = 64 << 10
	maxKey     = 64 << 10
	maxValue   = 256 << 20
	bufferSize = 256 << 10
)

// ErrDamaged is wrapped by every error of a [Reader] about the file's content (rather
// than about reading it): it is not a whole, unaltered snapshot.
var ErrDamaged = errors.New("not a whole, unaltered Coffer snapshot")

// Header says where and when a snapshot was taken. It is informative: restoring needs
// none of it.
type Header struct {
	// Created is when the snapshot's transaction began, by the server's clock.
	Created time.Time `json:"created"`
	// Source is the backend it was read from: "bbolt" or "postgres".
	Source string `json:"source"`
	// StorageID is the deployment's storage id (meta/storage-id), when it has one.
	StorageID string `json:"storageId,omitempty"`
}

// Summary is what a trailer holds: the number of records and the SHA-256 of the file
// before it.
type Summary struct {
	Records int64
	SHA256  [sha256.Size]byte
}

// Writer writes a snapshot to an io.Writer: [NewWriter], then [Writer.Add] for every key
// in ascending byte order, then [Writer.Close]. A Writer not closed leaves a file without
// its trailer, which every Reader refuses.
type Writer struct {
	bw   *bufio.Writer
	h    hash.Hash
	n    int64
	last string
	err  error
	tmp  [binary.MaxVarintLen64]byte
}

// NewWriter writes the magic, version and header to w and returns the Writer for the
// records. Writes to w are buffered; Close flushes them.
func NewWriter(w io.Writer, hdr Header) (*Writer, error) {
	hj, err := json.Marshal(hdr)
	if err != nil {
		return nil, fmt.Errorf("snapshot header: %w", err)
	}
	sw := &Writer{h: sha256.New()}
	sw.bw = bufio.NewWriterSize(io.MultiWriter(w, sw.h), bufferSize)
	var pre [6]byte
	binary.BigEndian.PutUint16(pre[:2], Version)
	binary.BigEndian.PutUint32(pre[2:], uint32(len(hj)))
	sw.write([]byte(magic))
	sw.write(pre[:])
	sw.write(hj)
	return sw, sw.err
}

func (w *Writer) write(b []byte) {
	if w.err == nil {
		_, w.err = w.bw.Write(b)
	}
}

func (w *Writer) uvarint(n int) {
	w.write(w.tmp[:binary.PutUvarint(w.tmp[:], uint64(n))])
}

// Add writes one record. Keys must come in strictly ascending byte order, as a
// [storage.Snapshotter] hands them out.
func (w *Writer) Add(key string, value []byte) error {
	if w.err != nil {
		return w.err
	}
	switch {
	case w.n > 0 && key <= w.last:
		return fmt.Errorf("snapshot: key %q after %q: keys must ascend", key, w.last)
	case len(key) > maxKey:
		return fmt.Errorf("snapshot: key of %d bytes, more than %d", len(key), maxKey)
	case len(value) > maxValue:
		return fmt.Errorf("snapshot: value at %q of %d bytes, more than %d", key, len(value), maxValue)
	}
	w.write([]byte{tagRecord})
	w.uvarint(len(key))
	if w.err == nil {
		_, w.err = w.bw.WriteString(key)
	}
	w.uvarint(len(value))
	w.write(value)
	w.n++
	w.last = key
	return w.err
}

// Close writes the trailer and flushes, and returns what the trailer says. The Writer
// cannot be used afterwards.
func (w *Writer) Close() (Summary, error) {
	var end [9]byte
	end[0] = tagEnd
	binary.BigEndian.PutUint64(end[1:], uint64(w.n))
	w.write(end[:])
	if w.err == nil {
		w.err = w.bw.Flush() // everything before the sum has reached the hash
	}
	if w.err != nil {
		return Summary{}, w.err
	}
	s := Summary{Records: w.n}
	copy(s.SHA256[:], w.h.Sum(nil))
	w.write(s.SHA256[:]) // it feeds the hash too, which is no longer read
	if w.err == nil {
		w.err = w.bw.Flush()
	}
	if w.err != nil {
		return Summary{}, w.err
	}
	w.err = errors.New("snapshot: writer closed")
	return s, nil
}

// Reader reads a snapshot: [NewReader] checks the magic and version and reads the header;
// [Reader.Next] returns one record at a time and, at the end, checks the trailer.
type Reader struct {
	br   *bufio.Reader
	h    hash.Hash
	hdr  Header
	n    int64
	last []byte
	key  []byte
	val  []byte
	sum  Summary
	done bool
}

func damaged(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrDamaged}, args...)...)
}

// NewReader reads the start of a snapshot from r.
func NewReader(r io.Reader) (*Reader, error) {
	sr := &Reader{br: bufio.NewReaderSize(r, bufferSize), h: sha256.New()}
	var pre [len(magic) + 6]byte
	if err := sr.full(pre[:]); err != nil {
		return nil, sr.short(err, "its start")
	}
	if string(pre[:len(magic)]) != magic {
		return nil, damaged("the file does not start as a Coffer snapshot does")
	}
	if v := binary.BigEndian.Uint16(pre[len(magic):]); v == 0 || v > Version {
		return nil, fmt.Errorf("the snapshot has format version %d; this coffer reads up to %d: use a newer coffer", v, Version)
	}
	hlen := binary.BigEndian.Uint32(pre[len(magic)+2:])
	if hlen > maxHeader {
		return nil, damaged("its header claims %d bytes", hlen)
	}
	hj := make([]byte, hlen)
	if err := sr.full(hj); err != nil {
		return nil, sr.short(err, "its header")
	}
	if err := json.Unmarshal(hj, &sr.hdr); err != nil {
		return nil, damaged("its header is not JSON: %v", err)
	}
	return sr, nil
}

// full reads len(b) bytes into b and hashes them.
func (r *Reader) full(b []byte) error {
	if _, err := io.ReadFull(r.br, b); err != nil {
		return err
	}
	r.h.Write(b)
	return nil
}

// short turns a read error into what it means: the file ends too soon, or reading failed.
func (r *Reader) short(err error, where string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return damaged("it ends in %s after %d records, without its trailer: the snapshot is truncated (or its save failed midway)", where, r.n)
	}
	return fmt.Errorf("read the snapshot: %w", err)
}

func (r *Reader) uvarint(limit int, what string) (int, error) {
	var buf [binary.MaxVarintLen64]byte
	for i := range buf {
		c, err := r.br.ReadByte()
		if err != nil {
			return 0, r.short(err, "record "+fmt.Sprint(r.n+1))
		}
		buf[i] = c
		if c < 0x80 {
			r.h.Write(buf[:i+1])
			n, k := binary.Uvarint(buf[:i+1])
			if k <= 0 || n > uint64(limit) {
				return 0, damaged("record %d claims a %s of %d bytes", r.n+1, what, n)
			}
			return int(n), nil
		}
	}
	return 0, damaged("record %d has a malformed %s length", r.n+1, what)
}

// Header is the snapshot's header.
func (r *Reader) Header() Header { return r.hdr }

// Next returns the next record. key and value are valid until the next call. After the
// last record it checks the trailer and returns io.EOF when the whole file is sound, or
// an error wrapping [ErrDamaged].
func (r *Reader) Next() (key string, value []byte, err error) {
	if r.done {
		return "", nil, io.EOF
	}
	var tag [1]byte
	if err := r.full(tag[:]); err != nil {
		return "", nil, r.short(err, "record "+fmt.Sprint(r.n+1))
	}
	switch tag[0] {
	case tagRecord:
	case tagEnd:
		return "", nil, r.end()
	default:
		return "", nil, damaged("record %d does not start with a record tag", r.n+1)
	}
	kl, err := r.uvarint(maxKey, "key")
	if err != nil {
		return "", nil, err
	}
	r.key = grow(r.key, kl)
	if err := r.full(r.key); err != nil {
		return "", nil, r.short(err, "record "+fmt.Sprint(r.n+1))
	}
	if r.n > 0 && string(r.key) <= string(r.last) {
		return "", nil, damaged("record %d's key %q does not come after %q", r.n+1, r.key, r.last)
	}
	vl, err := r.uvarint(maxValue, "value")
	if err != nil {
		return "", nil, err
	}
	r.val = grow(r.val, vl)
	if err := r.full(r.val); err != nil {
		return "", nil, r.short(err, "record "+fmt.Sprint(r.n+1))
	}
	r.n++
	r.last = append(r.last[:0], r.key...)
	return string(r.key), r.val, nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// end checks the trailer after its tag.
func (r *Reader) end() error {
	var cnt [8]byte
	if err := r.full(cnt[:]); err != nil {
		return r.short(err, "its trailer")
	}
	want := r.h.Sum(nil)
	var sum [sha256.Size]byte
	if _, err := io.ReadFull(r.br, sum[:]); err != nil {
		return r.short(err, "its trailer")
	}
	if n := binary.BigEndian.Uint64(cnt[:]); n != uint64(r.n) {
		return damaged("its trailer counts %d records, the file holds %d", n, r.n)
	}
	if string(sum[:]) != string(want) {
		return damaged("its SHA-256 does not match its content")
	}
	if _, err := r.br.ReadByte(); err == nil {
		return damaged("it goes on after its trailer")
	} else if !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the snapshot: %w", err)
	}
	r.done = true
	r.sum = Summary{Records: r.n, SHA256: sum}
	return io.EOF
}

// Summary is the verified trailer, once Next has returned io.EOF.
func (r *Reader) Summary() Summary { return r.sum }

// Verify reads a whole snapshot from rd and returns its header and trailer when it is
// sound, else an error (wrapping [ErrDamaged] when the content is at fault).
func Verify(rd io.Reader) (Header, Summary, error) {
	r, err := NewReader(rd)
	if err != nil {
		return Header{}, Summary{}, err
	}
	for {
		if _, _, err := r.Next(); errors.Is(err, io.EOF) {
			return r.hdr, r.sum, nil
		} else if err != nil {
			return r.hdr, Summary{}, err
		}
	}
}
