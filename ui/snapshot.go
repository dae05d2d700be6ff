package ui

import (
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/nictab/nictab/netcfg"
)

// The snapshot screen: one snapshot's file, or what differs between it
// and the live state, or between it and the snapshot marked in the
// history; d switches between file and diff.

type snapshotScreen struct {
	id   string
	diff bool
	// against is the marked snapshot the diff starts from; "" diffs with
	// live.
	against string
	loading bool
	text    string
	changes *SnapshotDiff
	err     error
	vp      viewport.Model
	wide    int
	width   int
}

func (m *Model) openSnapshot(id string, diff bool) tea.Cmd {
	against := m.snaps.marked
	if against == id {
		against = ""
	}
	m.snap = snapshotScreen{id: id, diff: diff, against: against, loading: true, vp: m.snap.vp}
	m.screen = screenSnapshot
	m.snap.resize(m.width, m.bodyHeight())
	if diff {
		return diffCmd(m.be, id, against)
	}
	return snapshotTextCmd(m.be, id)
}

func (s *snapshotScreen) take(m *Model, msg tea.Msg) {
	switch msg := msg.(type) {
	case snapshotTextMsg:
		if msg.id != s.id || s.diff {
			return
		}
		s.loading, s.text, s.err = false, msg.text, msg.err
	case diffMsg:
		if msg.id != s.id || msg.against != s.against || !s.diff {
			return
		}
		s.loading, s.changes, s.err = false, msg.diff, msg.err
	}
	s.vp.GotoTop()
	s.refresh(m.st)
}

func (s *snapshotScreen) resize(w, h int) {
	s.width = w
	s.vp.SetWidth(w)
	s.vp.SetHeight(max(h-1, 1))
}

func (s *snapshotScreen) refresh(st Styles) {
	body := renderSnapshotBody(s, st)
	s.vp.SetContent(body)
	s.wide = widest(body)
}

func (s *snapshotScreen) view(w int, st Styles) string {
	other := "diff with live"
	if s.against != "" {
		other = "diff from " + s.against
	}
	t := tabs([]string{"snapshot file", other}, map[bool]int{false: 0, true: 1}[s.diff], st)
	return t + viewNote(&s.vp, s.wide, st, w-ansi.StringWidth(t)) + "\n" + s.vp.View()
}

func renderSnapshotBody(s *snapshotScreen, st Styles) string {
	switch {
	case s.loading:
		return " Reading..."
	case s.err != nil:
		return " " + st.Warning.Render("! ") + netcfg.SafeText(s.err.Error())
	case !s.diff:
		return indent(printable(s.text), " ")
	}
	d := s.changes
	var b strings.Builder
	switch {
	case (d == nil || len(d.Changes) == 0) && s.against != "":
		return " " + st.OK.Render("No differences:") + " snapshots " + s.against + " and " + s.id + " record the same rules and routes."
	case d == nil || len(d.Changes) == 0:
		return " " + st.OK.Render("No differences:") + " the live state is what this snapshot recorded."
	case s.against != "":
		b.WriteString(" " + hang("From "+s.against+" to "+s.id+": + is in "+s.id+" only, - is in "+s.against+" only.", max(s.width-2, 10), 1, st.Muted) + "\n")
	default:
		b.WriteString(" " + hang("From the snapshot to live: + is live and not in the snapshot, - is in the snapshot and gone from live.", max(s.width-2, 10), 1, st.Muted) + "\n")
	}
	var tables []uint32
	for i := range d.Changes {
		if t := d.Changes[i].Subject().Table(); !slices.Contains(tables, t) {
			tables = append(tables, t)
		}
	}
	slices.Sort(tables)
	for _, t := range tables {
		b.WriteString("\n " + st.Header.Render("table "+netcfg.SafeText(d.Names.TableLabel(t))) + "\n")
		for i := range d.Changes {
			c := &d.Changes[i]
			if c.Subject().Table() == t {
				b.WriteString("   " + diffStyle(c.Action, st).Render(printable(ChangeText(c, &d.Names))) + "\n")
			}
		}
	}
	return b.String()
}

// snapshotKey handles a key on the snapshot screen.
func (m *Model) snapshotKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	s := &m.snap
	switch {
	case scroll(&s.vp, msg, k):
	case key.Matches(msg, k.Back):
		m.back()
	case key.Matches(msg, k.Diff):
		return m.openSnapshot(s.id, !s.diff)
	case key.Matches(msg, k.Rollback):
		return m.openRollback(s.id)
	case key.Matches(msg, k.Export):
		return m.openExport(s.id)
	}
	return nil
}
