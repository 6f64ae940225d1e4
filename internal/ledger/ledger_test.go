package ledger_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func update(t *testing.T, st storage.Backend, fn func(storage.Tx) error) {
	t.Helper()
	if err := st.Update(t.Context(), fn); err != nil {
		t.Fatal(err)
	}
}

// fill appends n entries, one day apart from t0, alternating between two secrets.
func fill(t *testing.T, st storage.Backend, n int) {
	t.Helper()
	update(t, st, func(tx storage.Tx) error {
		for i := range n {
			_, err := ledger.Append(tx, ledger.Entry{Time: t0.Add(time.Duration(i) * 24 * time.Hour), Action: ledger.ActionDelete,
				Kind: "secret", Vault: "v1", Name: fmt.Sprintf("s%d", i%2), Principal: "oid-1",
				DeletedDate: t0, ScheduledPurgeDate: t0.Add(90 * 24 * time.Hour)})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func verify(t *testing.T, st storage.Backend, anchors ...ledger.Anchor) (ledger.Result, error) {
	t.Helper()
	var res ledger.Result
	var verr error
	err := st.View(t.Context(), func(tx storage.Tx) error {
		res, verr = ledger.Verify(tx, anchors...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return res, verr
}

// rawEntry reads, changes and writes back one stored entry, as a hand edit of the
// storage would.
func rawEntry(t *testing.T, st storage.Backend, seq int64, change func(map[string]any)) {
	t.Helper()
	key := fmt.Sprintf("ledger/entry/%016d", seq)
	update(t, st, func(tx storage.Tx) error {
		b, err := tx.Get(key)
		if err != nil {
			return err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		change(m)
		b, _ = json.Marshal(m)
		return tx.Put(key, b)
	})
}

func TestAppendAndVerify(t *testing.T) {
	st := storagetest.OpenMemory(t)
	res, err := verify(t, st)
	if err != nil || res.Count != 0 {
		t.Fatalf("empty ledger: %+v %v", res, err)
	}
	fill(t, st, 5)
	res, err = verify(t, st)
	if err != nil {
		t.Fatal(err)
	}
	if res.Count != 5 || res.Head.Seq != 5 || res.Head.Count != 5 || len(res.Head.Hash) != 64 {
		t.Fatalf("result %+v", res)
	}
	var got []ledger.Entry
	update(t, st, func(tx storage.Tx) error {
		var err error
		got, _, err = ledger.List(tx, ledger.Filter{Vault: "V1", Name: "S1"})
		return err
	})
	if len(got) != 2 || got[0].Seq != 2 || got[1].Seq != 4 || got[0].Principal != "oid-1" || !got[0].ScheduledPurgeDate.Equal(t0.Add(90*24*time.Hour)) {
		t.Fatalf("List(v1/s1) = %+v", got)
	}
	update(t, st, func(tx storage.Tx) error {
		page, next, err := ledger.List(tx, ledger.Filter{Limit: 2})
		if err != nil || len(page) != 2 || next != 2 {
			t.Errorf("page 1: %d entries, next %d, %v", len(page), next, err)
		}
		page, next, err = ledger.List(tx, ledger.Filter{Limit: 2, After: 4})
		if err != nil || len(page) != 1 || page[0].Seq != 5 || next != 0 {
			t.Errorf("last page: %+v, next %d, %v", page, next, err)
		}
		return nil
	})
}

func TestVerifyDetectsTampering(t *testing.T) {
	headOf := func(st storage.Backend) ledger.Head {
		var h ledger.Head
		update(t, st, func(tx storage.Tx) error {
			var err error
			h, err = ledger.ReadHead(tx)
			return err
		})
		return h
	}
	tests := []struct {
		name    string
		tamper  func(t *testing.T, st storage.Backend)
		anchors func(st storage.Backend) []ledger.Anchor
		wantSeq int64
	}{
		{name: "fail/edited-entry", wantSeq: 3, tamper: func(t *testing.T, st storage.Backend) {
			rawEntry(t, st, 3, func(m map[string]any) { m["principal"] = "someone-else" })
		}},
		{name: "fail/edited-entry-hash-recomputed", wantSeq: 4, tamper: func(t *testing.T, st storage.Backend) {
			// An editor who recomputes the entry's own hash still breaks the next link.
			update(t, st, func(tx storage.Tx) error {
				es, _, err := ledger.List(tx, ledger.Filter{})
				if err != nil {
					return err
				}
				e := es[2]
				e.Name = "other"
				e.Hash = ""
				e.Hash = rehash(e)
				b, _ := json.Marshal(e)
				return tx.Put(fmt.Sprintf("ledger/entry/%016d", e.Seq), b)
			})
		}},
		{name: "fail/removed-entry", wantSeq: 2, tamper: func(t *testing.T, st storage.Backend) {
			update(t, st, func(tx storage.Tx) error { return tx.Delete("ledger/entry/0000000000000002") })
		}},
		{name: "fail/removed-first-entry", wantSeq: 1, tamper: func(t *testing.T, st storage.Backend) {
			update(t, st, func(tx storage.Tx) error { return tx.Delete("ledger/entry/0000000000000001") })
		}},
		{name: "fail/truncated", wantSeq: 4, tamper: func(t *testing.T, st storage.Backend) {
			update(t, st, func(tx storage.Tx) error { return tx.Delete("ledger/entry/0000000000000005") })
		}},
		{name: "fail/truncated-and-head-rewritten", wantSeq: 5, anchors: func(st storage.Backend) []ledger.Anchor {
			h := headOf(st)
			return []ledger.Anchor{{Seq: h.Seq, Hash: h.Hash}}
		}, tamper: func(t *testing.T, st storage.Backend) {
			update(t, st, func(tx storage.Tx) error {
				es, _, _ := ledger.List(tx, ledger.Filter{})
				tx.Delete("ledger/entry/0000000000000005")
				b, _ := json.Marshal(ledger.Head{Seq: 4, Count: 4, Hash: es[3].Hash})
				return tx.Put("ledger/head", b)
			})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := storagetest.OpenMemory(t)
			fill(t, st, 5)
			var anchors []ledger.Anchor
			if tc.anchors != nil {
				anchors = tc.anchors(st)
			}
			if _, err := verify(t, st, anchors...); err != nil {
				t.Fatalf("before tampering: %v", err)
			}
			tc.tamper(t, st)
			_, err := verify(t, st, anchors...)
			var te *ledger.TamperError
			if !errors.As(err, &te) {
				t.Fatalf("Verify = %v, want a TamperError", err)
			}
			if te.Seq != tc.wantSeq {
				t.Errorf("broken at %d (%s), want %d", te.Seq, te.Problem, tc.wantSeq)
			}
		})
	}
}

// rehash recomputes an entry's hash the way the package does (documented in its
// package comment), as an editor with the format in hand would.
func rehash(e ledger.Entry) string {
	return ledger.HashForTest(e)
}

func TestPruneWritesCheckpoint(t *testing.T) {
	st := storagetest.OpenMemory(t)
	fill(t, st, 10)
	var n int
	now := t0.Add(20 * 24 * time.Hour)
	update(t, st, func(tx storage.Tx) error {
		var err error
		n, err = ledger.Prune(tx, t0.Add(4*24*time.Hour), now, 0) // entries 1–4 are older
		return err
	})
	if n != 4 {
		t.Fatalf("pruned %d, want 4", n)
	}
	res, err := verify(t, st)
	if err != nil {
		t.Fatalf("Verify after prune: %v", err)
	}
	if res.Count != 7 || res.Head.Seq != 11 || res.Checkpoint == nil || res.Checkpoint.Seq != 4 {
		t.Fatalf("result %+v", res)
	}
	// An anchor of a pruned entry is no longer checked; one of a kept entry is.
	if _, err := verify(t, st, ledger.Anchor{Seq: 2, Hash: "00"}); err != nil {
		t.Errorf("pruned anchor: %v", err)
	}
	if _, err := verify(t, st, ledger.Anchor{Seq: 6, Hash: "00"}); err == nil {
		t.Error("a wrong anchor of a kept entry passed")
	}
	// Prune again (the prune entry itself is young): entries 5–8 go, the chain still holds.
	update(t, st, func(tx storage.Tx) error {
		var err error
		n, err = ledger.Prune(tx, t0.Add(8*24*time.Hour), now, 0)
		return err
	})
	if n != 4 {
		t.Fatalf("second prune removed %d, want 4", n)
	}
	if _, err := verify(t, st); err != nil {
		t.Fatalf("Verify after second prune: %v", err)
	}
	// Removing old entries by hand, without the prune entry, is tampering.
	update(t, st, func(tx storage.Tx) error { return tx.Delete("ledger/entry/0000000000000009") })
	if _, err := verify(t, st); err == nil {
		t.Fatal("Verify passed with the first entry after the checkpoint removed")
	}
}

func TestForgedCheckpointDetected(t *testing.T) {
	st := storagetest.OpenMemory(t)
	fill(t, st, 5)
	// Remove entries 1–2 and write a checkpoint that makes the walk start after them,
	// without a prune entry in the chain.
	update(t, st, func(tx storage.Tx) error {
		es, _, _ := ledger.List(tx, ledger.Filter{})
		tx.Delete("ledger/entry/0000000000000001")
		tx.Delete("ledger/entry/0000000000000002")
		b, _ := json.Marshal(ledger.Checkpoint{Seq: 2, Hash: es[1].Hash, Time: t0})
		tx.Put("ledger/checkpoint", b)
		b, _ = json.Marshal(ledger.Head{Seq: 5, Count: 3, Hash: es[4].Hash})
		return tx.Put("ledger/head", b)
	})
	_, err := verify(t, st)
	var te *ledger.TamperError
	if !errors.As(err, &te) {
		t.Fatalf("Verify = %v, want a TamperError", err)
	}
}

// TestAppendRollsBackWithItsTransaction: an entry and the change it records commit
// together; a failed transaction leaves neither.
func TestAppendRollsBackWithItsTransaction(t *testing.T) {
	st := storagetest.OpenMemory(t)
	fill(t, st, 1)
	boom := errors.New("boom")
	err := st.Update(t.Context(), func(tx storage.Tx) error {
		tx.Put("change", []byte("x"))
		if _, err := ledger.Append(tx, ledger.Entry{Time: t0, Action: ledger.ActionPurge, Kind: "secret", Vault: "v1", Name: "s0", Principal: "oid-1"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	res, err := verify(t, st)
	if err != nil || res.Head.Seq != 1 || res.Count != 1 {
		t.Fatalf("after a failed transaction: %+v %v", res, err)
	}
}
