package wiretext

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEcho(t *testing.T) {
	name127 := strings.Repeat("n", 127)
	long := strings.Repeat("é", 100_000)
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"7.6", "7.6"},
		{name127, name127},
		{strings.Repeat("x", MaxEcho), strings.Repeat("x", MaxEcho)},
		{strings.Repeat("x", MaxEcho+1), strings.Repeat("x", MaxEcho) + "…"},
		{long, strings.Repeat("é", MaxEcho) + "…"}, // cut between characters, not inside one
	} {
		if got := Echo(tc.in); got != tc.want {
			t.Errorf("Echo(%d bytes) = %q (%d bytes), want %d bytes", len(tc.in), got, len(got), len(tc.want))
		}
	}
	if got := Echo("\xff\xfe" + strings.Repeat("x", 200)); utf8.RuneCountInString(got) != MaxEcho+1 {
		t.Errorf("invalid UTF-8 is cut at %d characters", utf8.RuneCountInString(got))
	}
}

func TestJSONTextProblem(t *testing.T) {
	for _, tc := range []struct {
		body, want string // want: a fragment of the problem, "" for none
	}{
		{`{"value":"plain"}`, ""},
		{`{"value":"é – 😀"}`, ""},
		{`{"value":"\u00e9 \ud83d\ude00 \\ud800 \" \\"}`, ""}, // a pair, and escaped backslashes before u
		{`{"value":"\uD83D\uDE00"}`, ""},
		{`{"value":"\ufffd"}`, ""}, // U+FFFD sent is U+FFFD stored
		{"{\"value\":\"\xff\"}", "byte 10 is not valid UTF-8"},
		{"{\"value\":\"a\xc3\"}", "byte 11 is not valid UTF-8"},
		{"{\"value\":\"\xed\xa0\x80\"}", "byte 10 is not valid UTF-8"}, // a surrogate written in UTF-8
		{`{"value":"\ud800"}`, "byte 10 is the first half of a UTF-16 surrogate pair without its second"},
		{`{"value":"\ud800\u0041"}`, "first half"},
		{`{"value":"\ud800\`, "first half"},
		{`{"value":"x\udc00"}`, "byte 11 is the second half of a UTF-16 surrogate pair without its first"},
		{`{"tags":{"\udfff":"v"}}`, "second half"},
		{`{"value":"\`, ""}, // malformed: the JSON decoder says so
		{`{"value":"\u12`, ""},
		{`\ud800`, ""}, // outside a string: not JSON at all, the decoder says so
	} {
		got := JSONTextProblem([]byte(tc.body))
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("JSONTextProblem(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

// FuzzJSONTextProblem: the check never panics, and a body it passes that Go decodes keeps
// every string as sent: no U+FFFD appears that the body did not carry.
func FuzzJSONTextProblem(f *testing.F) {
	for _, s := range []string{`{"v":"\ud83d\ude00"}`, `{"v":"\ud800"}`, "{\"v\":\"\xff\"}", `["\ufffd","\\u"]`, `"\u"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if JSONTextProblem(body) != "" {
			return
		}
		var v any
		if json.Unmarshal(body, &v) != nil {
			return
		}
		sent := strings.Count(string(body), "\uFFFD") + strings.Count(strings.ToLower(string(body)), `\ufffd`)
		if got := countReplacement(v); got > sent {
			t.Fatalf("%q decodes with %d U+FFFD, but carried %d", body, got, sent)
		}
	})
}

func countReplacement(v any) int {
	switch x := v.(type) {
	case string:
		return strings.Count(x, "\uFFFD")
	case []any:
		n := 0
		for _, e := range x {
			n += countReplacement(e)
		}
		return n
	case map[string]any:
		n := 0
		for k, e := range x {
			n += strings.Count(k, "\uFFFD") + countReplacement(e)
		}
		return n
	}
	return 0
}
