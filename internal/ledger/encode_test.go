package ledger

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// The entry stored is json.Marshal's encoding of the entry with its hash, though it is
// made from the canonical encoding with the hash spliced in: Hash must stay the last
// field of Entry. (It is encoded by jsonv1 where it is valid UTF-8: marshalEntry.)
func TestHashAndEncodeIsMarshal(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, e := range []Entry{
		{},
		{Seq: 1, Time: at, Action: ActionAutoPurge, Kind: "secret", Vault: "v", Name: `a"b<c>é`, Principal: Sweeper, DeletedDate: at, ScheduledPurgeDate: at, LateBySeconds: 3, Note: "n", PrevHash: "00ff"},
		{Seq: 9, Action: ActionPrune, PrunedThrough: 8, PrunedHash: "ab", Hash: "ignored", PrevHash: "abcd"},
		// Both encoders: escapes, HTML, U+2028, times with and without a zone or
		// nanoseconds, and invalid UTF-8 (left to encoding/json).
		{Seq: 1 << 40, Time: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), Action: ActionDelete, Kind: "key", Vault: "V-1", Name: "n",
			Principal: "p\t\n\x00\u2028&<>", ClientID: "c", RequestID: "r", Note: "日本 🔑 \\ /", DeletedDate: at.Add(time.Nanosecond * 999),
			ScheduledPurgeDate: time.Date(2026, 5, 6, 7, 8, 9, 120000000, time.FixedZone("x", 3600)), PrevHash: "ff"},
		{Seq: 2, Action: ActionRecover, Principal: "bad \xff\xfe utf-8", Note: "\xc3", PrevHash: "aa"},
		{Seq: 3, LateBySeconds: -1, PrunedThrough: -5},
	} {
		h, got := hashAndEncode(e)
		e.Hash = h
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("hashAndEncode:\n got %s\nwant %s", got, want)
		}
		if h != hash(e) {
			t.Errorf("hash differs from hashAndEncode's")
		}
	}
}
