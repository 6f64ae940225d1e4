// Package kvjson keeps JSON values in a [storage.Tx], as the identity, the deletion ledger
// and the webhook outbox keep their records: [Get] and [Put] one value, [DecodeAll] the
// entries of a scan. A stored value that does not decode is an error naming its key.
package kvjson

import (
	"encoding/json"
	"fmt"

	"github.com/coffer/coffer/internal/storage"
)

// Get decodes the value of key into v; a missing key is [storage.ErrNotFound].
func Get(tx storage.Tx, key string, v any) error {
	b, err := tx.Get(key)
	if err != nil {
		return err
	}
	return decode(key, b, v)
}

// Put stores v, encoded, under key.
func Put(tx storage.Tx, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	return tx.Put(key, b)
}

// DecodeAll decodes the values of es, in order.
func DecodeAll[T any](es []storage.Entry) ([]T, error) {
	out := make([]T, 0, len(es))
	for _, e := range es {
		var v T
		if err := decode(e.Key, e.Value, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func decode(key string, b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}
