package bbolt

import (
	"github.com/tidwall/btree"
	bolt "go.etcd.io/bbolt"
)

// An overlay holds what the write-ahead log holds and the database file does not yet:
// each key a batch changed, with its newest value or its deletion, in key order (a
// B-tree). There are two at most: the live one, which takes the batches, and the frozen
// one, whose checkpoint is running (checkpoint.go). Every read looks in the live overlay,
// then the frozen one, then the file's bbolt tree.
//
// Only the committer writes the live overlay; nobody writes a frozen one. After each
// batch the committer publishes a copy of the live one (the B-tree's copy is
// copy-on-write: it costs nothing now, and the committer's later changes copy the nodes
// they touch), which Views read without a lock: a View sees exactly the batches answered
// before it began. A View pairs the overlays with a bbolt read transaction of the file
// they lie on (see DB.begin).

// item is one key's newest state in the overlay: its value, or (del) its deletion.
type item struct {
	key string
	val []byte
	del bool
}

func itemLess(a, b item) bool { return a.key < b.key }

type overlay = btree.BTreeG[item]

func newOverlay() *overlay {
	return btree.NewBTreeGOptions(itemLess, btree.Options{NoLocks: true})
}

// published is what Views read: the live overlay as the last answered batch left it,
// the frozen one being checkpointed (nil: none), and the bbolt transaction they lie on
// (the frozen one on base, the live one on the frozen one).
type published struct {
	over, under *overlay
	base        uint64
}

// undo is one change a batch made to the overlay: enough to take it back (prev, had)
// and to log it (now).
type undo struct {
	prev, now item
	had       bool // prev is the key's entry before the change; else it had none
}

// set makes it the overlay's entry for its key, noting in log how to take that back.
func set(over *overlay, log *[]undo, it item) {
	prev, had := over.Set(it)
	*log = append(*log, undo{prev: prev, now: it, had: had})
}

// remove takes key's entry out of the overlay, for a key nothing below it holds: a key
// written and deleted between two checkpoints leaves nothing behind (a deletion kept
// there would be walked over by every scan of its range until the next checkpoint). The
// log still notes the deletion, which a replay of the log needs.
func remove(over *overlay, log *[]undo, key string) {
	prev, had := over.Delete(item{key: key})
	if had {
		*log = append(*log, undo{prev: prev, now: item{key: key, del: true}, had: true})
	}
}

// rollback takes back the changes in log, newest first.
func rollback(over *overlay, log []undo) {
	for i := len(log) - 1; i >= 0; i-- {
		if u := log[i]; u.had {
			over.Set(u.prev)
		} else {
			over.Delete(u.now)
		}
	}
}

// walk calls each with every key from start on, in byte order, and its value, merging
// the overlays (the first one's entry for a key winning, nil ones skipped) over the
// bucket's cursor: an overlay's entry for a key hides the bucket's, and a deletion hides
// the key. It stops when each returns false. Keys and values are valid during the call
// only.
func walk(overs []*overlay, c *bolt.Cursor, start []byte, each func(k, v []byte) bool) {
	bk, bv := c.Seek(start)
	var its []btree.IterG[item]
	var heads []item
	var more []bool
	for _, o := range overs {
		if o == nil || o.Len() == 0 {
			continue
		}
		it := o.Iter()
		ok := it.Seek(item{key: string(start)})
		var h item
		if ok {
			h = it.Item()
		}
		its, heads, more = append(its, it), append(heads, h), append(more, ok)
	}
	defer func() {
		for i := range its {
			its[i].Release()
		}
	}()
	for {
		best := -1
		for i := range its {
			if more[i] && (best < 0 || heads[i].key < heads[best].key) {
				best = i
			}
		}
		if best < 0 && bk == nil {
			return
		}
		if best < 0 || (bk != nil && string(bk) < heads[best].key) {
			if !each(bk, bv) {
				return
			}
			bk, bv = c.Next()
			continue
		}
		o := heads[best]
		for i := range its {
			if more[i] && heads[i].key == o.key {
				if more[i] = its[i].Next(); more[i] {
					heads[i] = its[i].Item()
				}
			}
		}
		if bk != nil && string(bk) == o.key {
			bk, bv = c.Next() // hidden by the overlay's entry
		}
		if !o.del && !each([]byte(o.key), o.val) {
			return
		}
	}
}
