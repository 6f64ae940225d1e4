package audit

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestAppendLineAsEncodingJSON: the line appendLine writes is encoding/json's, byte for
// byte, including the escapes of awkward text (HTML, invalid UTF-8, U+2028, controls).
func TestAppendLineAsEncodingJSON(t *testing.T) {
	odd := "a<b>&c\xff\u2028\u2029\x01\"\\é"
	events := []Event{
		{Phase: "outcome", RequestID: "r1", Time: time.UnixMilli(1700000000123), Status: 200, Duration: 1500 * time.Microsecond},
		{Phase: "request", RequestID: odd, Source: odd, Vault: odd, Operation: odd, ObjectID: odd, Decision: odd, Plane: odd,
			Principal: Principal{TenantID: odd, ClientID: odd, ObjectID: odd}},
		{Phase: "checkpoint", Ledger: &LedgerHead{Seq: 7, Count: 3, Hash: odd}},
		{},
	}
	for _, e := range events {
		for _, brief := range []bool{false, true} {
			got, err := appendLine([]byte("x"), e, "tenant", brief)
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(toWire(e, "tenant", brief))
			if err != nil {
				t.Fatal(err)
			}
			if w := "x" + string(want) + "\n"; string(got) != w {
				t.Errorf("appendLine(%+v, brief %v)\n got %q\nwant %q", e, brief, got, w)
			}
		}
	}
}

// TestValidUTF8SeesEveryString: a string field added to wireEvent is checked too, or a
// line with invalid UTF-8 in it would no longer be encoding/json's.
func TestValidUTF8SeesEveryString(t *testing.T) {
	typ := reflect.TypeFor[wireEvent]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		w := wireEvent{Ledger: &LedgerHead{}}
		switch f.Type.Kind() {
		case reflect.String:
			reflect.ValueOf(&w).Elem().Field(i).SetString("\xff")
		case reflect.Int, reflect.Int64:
			continue
		default:
			if f.Name != "Ledger" {
				t.Fatalf("wireEvent.%s: a field validUTF8 does not know", f.Name)
			}
			w.Ledger.Hash = "\xff"
		}
		if w.validUTF8() {
			t.Errorf("validUTF8 misses invalid UTF-8 in wireEvent.%s", f.Name)
		}
	}
}
