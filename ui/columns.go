package ui

import (
	"strings"

	"charm.land/lipgloss/v2"
)

// renderColumns lays rows out in aligned columns under a header, indented
// by two spaces. Cells may hold styled text; widths count what is shown,
// not escape codes. The last column is not padded.
func renderColumns(header []string, rows [][]string, st Styles) string {
	all := append([][]string{header}, rows...)
	return alignColumns(all, len(header)-1, func(row int, s string) string {
		if row == 0 {
			return st.Muted.Render(s)
		}
		return s
	})
}

// renderRows lays out label/value rows, two spaces in: the labels aligned,
// the values after them.
func renderRows(rows [][]string) string {
	return alignColumns(rows, 1, func(_ int, s string) string { return s })
}

// alignColumns writes each row two spaces in, its first n cells padded to
// the widest of their column (counting what is shown, not escape codes),
// the cells after them joined by two spaces, and no trailing blanks.
func alignColumns(rows [][]string, n int, style func(row int, cell string) string) string {
	widths := make([]int, n)
	for _, r := range rows {
		for i := 0; i < n && i < len(r); i++ {
			widths[i] = max(widths[i], lipgloss.Width(r[i]))
		}
	}
	var b strings.Builder
	for ri, r := range rows {
		var l strings.Builder
		l.WriteString("  ")
		for i, c := range r {
			switch {
			case i < n && i < len(r)-1:
				l.WriteString(style(ri, c))
				l.WriteString(strings.Repeat(" ", widths[i]-lipgloss.Width(c)+2))
			case i > n:
				l.WriteString("  ")
				fallthrough
			default:
				l.WriteString(style(ri, c))
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteByte('\n')
	}
	return b.String()
}
