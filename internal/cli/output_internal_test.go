package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// hostile holds what a terminal acts on instead of showing: an SGR sequence (ESC [31m),
// NUL, a title-setting OSC ended by BEL, C1 CSI, DEL, a right-to-left override, a byte
// that is not UTF-8, and a tab and a newline that would break a row.
const hostile = "\x1b[31mred\x00 \x1b]0;owned\a \u009b2J \x7f \u202eevil \xff a\tb\nc"

const hostileEscaped = `\e[31mred\x00 \e]0;owned\a \u009b2J \x7f \u202eevil \xff a\tb\nc`

// rawControl reports the first character a terminal would act on, but for the newlines
// and tabs that lay out rows and cells.
func rawControl(s string) (rune, bool) {
	for _, r := range s {
		if r != '\n' && r != '\t' && needsEscape(r) || r == 0xfffd {
			return r, true
		}
	}
	return 0, false
}

// TestTableAndTSVEscapeControls: a contentType and a tag holding control characters are
// printed escaped, as ls and git print them, in -o table and -o tsv.
func TestTableAndTSVEscapeControls(t *testing.T) {
	item := map[string]any{"name": "s", "contentType": hostile, "tags": map[string]*string{"k\x1b": ptr(hostile)}}
	cols := columns{{"Name", "name"}, {"ContentType", "contentType"}, {"Tags", "tags"}}
	for _, format := range []string{"table", "tsv"} {
		var b bytes.Buffer
		if err := printOut(&b, format, item, mapTable([]map[string]any{item}, cols...)); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if r, ok := rawControl(out); ok || !utf8Valid(out) {
			t.Errorf("-o %s writes %U raw:\n%q", format, r, out)
		}
		if !strings.Contains(out, hostileEscaped) || !strings.Contains(out, `k\e=`+hostileEscaped) {
			t.Errorf("-o %s does not show the escaped value:\n%s", format, out)
		}
		if lines, tabs := strings.Count(out, "\n"), strings.Count(out, "\t"); format == "tsv" && (lines != 1 || tabs != 2) || format == "table" && (lines != 3 || tabs != 0) {
			t.Errorf("-o %s: the value broke the rows (%d lines):\n%s", format, lines, out)
		}
	}
	if got := terminalSafe(`C:\temp, é, 😀, "quoted"`); got != `C:\temp, é, 😀, "quoted"` {
		t.Errorf("printable text changed: %q", got)
	}
}

// TestJSONEscapesControls: -o json writes no raw control character either, and its JSON
// still decodes to the exact value.
func TestJSONEscapesControls(t *testing.T) {
	v := map[string]string{"contentType": strings.ToValidUTF8(hostile, "\ufffd")}
	var b bytes.Buffer
	if err := printOut(&b, "json", v, nil); err != nil {
		t.Fatal(err)
	}
	if r, ok := rawControl(b.String()); ok && r != 0xfffd {
		t.Errorf("-o json writes %U raw:\n%s", r, b.String())
	}
	for _, esc := range []string{`\u001b[31m`, `\u0000`, `\u009b`, `\u007f`, `\u202e`} {
		if !strings.Contains(b.String(), esc) {
			t.Errorf("-o json lacks %s:\n%s", esc, b.String())
		}
	}
	var back map[string]string
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back["contentType"] != v["contentType"] {
		t.Errorf("the JSON decodes to %q (%v), want %q", back["contentType"], err, v["contentType"])
	}
}

// TestErrorLinesEscapeControls: an error message from the server, and its hints, reach
// stderr escaped; the server's \r\n ends a line.
func TestErrorLinesEscapeControls(t *testing.T) {
	var b bytes.Buffer
	writeError(&b, "bad name: \x1b[2Jx\r\nsecond \x9b", []string{"hint \x00"})
	want := "coffer: error: bad name: \\e[2Jx\ncoffer: hint: second \\x9b\ncoffer: hint: hint \\x00\n"
	if b.String() != want {
		t.Errorf("stderr:\n%q\nwant\n%q", b.String(), want)
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "") == s }
