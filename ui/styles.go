// Package ui holds nictab's views: the text that `nictab show` and `nictab
// plan` print, and the terminal UI. It renders values that netcfg and
// snapshots return and never talks to the kernel itself.
package ui

import (
	"io"
	"os"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
)

// Styles names every style by what it means. Views take a Styles and never
// make styles of their own, so colour can be switched off in one place.
type Styles struct {
	Title   lipgloss.Style
	Header  lipgloss.Style
	Added   lipgloss.Style
	Removed lipgloss.Style
	Changed lipgloss.Style
	Muted   lipgloss.Style
	Warning lipgloss.Style
	Danger  lipgloss.Style
	OK      lipgloss.Style
	Owned   lipgloss.Style
	Key     lipgloss.Style
	// Selected marks the row under the cursor; it must stay visible without
	// colour, so it is reverse video.
	Selected lipgloss.Style
	Border   lipgloss.Style
	Command  lipgloss.Style

	// Bar is the title bar at the top of the terminal UI.
	Bar lipgloss.Style
	// Focus marks the field or pane that keys go to.
	Focus lipgloss.Style
	// Box frames a dialog.
	Box lipgloss.Style
	// Alarm frames a dialog that asks for a decision with a deadline.
	Alarm lipgloss.Style
	// Plain is text as it is.
	Plain lipgloss.Style
}

// DefaultStyles are the styles in the 16 ANSI colours, picked for a dark
// or a light background. Lip Gloss v2 styles carry no terminal: what the
// terminal cannot show is dropped where the text is written (by Bubble
// Tea in the terminal UI, by OutputStyles' choice in the CLI).
func DefaultStyles(dark bool) Styles {
	s := lipgloss.NewStyle
	ld := lipgloss.LightDark(dark)
	c := lipgloss.Color
	return Styles{
		Title:    s().Bold(true),
		Header:   s().Bold(true).Underline(true),
		Added:    s().Foreground(ld(c("2"), c("10"))),
		Removed:  s().Foreground(ld(c("1"), c("9"))),
		Changed:  s().Foreground(ld(c("3"), c("11"))),
		Muted:    s().Faint(true),
		Warning:  s().Foreground(ld(c("3"), c("11"))).Bold(true),
		Danger:   s().Foreground(c("15")).Background(c("1")).Bold(true),
		OK:       s().Foreground(ld(c("2"), c("10"))).Bold(true),
		Owned:    s().Foreground(ld(c("4"), c("12"))),
		Key:      s().Bold(true),
		Selected: s().Reverse(true),
		Border:   s().Foreground(c("8")),
		Command:  s().Foreground(ld(c("5"), c("13"))),
		Bar:      s().Foreground(c("15")).Background(c("4")).Bold(true),
		Focus:    s().Foreground(ld(c("4"), c("14"))).Bold(true),
		Box:      s().Border(lipgloss.NormalBorder()).BorderForeground(c("8")).Padding(0, 1),
		Alarm:    s().Border(lipgloss.DoubleBorder()).BorderForeground(c("11")).Padding(0, 1),
	}
}

// MonoStyles are the terminal UI's styles without colour, for NO_COLOR and
// --no-color: bold, underline and reverse video stay, so the cursor, the
// focus and the title bar remain visible, and diffs read by their +/-/~
// marks.
func MonoStyles() Styles {
	st := DefaultStyles(true)
	for _, p := range st.all() {
		*p = p.UnsetForeground().UnsetBackground().UnsetBorderForeground()
	}
	st.Danger = st.Danger.Reverse(true)
	st.Bar = st.Bar.Reverse(true)
	return st
}

// PlainStyles render no colour and no attributes, only the frames of
// dialogs: for golden files, pipes and scripts.
func PlainStyles() Styles {
	st := DefaultStyles(true)
	for _, p := range st.all() {
		b := p.GetBorderStyle()
		top, right, bottom, left := p.GetPadding()
		*p = lipgloss.NewStyle()
		if p == &st.Box || p == &st.Alarm {
			*p = p.Border(b).Padding(top, right, bottom, left)
		}
	}
	return st
}

func (st *Styles) all() []*lipgloss.Style {
	return []*lipgloss.Style{
		&st.Title, &st.Header, &st.Added, &st.Removed, &st.Changed, &st.Muted, &st.Warning, &st.Danger,
		&st.OK, &st.Owned, &st.Key, &st.Selected, &st.Border, &st.Command, &st.Bar, &st.Focus, &st.Box, &st.Alarm,
	}
}

// OutputStyles are the styles for text the CLI writes to w: colour on a
// terminal that has it, nothing on a pipe, with NO_COLOR or noColor. The
// profile comes from TERM, NO_COLOR and the like, and whether w is a
// terminal; nothing is asked of the terminal, so no command waits on it.
func OutputStyles(w io.Writer, noColor bool) Styles {
	p := colorprofile.Detect(w, os.Environ())
	if noColor || p <= colorprofile.ASCII {
		return PlainStyles()
	}
	return DefaultStyles(DarkBackground())
}

// TerminalStyles are the terminal UI's styles. With NO_COLOR or
// --no-color they carry no colour but keep bold and reverse video, so the
// cursor stays visible. Bubble Tea drops what the terminal cannot show.
func TerminalStyles(noColor bool) Styles {
	if noColor || os.Getenv("NO_COLOR") != "" {
		return MonoStyles()
	}
	return DefaultStyles(DarkBackground())
}

// DarkBackground guesses the terminal's background from COLORFGBG (set by
// rxvt, konsole and others as "fg;bg"); without it, dark, as terminals and
// the Linux console mostly are. The terminal is not asked (OSC 11): one
// that never answers would hold every start-up.
func DarkBackground() bool {
	v := os.Getenv("COLORFGBG")
	if i := strings.LastIndexByte(v, ';'); i >= 0 {
		switch v[i+1:] {
		case "7", "15":
			return false
		}
	}
	return true
}
