// Package ui holds nictab's views: the text that `nictab show` and `nictab
// plan` print, and the terminal UI. It renders values that netcfg and
// snapshots return and never talks to the kernel itself.
package ui

import (
	"io"
	"os"

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
	}
}

// NewRenderer returns a renderer for w that honours NO_COLOR and noColor,
// and limits colours to what the terminal says it has.
func NewRenderer(w io.Writer, noColor bool) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(w)
	if noColor || os.Getenv("NO_COLOR") != "" {
		r.SetColorProfile(termenv.Ascii)
	}
	return r
}

// PlainStyles renders no colour and no attributes: for golden files and
// scripts.
func PlainStyles() Styles {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return DefaultStyles(r)
}
