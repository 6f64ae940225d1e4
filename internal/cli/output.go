package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"
)

// table is the -o table / -o tsv form of an answer: a header and rows of cells.
type table struct {
	header []string
	rows   [][]string
}

// printObject prints one az-shaped object: JSON, or a table of cols with one row.
func printObject(cmd *cobra.Command, format string, m map[string]any, cols columns) error {
	return printOut(cmd.OutOrStdout(), format, m, mapTable([]map[string]any{m}, cols...))
}

// printList prints a list of az-shaped objects: JSON, or a table of cols.
func printList(cmd *cobra.Command, format string, items []map[string]any, cols columns) error {
	return printOut(cmd.OutOrStdout(), format, items, mapTable(items, cols...))
}

// printOut writes v as JSON (indented by two spaces, as az does), or tab() as an aligned
// table with a header (-o table) or as tab-separated rows without one (-o tsv).
func printOut(w io.Writer, format string, v any, tab func() table) error {
	switch format {
	case "table", "tsv":
		if tab != nil {
			t := tab()
			if format == "tsv" {
				return writeTSV(w, t)
			}
			return writeTable(w, t)
		}
	}
	return printJSON(w, v)
}

// printJSON writes v as indented JSON. encoding/json escapes the C0 control characters
// but writes DEL, the C1 control characters and the bidirectional controls as they are;
// they are escaped too (\u007f, \u009b, …), which is the same JSON, so that no text from
// the server reaches a terminal as something it would act on.
func printJSON(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(escapeJSONControls(b.Bytes()))
	return err
}

// escapeJSONControls escapes, as \uXXXX, the characters of encoded JSON that
// terminalSafe escapes and encoding/json leaves alone. They can only be inside strings
// (JSON's own syntax is ASCII), so the JSON means the same.
func escapeJSONControls(b []byte) []byte {
	if !bytes.ContainsFunc(b, func(r rune) bool { return r == 0x7f || isC1(r) || isBidiControl(r) }) {
		return b
	}
	out := make([]byte, 0, len(b)+32)
	for _, r := range string(b) {
		if r == 0x7f || isC1(r) || isBidiControl(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
			continue
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

// writeTable aligns the columns with two spaces between them; a row ends at its last
// character, without the padding of an empty last cell.
func writeTable(w io.Writer, t table) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	dashes := make([]string, len(t.header))
	for i, h := range t.header {
		dashes[i] = strings.Repeat("-", len(h))
	}
	io.WriteString(tw, strings.Join(t.header, "\t")+"\n")
	io.WriteString(tw, strings.Join(dashes, "\t")+"\n")
	for _, r := range t.rows {
		io.WriteString(tw, strings.Join(clean(r), "\t")+"\n")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	lines := strings.SplitAfter(b.String(), "\n")
	for i, l := range lines {
		if strings.HasSuffix(l, "\n") {
			lines[i] = strings.TrimRight(l, " \n") + "\n"
		}
	}
	_, err := io.WriteString(w, strings.Join(lines, ""))
	return err
}

func writeTSV(w io.Writer, t table) error {
	for _, r := range t.rows {
		if _, err := io.WriteString(w, strings.Join(clean(r), "\t")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// clean makes each cell of a row safe for a terminal (terminalSafe); escaping tabs and
// newlines also keeps a cell from breaking the rows.
func clean(r []string) []string {
	out := make([]string, len(r))
	for i, c := range r {
		out[i] = terminalSafe(c)
	}
	return out
}

// terminalSafe escapes what a terminal would act on instead of showing, as ls and git do:
// the C0 control characters (ESC, NUL, tab, newline, …) as \a \b \t \n \v \f \r \e or
// \xHH, DEL as \x7f, the C1 control characters (U+009B is CSI) and the bidirectional
// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069, which reorder the text
// shown around them) as \uXXXX, and bytes that are not UTF-8 as \xHH. Everything else,
// backslashes included, is left as it is: a table is for reading, -o json has the exact
// value.
func terminalSafe(s string) string {
	if !strings.ContainsFunc(s, needsEscape) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f:
			if e := cEscape[r]; e != "" {
				b.WriteString(e)
			} else {
				fmt.Fprintf(&b, `\x%02x`, r)
			}
		case isC1(r) || isBidiControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

var cEscape = map[rune]string{'\a': `\a`, '\b': `\b`, '\t': `\t`, '\n': `\n`, '\v': `\v`, '\f': `\f`, '\r': `\r`, 0x1b: `\e`}

func needsEscape(r rune) bool { return r < 0x20 || r == 0x7f || isC1(r) || isBidiControl(r) }

func isC1(r rune) bool { return r >= 0x80 && r <= 0x9f }

func isBidiControl(r rune) bool { return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 }
