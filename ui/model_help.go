package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// The `?` overlay and the help line: each screen's keys.

// fullHelp is the help overlay: the keys in columns where they fit, else
// one key a line; taller than the screen, it scrolls with ↑/↓.
func (m *Model) fullHelp(w, h int) string {
	lines := m.helpLines(w)
	close := "any other key closes this"
	room := max(h-2-4, 1) // frame, title, blank lines and the closing line
	if len(lines) > room {
		m.helpOff = min(max(m.helpOff, 0), len(lines)-room)
		more := fmt.Sprintf("keys %d-%d of %d · ↑/↓ scroll · ", m.helpOff+1, m.helpOff+room, len(lines))
		lines = lines[m.helpOff : m.helpOff+room]
		close = more + "other keys close"
	}
	lines = append([]string{m.st.Title.Render("Keys on this screen"), ""}, lines...)
	lines = append(lines, "", m.st.Muted.Render(close))
	return box(lines, w, m.st.Box)
}

// helpLines are the screen's keys as the overlay lists them.
func (m *Model) helpLines(w int) []string {
	hm := m.help
	hm.ShowAll = true
	hm.SetWidth(0)
	lines := strings.Split(hm.FullHelpView(m.helpKeys().FullHelp()), "\n")
	wide := 0
	for _, l := range lines {
		wide = max(wide, ansi.StringWidth(l))
	}
	if wide <= w-4 {
		return lines
	}
	lines = lines[:0]
	for _, group := range m.helpKeys().FullHelp() {
		for _, b := range group {
			if !b.Enabled() {
				continue
			}
			lines = append(lines, m.st.Key.Render(pad(b.Help().Key, 10))+" "+m.st.Muted.Render(b.Help().Desc))
		}
	}
	return lines
}

// helpKey scrolls the help overlay, or closes it.
func (m *Model) helpKey(msg tea.KeyPressMsg) {
	switch {
	case key.Matches(msg, m.keys.Up):
		m.helpOff--
	case key.Matches(msg, m.keys.Down):
		m.helpOff++
	case key.Matches(msg, m.keys.PageUp):
		m.helpOff -= m.bodyHeight() / 2
	case key.Matches(msg, m.keys.PageDown):
		m.helpOff += m.bodyHeight() / 2
	default:
		m.showHelp = false
		return
	}
	room := max(m.bodyHeight()-2-4, 1)
	m.helpOff = min(max(m.helpOff, 0), max(len(m.helpLines(max(m.width, 20)))-room, 0))
}

// helpKeys are the keys of the screen on show.
func (m *Model) helpKeys() helpKeys {
	if m.ask != nil {
		return m.keys.questionHelp()
	}
	return m.page().help(m)
}
