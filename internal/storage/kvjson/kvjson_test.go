package kvjson_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/coffer/coffer/internal/storage"
	"github.com/coffer/coffer/internal/storage/kvjson"
	"github.com/coffer/coffer/internal/storage/storagetest"
)

type record struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func TestRoundTripAndErrors(t *testing.T) {
	m := storagetest.NewMemory()
	err := m.Update(t.Context(), func(tx storage.Tx) error {
		for _, r := range []record{{"a", 1}, {"b", 2}} {
			if err := kvjson.Put(tx, "r/"+r.Name, r); err != nil {
				return err
			}
		}
		return kvjson.Put(tx, "bad", func() {})
	})
	if err == nil || !strings.Contains(err.Error(), "encode bad") {
		t.Fatalf("Put of a func: %v, want an encode error naming the key", err)
	}
	storagetest.Put(t, m, "r/a", `{"name":"a","n":1}`, "r/b", `{"name":"b","n":2}`, "r/z", `{"name":`)
	err = m.View(t.Context(), func(tx storage.Tx) error {
		var r record
		if err := kvjson.Get(tx, "r/b", &r); err != nil || r != (record{"b", 2}) {
			t.Errorf("Get r/b = %+v, %v", r, err)
		}
		if err := kvjson.Get(tx, "r/none", &r); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get of a missing key: %v, want ErrNotFound", err)
		}
		if err := kvjson.Get(tx, "r/z", &r); err == nil || !strings.Contains(err.Error(), "decode r/z") {
			t.Errorf("Get of a bad value: %v, want a decode error naming the key", err)
		}
		es, err := tx.Scan("r/", "", 2)
		if err != nil {
			return err
		}
		if rs, err := kvjson.DecodeAll[record](es); err != nil || len(rs) != 2 || rs[0] != (record{"a", 1}) || rs[1] != (record{"b", 2}) {
			t.Errorf("DecodeAll = %+v, %v", rs, err)
		}
		es, err = tx.Scan("r/", "", 0)
		if err != nil {
			return err
		}
		if _, err := kvjson.DecodeAll[record](es); err == nil || !strings.Contains(err.Error(), "decode r/z") {
			t.Errorf("DecodeAll with a bad value: %v, want a decode error naming its key", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
