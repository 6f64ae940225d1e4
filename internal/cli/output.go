package cli

import (
	"encoding/json"
	"io"
	"strings"
	"text/tabwriter"

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

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
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

// clean keeps tabs and newlines inside a cell from breaking the rows.
func clean(r []string) []string {
	out := make([]string, len(r))
	for i, c := range r {
		out[i] = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(c)
	}
	return out
}
