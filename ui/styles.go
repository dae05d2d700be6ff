// Package ui holds nictab's views: the text that `nictab show` and `nictab
// plan` print, and the terminal UI. It renders values that netcfg and
// snapshots return and never talks to the kernel itself.
package ui

import (
	"io"
	"os"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
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
}

// DefaultStyles builds the styles for a renderer. With the Ascii profile
// (NO_COLOR, --no-color, a pipe) every style renders plain text, and diffs
// still read by their +/-/~ marks.
func DefaultStyles(r *lipgloss.Renderer) Styles {
	s := r.NewStyle
	return Styles{
		Title:    s().Bold(true),
		Header:   s().Bold(true).Underline(true),
		Added:    s().Foreground(lipgloss.AdaptiveColor{Light: "2", Dark: "10"}),
		Removed:  s().Foreground(lipgloss.AdaptiveColor{Light: "1", Dark: "9"}),
		Changed:  s().Foreground(lipgloss.AdaptiveColor{Light: "3", Dark: "11"}),
		Muted:    s().Faint(true),
		Warning:  s().Foreground(lipgloss.AdaptiveColor{Light: "3", Dark: "11"}).Bold(true),
		Danger:   s().Foreground(lipgloss.Color("15")).Background(lipgloss.Color("1")).Bold(true),
		OK:       s().Foreground(lipgloss.AdaptiveColor{Light: "2", Dark: "10"}).Bold(true),
		Owned:    s().Foreground(lipgloss.AdaptiveColor{Light: "4", Dark: "12"}),
		Key:      s().Bold(true),
		Selected: s().Reverse(true),
		Border:   s().Foreground(lipgloss.Color("8")),
		Command:  s().Foreground(lipgloss.AdaptiveColor{Light: "5", Dark: "13"}),
		Bar:      s().Foreground(lipgloss.Color("15")).Background(lipgloss.Color("4")).Bold(true),
		Focus:    s().Foreground(lipgloss.AdaptiveColor{Light: "4", Dark: "14"}).Bold(true),
		Box:      s().Border(lipgloss.NormalBorder()).BorderForeground(lipgloss.Color("8")).Padding(0, 1),
		Alarm:    s().Border(lipgloss.DoubleBorder()).BorderForeground(lipgloss.Color("11")).Padding(0, 1),
	}
}

// MonoStyles are the terminal UI's styles without colour, for NO_COLOR and
// --no-color: bold, underline and reverse video stay, so the cursor, the
// focus and the title bar remain visible, and diffs read by their +/-/~
// marks.
func MonoStyles(r *lipgloss.Renderer) Styles {
	st := DefaultStyles(r)
	for _, p := range []*lipgloss.Style{
		&st.Title, &st.Header, &st.Added, &st.Removed, &st.Changed, &st.Muted, &st.Warning,
		&st.OK, &st.Owned, &st.Key, &st.Selected, &st.Border, &st.Command, &st.Focus, &st.Box, &st.Alarm,
	} {
		*p = p.UnsetForeground().UnsetBackground().UnsetBorderForeground()
	}
	st.Danger = st.Danger.UnsetForeground().UnsetBackground().Reverse(true)
	st.Bar = st.Bar.UnsetForeground().UnsetBackground().Reverse(true)
	return st
}

// NewRenderer returns a renderer for w that honours NO_COLOR and noColor,
// and limits colours to what the terminal says it has.
func NewRenderer(w io.Writer, noColor bool) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(w)
	// Without this the first adaptive colour asks the terminal for its
	// background (OSC 11) and waits for the answer: seconds over a slow
	// SSH link, and the answer can land in the TUI's input.
	r.SetHasDarkBackground(DarkBackground())
	if noColor || os.Getenv("NO_COLOR") != "" {
		r.SetColorProfile(termenv.Ascii)
	}
	return r
}

// TerminalStyles are the terminal UI's styles for the terminal w. With
// NO_COLOR or --no-color they carry no colour but keep bold and reverse
// video (termenv would drop those too), so the cursor stays visible.
func TerminalStyles(w io.Writer, noColor bool) Styles {
	r := lipgloss.NewRenderer(w)
	r.SetHasDarkBackground(DarkBackground())
	if noColor || os.Getenv("NO_COLOR") != "" {
		if os.Getenv("TERM") != "dumb" {
			r.SetColorProfile(termenv.ANSI)
		}
		return MonoStyles(r)
	}
	return DefaultStyles(r)
}

// DarkBackground guesses the terminal's background from COLORFGBG (set by
// rxvt, konsole and others as "fg;bg"); without it, dark, as terminals and
// the Linux console mostly are.
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

// PlainStyles renders no colour and no attributes: for golden files and
// scripts.
func PlainStyles() Styles {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return DefaultStyles(r)
}
