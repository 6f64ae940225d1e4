package azapi

import (
	"bytes"
	"encoding/json"
	"testing"
)

// The answers are encoded by the go-json-experiment engine in its encoding/json mode
// (marshalJSON); a client must get the bytes encoding/json would have sent. The one
// difference is a string that is not UTF-8 (requests are refused with one, but a value
// parsed from a certificate may hold one): both put U+FFFD in place of the bad bytes,
// encoding/json as the escape \ufffd, the engine as the character itself, which every
// JSON reader decodes to the same string.
func TestEncodeJSONAsEncodingJSON(t *testing.T) {
	var buf bytes.Buffer
	encodeJSON := func(v any) ([]byte, error) {
		buf.Reset() // as the pool hands buffers back: reused, not fresh
		err := marshalJSON(&buf, v)
		return buf.Bytes(), err
	}
	val := "a<b>&c\u2028\u2029\"\\\x01é😀"
	days, yes, n := 90, true, int64(1700000000)
	values := []any{
		wireSecret{Value: &val, ID: "https://v.localhost/secrets/a<b>/0", ContentType: "text/<plain>",
			Attributes: wireAttributes{Enabled: &yes, Created: &n, RecoverableDays: &days, RecoveryLevel: "Recoverable+Purgeable"},
			Tags:       map[string]string{"z": "1", "a&": "<2>", "é": ""}, Managed: &yes, DeletedDate: &n},
		wireSecret{},
		map[string]any{"value": []any{nil, 1.5, 1e21, -0.0, "x", map[string]any{}}, "k": b64("\x00\xffabc")},
		struct {
			Items []wireSecret `json:"value"`
			Next  *string      `json:"nextLink"`
		}{},
	}
	for i, v := range values {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("value %d:\n got %s\nwant %s", i, got, want)
		}
	}
	bad := wireSecret{ID: "x\xffy"}
	want, _ := json.Marshal(bad)
	got, err := encodeJSON(bad)
	if err != nil {
		t.Fatal(err)
	}
	var a, b wireSecret
	if json.Unmarshal(want, &a) != nil || json.Unmarshal(got, &b) != nil || a.ID != b.ID || a.ID != "x\ufffdy" {
		t.Errorf("not UTF-8: got %s, encoding/json %s", got, want)
	}
}
