// Package vaultfile is the format of a whole-vault export (coffer vault export / import):
// a stream of records, one JSON object a line, that the server writes and reads, and
// the age encryption (filippo.io/age) the CLI wraps it in on disk.
//
// It is a leaf: it knows no storage, no vault domain and no HTTP, and it must not import
// any other Coffer package.
//
// # The plaintext stream
//
//	{"type":"header","format":"coffer-vault-export","version":1,"vault":"V",...}
//	{"type":"vault","data":{...}}                          the vault's record
//	{"type":"object","key":"secret/live/db","data":{...}}  one record a line, in key order
//	...
//	{"type":"trailer","records":N,"counts":{...},"sha256":"..."}
//
// The trailer's sha256 is SHA-256 over every byte of the stream before the trailer line
// (header and records, newlines included) followed by the trailer's own JSON with sha256
// empty, and records counts the lines between header
// and trailer: a stream cut anywhere, or with a line altered, dropped or added, fails
// [Reader.Next] — a stream without its trailer with [ErrTruncated] — and a reader acts
// on nothing before Next has answered io.EOF.
//
// # On disk
//
// The file is the stream encrypted with age (X25519 recipients, or an scrypt
// passphrase): [Encrypt] and [Decrypt]. age authenticates each 64 KiB chunk and the end
// of the stream, so a flipped byte or a cut file fails while it is read; the trailer
// checks the same again for the plaintext the server receives.
package vaultfile

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"
)

// Format and Version name the stream's layout in its header.
const (
	Format  = "coffer-vault-export"
	Version = 1
)

// MaxLine bounds one record's line: the largest record is a certificate version with its
// PFX, or a secret of 25 KB, far below it.
const MaxLine = 8 << 20

// Record types.
const (
	TypeHeader  = "header"
	TypeVault   = "vault"   // the vault's own record (settings, access policies, dates)
	TypeObject  = "object"  // a record stored under the vault: Key is its path below the vault
	TypeRole    = "role"    // a role assignment at the vault or inside it
	TypeTrailer = "trailer" // counts and the checksum
)

// Header opens the stream.
type Header struct {
	Type       string    `json:"type"`
	Format     string    `json:"format"`
	Version    int       `json:"version"`
	Vault      string    `json:"vault"`
	ExportedAt time.Time `json:"exportedAt"`
	ExportedBy string    `json:"exportedBy,omitempty"`
	Server     string    `json:"server,omitempty"`
}

// Record is one line between the header and the trailer.
type Record struct {
	Type string `json:"type"`
	// Key is, for an object record, the storage path below the vault
	// (<kind>/live/<name>, <kind>/deleted/<name>, <kind>/ver/<name>/<version>,
	// certificate/issuer/<name>, certificate/contacts, certificate/op/<name>).
	Key  string          `json:"key,omitempty"`
	Data json.RawMessage `json:"data"`
}

// Trailer closes the stream.
type Trailer struct {
	Type    string         `json:"type"`
	Records int64          `json:"records"`
	Counts  map[string]int `json:"counts,omitempty"`
	SHA256  string         `json:"sha256"`
}

// ErrTruncated is the error of a stream that ends before its trailer.
var ErrTruncated = errors.New("the export is truncated: it ends before its trailer")

// ErrDamaged is wrapped by the errors of a stream that is not a well-formed export or
// whose trailer does not match what came before it.
var ErrDamaged = errors.New("the export is damaged")

func damaged(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrDamaged, fmt.Sprintf(format, args...))
}

// Writer writes a stream: NewWriter writes the header, Write each record, Close the
// trailer. It buffers; Close flushes.
type Writer struct {
	w      *bufio.Writer
	h      hash.Hash
	n      int64
	counts map[string]int
	done   Trailer
}

// NewWriter writes h (Type, Format and Version are set) to w.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	h.Type, h.Format, h.Version = TypeHeader, Format, Version
	sw := &Writer{w: bufio.NewWriterSize(w, 64<<10), h: sha256.New(), counts: map[string]int{}}
	return sw, sw.line(h)
}

func (w *Writer) line(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	w.h.Write(b)
	_, err = w.w.Write(b)
	return err
}

// Write writes one record; count names what the trailer counts it as ("" for nothing).
func (w *Writer) Write(r Record, count string) error {
	w.n++
	if count != "" {
		w.counts[count]++
	}
	return w.line(r)
}

// sealTrailer is the trailer's sha256: over the stream before it (h) and the trailer
// itself without its sha256, so that its counts are covered too.
func sealTrailer(h hash.Hash, t Trailer) string {
	t.SHA256 = ""
	b, _ := json.Marshal(t)
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// Trailer is the trailer Close wrote.
func (w *Writer) Trailer() Trailer { return w.done }

// Flush sends what is buffered.
func (w *Writer) Flush() error { return w.w.Flush() }

// Close writes the trailer and flushes. It does not close the underlying writer.
func (w *Writer) Close() error {
	t := Trailer{Type: TypeTrailer, Records: w.n, Counts: w.counts}
	t.SHA256 = sealTrailer(w.h, t)
	w.done = t
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if _, err := w.w.Write(append(b, '\n')); err != nil {
		return err
	}
	return w.w.Flush()
}

// Reader reads a stream and checks it against its trailer.
type Reader struct {
	r       *bufio.Reader
	h       hash.Hash
	n       int64
	header  Header
	trailer *Trailer
}

// NewReader reads and checks the header.
func NewReader(r io.Reader) (*Reader, error) {
	sr := &Reader{r: bufio.NewReaderSize(r, 64<<10), h: sha256.New()}
	line, err := sr.line()
	if errors.Is(err, io.EOF) {
		return nil, ErrTruncated
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(line, &sr.header); err != nil || sr.header.Type != TypeHeader || sr.header.Format != Format {
		return nil, damaged("it does not start with a Coffer vault export header")
	}
	if sr.header.Version != Version {
		return nil, damaged("format version %d is not the version %d this Coffer reads", sr.header.Version, Version)
	}
	sr.h.Write(line)
	return sr, nil
}

// Header is the stream's header.
func (r *Reader) Header() Header { return r.header }

// Trailer is the stream's trailer, once Next has answered io.EOF.
func (r *Reader) Trailer() Trailer { return *r.trailer }

// line reads one line, newline included; io.EOF only at a clean end; a last line
// without its newline is ErrTruncated.
func (r *Reader) line() ([]byte, error) {
	var buf []byte
	for {
		part, err := r.r.ReadSlice('\n')
		buf = append(buf, part...)
		if len(buf) > MaxLine {
			return nil, damaged("a record is longer than %d bytes", MaxLine)
		}
		switch {
		case err == nil:
			return buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(buf) > 0:
			return nil, ErrTruncated
		default:
			return nil, err
		}
	}
}

// Next returns the next record. At the trailer it checks the count and checksum and
// that nothing follows, and answers io.EOF: only then is the stream known whole.
func (r *Reader) Next() (Record, error) {
	if r.trailer != nil {
		return Record{}, io.EOF
	}
	line, err := r.line()
	if errors.Is(err, io.EOF) {
		return Record{}, ErrTruncated
	}
	if err != nil {
		return Record{}, err
	}
	var rec Record
	if err := json.Unmarshal(line, &rec); err != nil {
		return Record{}, damaged("record %d is not JSON", r.n+1)
	}
	if rec.Type == TypeTrailer {
		var t Trailer
		if err := json.Unmarshal(line, &t); err != nil {
			return Record{}, damaged("the trailer is malformed")
		}
		// The checksum cannot cover the trailer itself: it must be exactly as the writer
		// writes it, so that not a byte of it can change unseen either.
		if canon, _ := json.Marshal(t); !bytes.Equal(append(canon, '\n'), line) {
			return Record{}, damaged("the trailer is not in its canonical form")
		}
		if t.Records != r.n {
			return Record{}, damaged("the trailer counts %d records, the stream holds %d", t.Records, r.n)
		}
		if sum := sealTrailer(r.h, t); sum != t.SHA256 {
			return Record{}, damaged("its SHA-256 does not match the trailer's")
		}
		if _, err := r.r.ReadByte(); !errors.Is(err, io.EOF) {
			if err != nil {
				return Record{}, err
			}
			return Record{}, damaged("data follows the trailer")
		}
		r.trailer = &t
		return Record{}, io.EOF
	}
	r.h.Write(line)
	r.n++
	switch rec.Type {
	case TypeVault, TypeObject, TypeRole:
	default:
		return Record{}, damaged("record %d has the unknown type %q", r.n, rec.Type)
	}
	return rec, nil
}
