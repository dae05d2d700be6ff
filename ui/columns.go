package ui

import (
	"strings"

	"charm.land/lipgloss/v2"
)

// renderColumns lays rows out in aligned columns under a header, indented
// by two spaces. Cells may hold styled text; widths count what is shown,
// not escape codes. The last column is not padded.
func renderColumns(header []string, rows [][]string, st Styles) string {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = lipgloss.Width(h)
	}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], lipgloss.Width(c))
		}
	}
	var b strings.Builder
	line := func(cells []string, style func(string) string) {
		var l strings.Builder
		l.WriteString("  ")
		for i, c := range cells {
			if i == len(cells)-1 {
				l.WriteString(style(c))
				break
			}
			l.WriteString(style(c))
			l.WriteString(strings.Repeat(" ", widths[i]-lipgloss.Width(c)+2))
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteByte('\n')
	}
	line(header, func(s string) string { return st.Muted.Render(s) })
	for _, r := range rows {
		line(r, func(s string) string { return s })
	}
	return b.String()
}
