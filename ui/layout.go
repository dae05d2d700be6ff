package ui

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"charm.land/bubbles/v2/viewport"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// fit cuts every line of s to width (styled text is cut by what shows, not
// by bytes) and returns exactly height lines. A terminal that wraps a long
// line or scrolls on one line too many garbles the whole screen, so every
// frame goes through here.
func fit(s string, width, height int) []string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) > height {
		lines = lines[:height]
	}
	for i, l := range lines {
		lines[i] = cut(l, width)
	}
	for len(lines) < height {
		lines = append(lines, "")
	}
	return lines
}

// cut shortens one line to width cells, marking the cut with "…".
func cut(s string, width int) string {
	if width <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= width {
		return s
	}
	return ansi.Truncate(s, width, "…")
}

// hang wraps text to width cells and styles each line; lines after the
// first are indented by indent spaces, to hang under the first.
func hang(text string, width, indent int, style lipgloss.Style) string {
	lines := wrap(text, width)
	for i, l := range lines {
		lines[i] = style.Render(l)
		if i > 0 {
			lines[i] = strings.Repeat(" ", indent) + lines[i]
		}
	}
	return strings.Join(lines, "\n")
}

// pad fills a line with spaces to width cells.
func pad(s string, width int) string {
	if w := ansi.StringWidth(s); w < width {
		return s + strings.Repeat(" ", width-w)
	}
	return s
}

// titleBar is the top line: where the person is on the left, the
// namespace and live status on the right, in the bar style across the
// whole width.
func titleBar(left, right string, width int, st Styles) string {
	gap := width - ansi.StringWidth(left) - ansi.StringWidth(right)
	line := left
	if gap >= 1 {
		line += strings.Repeat(" ", gap) + right
	}
	return st.Bar.Render(pad(cut(line, width), width))
}

// box draws a dialog: lines inside a frame, at most width wide.
func box(lines []string, width int, frame lipgloss.Style) string {
	inner := 0
	for _, l := range lines {
		inner = max(inner, ansi.StringWidth(l))
	}
	// Border and padding take four cells.
	inner = min(inner, max(width-4, 10))
	for i, l := range lines {
		lines[i] = pad(cut(l, inner), inner)
	}
	return frame.Render(strings.Join(lines, "\n"))
}

// overlay puts a block (a dialog) over the middle of a frame of lines.
func overlay(frame []string, block string, width int) []string {
	bl := strings.Split(block, "\n")
	top := max((len(frame)-len(bl))/2, 0)
	bw := 0
	for _, l := range bl {
		bw = max(bw, ansi.StringWidth(l))
	}
	left := max((width-bw)/2, 0)
	out := append([]string(nil), frame...)
	for i, l := range bl {
		if top+i >= len(out) {
			break
		}
		out[top+i] = cut(strings.Repeat(" ", left)+l, width)
	}
	return out
}

// window returns the first row to show so that cursor is visible in a
// list of n rows of which visible fit, moving as little as possible from
// the previous offset.
func window(cursor, offset, n, visible int) int {
	if visible <= 0 || n <= visible {
		return 0
	}
	if cursor < offset {
		offset = cursor
	}
	if cursor >= offset+visible {
		offset = cursor - visible + 1
	}
	return min(max(offset, 0), n-visible)
}

// marker is the cursor column: ">" on the selected row, so it shows
// without colour and in a screen dump.
func marker(selected bool) string {
	if selected {
		return "> "
	}
	return "  "
}

// scrollNote says which rows of how many are shown, when not all are.
func scrollNote(offset, visible, n int, st Styles) string {
	if n <= visible {
		return ""
	}
	return st.Muted.Render(" " + strconv.Itoa(offset+1) + "-" + strconv.Itoa(min(offset+visible, n)) + " of " + strconv.Itoa(n))
}

// printable shows a file's text (a snapshot, an export) on the terminal:
// each control character, and each byte that is not UTF-8, becomes a
// visible \xNN, so no file can move the cursor or repaint the screen. Tabs
// become spaces. Unlike netcfg.SafeText it leaves backslashes alone: they
// are part of the YAML and Nix a person reads here.
func printable(s string) string {
	clean := true
	for _, c := range s {
		if (c < 0x20 && c != '\n') || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == '\t':
			b.WriteString("    ")
		case c == '\n':
			b.WriteByte('\n')
		case c == utf8.RuneError && n <= 1, c < 0x20, c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case c >= 0x80 && c < 0xa0:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// wrapCommand breaks a shell command to width at spaces, ending each broken
// line with " \" so that the lines still paste into a shell as one command.
func wrapCommand(cmd string, width int) []string {
	width = max(width, 20)
	if len(cmd) <= width {
		return []string{cmd}
	}
	var out []string
	line := ""
	for _, w := range strings.Split(cmd, " ") {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w)+2 <= width:
			line += " " + w
		default:
			out = append(out, line+" \\")
			line = "    " + w
		}
	}
	return append(out, line)
}

// viewNote says which lines of a scrolled text are shown, when not all
// fit, so a person knows there is more below; and, when lines are wider
// than the screen, that they scroll sideways.
// It takes the short form where the long one does not fit in room cells.
func viewNote(vp *viewport.Model, wide int, st Styles, room int) string {
	top, visible, total := vp.YOffset(), vp.Height(), vp.TotalLineCount()
	var long, short string
	if total > visible {
		rows := strconv.Itoa(top+1) + "-" + strconv.Itoa(min(top+visible, total)) + "/" + strconv.Itoa(total)
		long, short = "  lines "+rows, "  "+rows
		if top+visible < total {
			long += "  ↓ more"
			short += "↓"
		}
	}
	if w := vp.Width(); wide > w {
		cols := strconv.Itoa(vp.XOffset()+1) + "-" + strconv.Itoa(min(vp.XOffset()+w, wide)) + "/" + strconv.Itoa(wide)
		long += "  ←/→ cols " + cols
		short += "  ←→" + cols
	}
	if ansi.StringWidth(long) > room {
		long = short
	}
	if long == "" {
		return ""
	}
	return st.Muted.Render(long)
}

// widest is the width in cells of the widest line of s.
func widest(s string) int {
	w := 0
	for _, l := range strings.Split(s, "\n") {
		w = max(w, ansi.StringWidth(l))
	}
	return w
}
