package ledger

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// The entry stored is json.Marshal's encoding of the entry with its hash, though it is
// made from the canonical encoding with the hash spliced in: Hash must stay the last
// field of Entry.
func TestHashAndEncodeIsMarshal(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, e := range []Entry{
		{},
		{Seq: 1, Time: at, Action: ActionAutoPurge, Kind: "secret", Vault: "v", Name: `a"b<c>é`, Principal: Sweeper, DeletedDate: at, ScheduledPurgeDate: at, LateBySeconds: 3, Note: "n", PrevHash: "00ff"},
		{Seq: 9, Action: ActionPrune, PrunedThrough: 8, PrunedHash: "ab", Hash: "ignored", PrevHash: "abcd"},
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
