package bbolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strconv"
)

// Verify checks the structure of a bbolt file without bbolt: bbolt trusts its file, and a
// damaged page makes it panic (at open, it walks every page to rebuild its freelist, and
// reports what it finds wrong by panicking in a goroutine of its own, which no caller can
// recover). Verify reads the file with plain reads, checks every bound before it uses
// it, and so turns any damage into problems, never a panic or a memory fault. [Open] runs
// it before it hands the file to bbolt; `coffer check` runs it with the file locked.
//
// It checks what bbolt relies on: both meta pages (magic, version, checksum), the one in
// use (the valid one with the higher transaction id, as bbolt chooses), and every page
// reachable from it — page ids within the file and below the high-water mark, each page
// referenced once, branch and leaf pages only, elements within their page, keys in
// strictly ascending order and within the range their parent gives them, nested buckets
// (inline or not). It cannot see a changed value, nor a key changed in a way that keeps
// its order: the barrier (values are sealed with their key) and the domain's own check
// find those.
func Verify(path string) (*Report, error) {
	return verify(path, 0)
}

// VerifyTop is [Verify] bounded to about maxPages page reads, whatever the size of the
// file: both meta pages, the freelist page, and the B+trees from their roots down as many
// whole levels as fit in maxPages (a level is walked entirely or not at all). A file
// whose trees fit is checked completely ([Report.Complete]); in a larger one the upper
// levels are — the pages whose damage would cost the most keys — and the references to
// the pages below are checked to lie within the file, once each. [Open] runs it, so a
// start reads a bounded part of the file; the rest is [DB.VerifyFull]'s, which the server
// runs in the background once it serves, and `coffer check`'s.
func VerifyTop(path string, maxPages int) (*Report, error) {
	if maxPages <= 0 {
		return Verify(path)
	}
	// Deepen one level at a time while the next level still fits: a level's page count is
	// the number of references the level above it holds, known once that level is walked.
	// The levels above are read again each time, a bounded cost (they are the fewest).
	var rep *Report
	for depth := 1; ; depth++ {
		r, cut, err := verifyDepth(context.Background(), path, depth, nil)
		if err != nil {
			return nil, err
		}
		rep = r
		if cut == 0 || len(r.Problems) > 0 && !onlyMeta(r) || r.Pages+cut > maxPages {
			return rep, nil
		}
	}
}

func onlyMeta(r *Report) bool {
	for _, p := range r.Problems {
		if !p.Meta {
			return false
		}
	}
	return true
}

func verify(path string, depth int) (*Report, error) {
	r, _, err := verifyDepth(context.Background(), path, depth, nil)
	return r, err
}

// verifyDepth walks the trees down to depth levels (0: all of them); cut is how many
// page references below that were left unread. It stops with ctx's error when ctx ends.
func verifyDepth(ctx context.Context, path string, depth int, each func(key, value []byte)) (*Report, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	v := &verifier{f: f, size: fi.Size(), rep: &Report{Path: path}, depthCap: depth, ctx: ctx, each: each}
	if err := v.run(); err != nil {
		return nil, 0, fmt.Errorf("verify %s: %w", path, err)
	}
	v.rep.Complete = v.cut == 0
	v.rep.Unread = v.cut
	return v.rep, v.cut, nil
}

// Report is what [Verify] found.
type Report struct {
	Path     string
	PageSize int
	// Txid is the transaction the file holds: that of the meta page in use (0 when
	// neither meta page is valid). Each commit adds one.
	Txid  uint64
	Metas [2]MetaPage
	Pages int // pages reachable from the meta page in use (read, when not Complete)
	Keys  int // keys in Coffer's bucket (found, when not Complete)
	// Complete is set when every page reachable from the meta page in use was checked;
	// [VerifyTop] leaves the lower levels of a large file unread (Unread references).
	Complete bool
	Unread   int
	// Problems is empty when the structure is sound.
	Problems []Problem
}

// MetaPage is what one of the two meta pages says.
type MetaPage struct {
	Txid    uint64 // as written, even when the page does not validate
	Problem string // why the page does not validate; "" when it does
}

// Problem is one thing wrong in a bbolt file, with the keys it affects.
type Problem struct {
	Page uint64 // the page at fault
	// From and To bound the keys of Coffer's bucket the damage affects: every key k with
	// From <= k < To (To "" means no upper bound). Whole is set when it affects the
	// whole file (a meta page, the tree above Coffer's bucket).
	From, To string
	Whole    bool
	// Meta marks a meta page that does not validate while the other one does: bbolt
	// then uses the other, whole and consistent, but perhaps one transaction older.
	Meta bool
	Text string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s (affects %s)", p.Text, p.Affects())
}

// Affects says which keys the problem affects, for a person.
func (p Problem) Affects() string {
	switch {
	case p.Whole:
		return "the whole database"
	case p.From == "" && p.To == "":
		return "every key in the database"
	case p.To == "":
		return fmt.Sprintf("the keys from %q on", p.From)
	case p.From == "":
		return fmt.Sprintf("the keys before %q", p.To)
	}
	return fmt.Sprintf("the keys from %q up to %q", p.From, p.To)
}

// The file format of go.etcd.io/bbolt (version 2), in the machine's byte order.
const (
	pageHeaderSize   = 16 // id u64, flags u16, count u16, overflow u32
	elementSize      = 16 // branch: pos u32, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32
	bucketHeaderSize = 16 // root pgid u64, sequence u64
	metaSize         = 64 // magic, version, pageSize, flags u32; root bucket; freelist, pgid, txid, checksum u64
	metaChecksummed  = 56 // the checksum covers the meta before it

	boltMagic   = 0xED0CDAED
	boltVersion = 2

	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	freelistPageFlag = 0x10
	bucketLeafFlag   = 0x01
	noFreelist       = ^uint64(0)

	maxDepth = 64 // a B+tree this deep is damage (or a cycle)
)

var ne = binary.NativeEndian

type meta struct {
	pageSize           uint32
	root, freelist, hw uint64
	txid               uint64
}

type verifier struct {
	f        *os.File
	size     int64
	pageSize int
	hw       uint64 // the high-water mark: pages at or above it are not in use
	rep      *Report
	visited  pageSet
	// depthCap, when not 0, stops the walk of each tree after that many levels; cut
	// counts the references below it, which are checked to lie in the file but not read.
	depthCap int
	cut      int
	ctx      context.Context
	stopped  error // ctx's error, once it has ended: the walk unwinds
	// each, when set, receives every key and value of Coffer's bucket (valid during the
	// call only): the server opens each value while the walk reads it.
	each func(key, value []byte)
}

// pageSet is the pages a walk has seen: a bit per page id (a million pages: 128 KB).
type pageSet struct {
	bits []uint64
	n    int
}

func (s *pageSet) has(id uint64) bool {
	return id/64 < uint64(len(s.bits)) && s.bits[id/64]&(1<<(id%64)) != 0
}

func (s *pageSet) add(id uint64) {
	if w := id / 64; w >= uint64(len(s.bits)) {
		s.bits = append(s.bits, make([]uint64, int(w)+1-len(s.bits))...)
	}
	s.bits[id/64] |= 1 << (id % 64)
	s.n++
}

// fail records a problem with page id.
func (v *verifier) fail(id uint64, r keyRange, format string, args ...any) {
	v.rep.Problems = append(v.rep.Problems, Problem{Page: id, From: string(r.lo), To: string(r.hi), Whole: r.whole, Text: fmt.Sprintf(format, args...)})
}

// keyRange is the keys a page may hold: lo <= k < hi (nil: unbounded); whole marks the
// tree above Coffer's bucket, whose damage affects everything.
type keyRange struct {
	lo, hi []byte
	whole  bool
}

func (v *verifier) run() error {
	m, err := v.metas()
	if err != nil || m == nil {
		return err
	}
	v.rep.Txid, v.pageSize, v.hw = m.txid, int(m.pageSize), m.hw
	v.rep.PageSize = v.pageSize
	all := keyRange{whole: true}
	switch {
	case m.hw < 2 || m.root < 2 || m.root >= m.hw:
		v.fail(m.txid%2, all, "the meta page in use names root page %d with high-water mark %d", m.root, m.hw)
		return nil
	case int64(m.hw)*int64(v.pageSize) > v.size:
		v.fail(m.txid%2, all, "the file is %d bytes, shorter than the %d pages its meta page says it holds: it was truncated", v.size, m.hw)
	}
	if m.freelist != noFreelist {
		v.freelist(m.freelist)
	}
	v.tree(m.root, all, 0, func(key []byte, value []byte, flags uint32, id uint64) {
		// The top-level bucket: Coffer keeps every key in one bucket, "coffer".
		if flags&bucketLeafFlag == 0 || string(key) != string(bucket) {
			v.fail(id, all, "the top level holds %q, which is not Coffer's bucket", key)
			return
		}
		v.bucket(id, value, keyRange{}, func(key, value []byte, flags uint32, id uint64) {
			if flags&bucketLeafFlag != 0 {
				v.fail(id, keyRange{lo: key}, "key %q is a nested bucket, which Coffer never makes", key)
				return
			}
			v.rep.Keys++
			if v.each != nil {
				v.each(key, value)
			}
		})
	})
	v.rep.Pages = v.visited.n - v.cut
	return v.stopped
}

// metas reads both meta pages and returns the one in use, or nil (with a problem) when
// neither is valid.
func (v *verifier) metas() (*meta, error) {
	var ms [2]*meta
	m0, why0, err := v.meta(0)
	if err != nil {
		return nil, err
	}
	v.rep.Metas[0] = MetaPage{Txid: m0.txid, Problem: why0}
	// The second meta page is one page in; its size comes from the first, or, when the
	// first does not validate, from wherever a valid one is found (as bbolt looks).
	var offsets []int64
	if why0 == "" {
		ms[0] = &m0
		offsets = []int64{int64(m0.pageSize)}
	} else {
		for i := range 15 {
			offsets = append(offsets, 1024<<i)
		}
	}
	var why1 string
	for _, off := range offsets {
		var m1 meta
		m1, why1, err = v.meta(off)
		if err != nil {
			return nil, err
		}
		v.rep.Metas[1] = MetaPage{Txid: m1.txid, Problem: why1}
		if why1 == "" {
			ms[1] = &m1
			break
		}
	}
	var use *meta
	for _, m := range ms {
		if m != nil && (use == nil || m.txid > use.txid) {
			use = m
		}
	}
	all := keyRange{whole: true}
	if use == nil {
		v.fail(0, all, "neither meta page validates (page 0: %s; page 1: %s): this is not a bbolt file, or both its meta pages are damaged", why0, why1)
		return nil, nil
	}
	for i, mp := range v.rep.Metas {
		if mp.Problem == "" {
			continue
		}
		text := fmt.Sprintf("meta page %d does not validate (%s); bbolt uses the other one, transaction %d", i, mp.Problem, use.txid)
		if mp.Txid > use.txid {
			text += fmt.Sprintf(", though this one names transaction %d: that transaction's writes are not in the database", mp.Txid)
		}
		v.fail(uint64(i), all, "%s", text)
		v.rep.Problems[len(v.rep.Problems)-1].Meta = true
	}
	return use, nil
}

// meta reads the meta page at off: its fields, and why it does not validate ("" when it
// does). A file too short to hold it is a reason, not an error.
func (v *verifier) meta(off int64) (meta, string, error) {
	var buf [pageHeaderSize + metaSize]byte
	if _, err := v.f.ReadAt(buf[:], off); err != nil {
		if errors.Is(err, io.EOF) {
			return meta{}, "the file ends before it", nil
		}
		return meta{}, "", err
	}
	b := buf[pageHeaderSize:]
	m := meta{
		pageSize: ne.Uint32(b[8:]),
		root:     ne.Uint64(b[16:]),
		freelist: ne.Uint64(b[32:]),
		hw:       ne.Uint64(b[40:]),
		txid:     ne.Uint64(b[48:]),
	}
	h := fnv.New64a()
	h.Write(b[:metaChecksummed])
	switch {
	case ne.Uint32(b[0:]) != boltMagic:
		return m, "wrong magic number", nil
	case ne.Uint32(b[4:]) != boltVersion:
		return m, "version " + strconv.Itoa(int(ne.Uint32(b[4:]))) + ", not 2", nil
	case ne.Uint64(b[metaChecksummed:]) != h.Sum64():
		return m, "checksum mismatch", nil
	case m.pageSize < 512 || m.pageSize > 1<<24 || m.pageSize&(m.pageSize-1) != 0:
		return m, fmt.Sprintf("page size %d", m.pageSize), nil
	}
	return m, "", nil
}

// page reads page id with its overflow pages, or records why it cannot and returns nil.
func (v *verifier) page(id uint64, r keyRange) []byte {
	if v.stopped != nil {
		return nil
	} else if err := v.ctx.Err(); err != nil {
		v.stopped = err
		return nil
	}
	if id < 2 || id >= v.hw {
		v.fail(id, r, "a reference to page %d, outside the pages in use (2 to %d)", id, v.hw-1)
		return nil
	}
	if v.visited.has(id) {
		v.fail(id, r, "page %d is referenced twice", id)
		return nil
	}
	head := make([]byte, v.pageSize)
	if _, err := v.f.ReadAt(head, int64(id)*int64(v.pageSize)); err != nil {
		v.fail(id, r, "page %d cannot be read: %v", id, err)
		return nil
	}
	if got := ne.Uint64(head); got != id {
		v.fail(id, r, "page %d says it is page %d", id, got)
		return nil
	}
	overflow := uint64(ne.Uint32(head[12:]))
	if overflow >= v.hw-id {
		v.fail(id, r, "page %d claims %d overflow pages, beyond the pages in use", id, overflow)
		return nil
	}
	for i := uint64(0); i <= overflow; i++ {
		if v.visited.has(id + i) {
			v.fail(id, r, "page %d is referenced twice", id+i)
			return nil
		}
		v.visited.add(id + i)
	}
	if overflow == 0 {
		return head
	}
	buf := make([]byte, int(overflow+1)*v.pageSize)
	if _, err := v.f.ReadAt(buf, int64(id)*int64(v.pageSize)); err != nil {
		v.fail(id, r, "page %d cannot be read with its %d overflow pages: %v", id, overflow, err)
		return nil
	}
	return buf
}

// entryFunc receives each leaf entry of a tree: key, value, element flags and the page.
type entryFunc func(key, value []byte, flags uint32, page uint64)

// tree walks the B+tree rooted at page id, whose keys must lie in r, handing each leaf
// entry to fn. It returns the tree's last key.
func (v *verifier) tree(id uint64, r keyRange, depth int, fn entryFunc) []byte {
	if depth > maxDepth {
		v.fail(id, r, "the tree is deeper than %d levels at page %d", maxDepth, id)
		return nil
	}
	if v.depthCap > 0 && depth >= v.depthCap {
		v.cut++
		if id < 2 || id >= v.hw {
			v.fail(id, r, "a reference to page %d, outside the pages in use (2 to %d)", id, v.hw-1)
		} else if v.visited.has(id) {
			v.fail(id, r, "page %d is referenced twice", id)
		} else {
			v.visited.add(id)
		}
		return nil
	}
	p := v.page(id, r)
	if p == nil {
		return nil
	}
	switch flags := ne.Uint16(p[8:]); flags {
	case branchPageFlag:
		return v.branch(id, p, r, depth, fn)
	case leafPageFlag:
		return v.leaf(id, p, r, fn)
	default:
		v.fail(id, r, "page %d has type flags %#x: not a branch or leaf page, as its parent says", id, flags)
		return nil
	}
}

// elements checks that a page's element array fits, and returns the count.
func (v *verifier) elements(id uint64, p []byte, r keyRange) (int, bool) {
	n := int(ne.Uint16(p[10:]))
	if pageHeaderSize+n*elementSize > len(p) {
		v.fail(id, r, "page %d counts %d elements, more than it can hold", id, n)
		return 0, false
	}
	return n, true
}

// slice returns p[off:off+n] when it lies within p.
func slice(p []byte, off, n uint64) ([]byte, bool) {
	if off > uint64(len(p)) || n > uint64(len(p))-off {
		return nil, false
	}
	return p[off : off+n], true
}

func (v *verifier) branch(id uint64, p []byte, r keyRange, depth int, fn entryFunc) []byte {
	n, ok := v.elements(id, p, r)
	if !ok {
		return nil
	}
	if n == 0 {
		v.fail(id, r, "branch page %d has no elements", id)
		return nil
	}
	keys := make([][]byte, n)
	children := make([]uint64, n)
	for i := range n {
		e := uint64(pageHeaderSize + i*elementSize)
		pos, ksize := uint64(ne.Uint32(p[e:])), uint64(ne.Uint32(p[e+4:]))
		k, ok := slice(p, e+pos, ksize)
		if !ok {
			v.fail(id, r, "branch page %d: element %d lies outside the page", id, i)
			return nil
		}
		keys[i], children[i] = k, ne.Uint64(p[e+8:])
		if !v.ordered(id, r, keys, i) {
			return nil
		}
	}
	var last []byte
	for i := range n {
		cr := keyRange{lo: keys[i], hi: r.hi, whole: r.whole}
		if i+1 < n {
			cr.hi = keys[i+1]
		}
		if k := v.tree(children[i], cr, depth+1, fn); k != nil {
			last = k
		}
	}
	return last
}

func (v *verifier) leaf(id uint64, p []byte, r keyRange, fn entryFunc) []byte {
	n, ok := v.elements(id, p, r)
	if !ok {
		return nil
	}
	keys := make([][]byte, n)
	for i := range n {
		e := uint64(pageHeaderSize + i*elementSize)
		flags, pos := ne.Uint32(p[e:]), uint64(ne.Uint32(p[e+4:]))
		ksize, vsize := uint64(ne.Uint32(p[e+8:])), uint64(ne.Uint32(p[e+12:]))
		kv, ok := slice(p, e+pos, ksize+vsize)
		if !ok || ksize+vsize < ksize {
			v.fail(id, r, "leaf page %d: element %d lies outside the page", id, i)
			return nil
		}
		keys[i] = kv[:ksize]
		if !v.ordered(id, r, keys, i) {
			return nil
		}
		fn(kv[:ksize], kv[ksize:], flags, id)
	}
	if n == 0 {
		return nil
	}
	return keys[n-1]
}

// ordered checks keys[i] against its predecessor and the page's range.
func (v *verifier) ordered(id uint64, r keyRange, keys [][]byte, i int) bool {
	k := keys[i]
	switch {
	case i > 0 && bytes.Compare(keys[i-1], k) >= 0:
		v.fail(id, r, "page %d: key %q does not sort after the key before it, %q", id, k, keys[i-1])
	case r.lo != nil && bytes.Compare(k, r.lo) < 0:
		v.fail(id, r, "page %d: key %q sorts before %q, where its parent puts the page", id, k, r.lo)
	case r.hi != nil && bytes.Compare(k, r.hi) >= 0:
		v.fail(id, r, "page %d: key %q does not sort before %q, where its parent ends the page", id, k, r.hi)
	default:
		return true
	}
	return false
}

// bucket walks the bucket whose header is value (a leaf entry on page id): its own tree,
// or the inline page that follows the header.
func (v *verifier) bucket(id uint64, value []byte, r keyRange, fn entryFunc) {
	if len(value) < bucketHeaderSize {
		v.fail(id, keyRange{whole: true}, "page %d: a bucket of %d bytes, shorter than its header", id, len(value))
		return
	}
	if root := ne.Uint64(value); root != 0 {
		v.tree(root, r, 0, fn)
		return
	}
	inline := value[bucketHeaderSize:]
	if len(inline) < pageHeaderSize {
		v.fail(id, r, "page %d: an inline bucket of %d bytes, shorter than a page header", id, len(inline))
		return
	}
	if flags := ne.Uint16(inline[8:]); flags != leafPageFlag {
		v.fail(id, r, "page %d: an inline bucket with type flags %#x, not a leaf", id, flags)
		return
	}
	v.leaf(id, inline, r, fn)
}

// freelist checks the freelist page a meta page names: bbolt reads the free list from it
// at open (files written before Coffer kept a synced free list have none: bbolt then
// rebuilds it by reading every page, once, and writes it).
func (v *verifier) freelist(id uint64) {
	all := keyRange{whole: true}
	p := v.page(id, all)
	if p == nil {
		return
	}
	if flags := ne.Uint16(p[8:]); flags != freelistPageFlag {
		v.fail(id, all, "the freelist page %d has type flags %#x", id, flags)
		return
	}
	n, start := uint64(ne.Uint16(p[10:])), uint64(pageHeaderSize)
	if n == 0xFFFF {
		if len(p) < pageHeaderSize+8 {
			v.fail(id, all, "the freelist page %d is cut short", id)
			return
		}
		n, start = ne.Uint64(p[pageHeaderSize:]), pageHeaderSize+8
	}
	ids, ok := slice(p, start, n*8)
	if !ok || n > uint64(len(p)) {
		v.fail(id, all, "the freelist page %d counts %d pages, more than it holds", id, n)
		return
	}
	for i := 0; i < len(ids); i += 8 {
		if free := ne.Uint64(ids[i:]); free < 2 || free >= v.hw {
			v.fail(id, all, "the freelist page %d lists page %d, outside the pages in use", id, free)
			return
		}
	}
}
