package ui

import (
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nictab/nictab/netcfg"
)

// The snapshots screen: the history, newest first, damaged files shown
// as such; from here a snapshot is read, compared with live, rolled back
// to or exported.

type snapshotsScreen struct {
	loading bool
	// all is the history as read; list is what the filter keeps of it.
	all    []SnapshotInfo
	list   []SnapshotInfo
	hay    []string
	filter filter
	err    error
	cursor int
	offset int
	rows   int
	// marked is the snapshot d diffs from instead of live.
	marked string
}

// detailLines is the room under the list for the selected snapshot.
const detailLines = 5

// openSnapshots shows the history from its newest entry.
func (m *Model) openSnapshots() tea.Cmd {
	m.screen = screenSnapshots
	m.snaps.cursor, m.snaps.offset = 0, 0
	m.snaps.loading = true
	m.snaps.reflow(m.bodyHeight())
	return historyCmd(m.be)
}

func (s *snapshotsScreen) take(msg historyMsg) {
	s.loading, s.all, s.err = false, msg.list, msg.err
	s.hay = nil
	s.applyFilter("")
	s.cursor = min(s.cursor, max(len(s.list)-1, 0))
}

func (s *snapshotsScreen) reflow(height int) {
	s.rows = max(height-2-detailLines, 1)
	s.offset = window(s.cursor, s.offset, len(s.list), s.rows)
}

func (s *snapshotsScreen) selected() (SnapshotInfo, bool) {
	if s.cursor < len(s.list) {
		return s.list[s.cursor], true
	}
	return SnapshotInfo{}, false
}

// snapshotsKey handles a key on the snapshots screen.
func (m *Model) snapshotsKey(msg tea.KeyPressMsg) tea.Cmd {
	s := &m.snaps
	k := m.keys
	if s.filter.typing || (s.filter.active() && key.Matches(msg, k.Back)) || key.Matches(msg, k.Filter) {
		if m.snapshotsFilterKey(msg) {
			return nil
		}
	}
	n := len(s.list)
	switch {
	case key.Matches(msg, k.Back):
		m.back()
		return nil
	case key.Matches(msg, k.Up):
		s.cursor = max(s.cursor-1, 0)
	case key.Matches(msg, k.Down):
		s.cursor = min(s.cursor+1, max(n-1, 0))
	case key.Matches(msg, k.PageUp):
		s.cursor = max(s.cursor-s.rows, 0)
	case key.Matches(msg, k.PageDown):
		s.cursor = min(s.cursor+s.rows, max(n-1, 0))
	case key.Matches(msg, k.Top):
		s.cursor = 0
	case key.Matches(msg, k.Bottom):
		s.cursor = max(n-1, 0)
	case key.Matches(msg, k.Reload):
		s.loading = true
		return historyCmd(m.be)
	case key.Matches(msg, k.Mark):
		if info, ok := s.selected(); ok && info.Damaged == "" {
			if s.marked == info.ID {
				s.marked = ""
			} else {
				s.marked = info.ID
				m.setFlash("marked "+info.ID+": d on another snapshot diffs from it; m again unmarks", false)
			}
		}
	case key.Matches(msg, k.Open), key.Matches(msg, k.Diff), key.Matches(msg, k.Rollback), key.Matches(msg, k.Export):
		return m.snapshotAction(msg)
	}
	s.reflow(m.bodyHeight())
	return nil
}

func (m *Model) snapshotAction(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	info, ok := m.snaps.selected()
	if !ok {
		m.setFlash("no snapshot selected", true)
		return nil
	}
	if info.Damaged != "" {
		m.setFlash("snapshot "+info.ID+" is damaged and cannot be used: "+firstLine(info.Damaged), true)
		return nil
	}
	switch {
	case key.Matches(msg, k.Open):
		return m.openSnapshot(info.ID, false)
	case key.Matches(msg, k.Diff):
		return m.openSnapshot(info.ID, true)
	case key.Matches(msg, k.Rollback):
		return m.openRollback(info.ID)
	case key.Matches(msg, k.Export):
		return m.openExport(info.ID)
	}
	return nil
}

// renderSnapshots draws the history and the selected snapshot's details.
func renderSnapshots(s snapshotsScreen, width, height int, st Styles) string {
	var b strings.Builder
	switch {
	case s.loading && len(s.list) == 0:
		return "\n Reading the history..."
	case s.err != nil:
		return "\n " + st.Warning.Render("! cannot read the history: ") + netcfg.SafeText(s.err.Error())
	case len(s.all) == 0:
		return "\n No snapshots yet: every change kept here or with `nictab apply` saves one.\n\n " + st.Muted.Render("esc goes back")
	}
	b.WriteString(" " + st.Title.Render("History") + st.Muted.Render("  newest first, * is live, m marked") + scrollNote(s.offset, s.rows, len(s.list), st) +
		filterNote(&s.filter, len(s.all), st) + "\n")
	if len(s.list) == 0 {
		return b.String() + "\n  No snapshot matches the filter: backspace to widen it, esc to clear it."
	}
	cols := []int{20, 16, 8}
	b.WriteString("  " + st.Muted.Render(row(cols, "ID", "TIME", "KIND", "SUMMARY")) + "\n")
	for i := s.offset; i < min(s.offset+s.rows, len(s.list)); i++ {
		e := s.list[i]
		sel := i == s.cursor
		id := e.ID
		if e.Live {
			id += " *"
		}
		if e.ID == s.marked {
			id += " m"
		}
		var line string
		if e.Damaged != "" {
			line = row(cols, cut(id, 20), "", "DAMAGED", firstLine(netcfg.SafeText(e.Damaged)))
			if !sel {
				line = row(cols, cut(id, 20), "", st.Danger.Render("DAMAGED"), st.Removed.Render(firstLine(netcfg.SafeText(e.Damaged))))
			}
		} else {
			what := netcfg.SafeText(e.Summary)
			if e.Comment != "" {
				what = netcfg.SafeText(e.Comment) + " - " + what
			}
			line = row(cols, cut(id, 20), e.Time.Local().Format(time.DateOnly+" 15:04"), e.Kind, what)
		}
		if sel {
			line = st.Selected.Render(cut(line, width-3))
		}
		b.WriteString(marker(sel) + line + "\n")
	}
	for i := len(s.list) - s.offset; i < s.rows; i++ {
		b.WriteByte('\n')
	}
	b.WriteString("\n" + snapshotDetail(s, width, st))
	return b.String()
}

// snapshotDetail shows all of the selected entry that the row cut off.
func snapshotDetail(s snapshotsScreen, width int, st Styles) string {
	e, ok := s.selected()
	if !ok {
		return ""
	}
	var lines []string
	if e.Damaged != "" {
		lines = append(lines, st.Danger.Render(" damaged ")+" "+netcfg.SafeText(e.File))
		lines = append(lines, wrap(netcfg.SafeText(e.Damaged), width-4)...)
	} else {
		lines = append(lines, st.Title.Render(e.ID)+"  "+e.Time.Local().Format(time.DateTime)+"  "+e.Kind)
		if e.Comment != "" {
			lines = append(lines, netcfg.SafeText(e.Comment))
		}
		lines = append(lines, wrap(netcfg.SafeText(e.Summary), width-4)...)
	}
	for i := range lines {
		lines[i] = " " + lines[i]
	}
	if len(lines) > detailLines {
		lines = lines[:detailLines]
	}
	return strings.Join(lines, "\n")
}
