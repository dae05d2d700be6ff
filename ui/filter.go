package ui

import (
	"strconv"
	"strings"
	"time"
	"unicode"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nictab/nictab/netcfg"
)

// Find: `/` filters the focused list, as in lazygit and k9s. Each word
// typed must appear in a row (case does not matter) for the row to stay.
// A row's text is lowered once, when a filter first needs it, and typing
// one more letter narrows the rows already kept rather than all of them,
// so a pane of ten thousand rules filters as fast as it scrolls.

// filter is one list's find: the text, whether keys go to it, and the
// rows it keeps.
type filter struct {
	text   string
	typing bool
	// keep are the kept rows' indexes into the whole list, in order;
	// nil when there is no filter.
	keep []int
	// seen are the rows kept by each text typed since the list was last
	// read, so that backspace goes back to one without looking again.
	seen map[string][]int
}

func (f *filter) active() bool { return f.text != "" }

// matchTerms splits what was typed into lowered words.
func matchTerms(text string) []string { return strings.Fields(strings.ToLower(text)) }

// matches reports whether every word appears in hay, which is lowered.
func matches(hay string, terms []string) bool {
	for _, t := range terms {
		if !strings.Contains(hay, t) {
			return false
		}
	}
	return true
}

// refilter sets f.keep for the list's haystacks. When the new text only
// adds to the old one, every row it keeps was kept before, so only those
// are looked at again.
func (f *filter) refilter(old string, hay []string) {
	if f.text == "" {
		f.keep = nil
		return
	}
	if k, ok := f.seen[f.text]; ok {
		f.keep = k
		return
	}
	terms := matchTerms(f.text)
	var from []int
	if old != "" && f.keep != nil && strings.HasPrefix(f.text, old) {
		from = f.keep
	}
	// Room for every candidate: one allocation, not a dozen doublings.
	n := len(hay)
	if from != nil {
		n = len(from)
	}
	keep := make([]int, 0, n)
	if from != nil {
		for _, i := range from {
			if matches(hay[i], terms) {
				keep = append(keep, i)
			}
		}
	} else {
		for i, h := range hay {
			if matches(h, terms) {
				keep = append(keep, i)
			}
		}
	}
	f.keep = keep
	if f.seen == nil {
		f.seen = map[string][]int{}
	}
	f.seen[f.text] = keep
}

// edit takes a key while the filter is typed: a letter adds to it,
// backspace takes one away. It reports whether the key was one of those.
func (f *filter) edit(msg tea.KeyPressMsg) bool {
	switch msg.String() {
	case "backspace", "ctrl+h":
		if f.text != "" {
			r := []rune(f.text)
			f.text = string(r[:len(r)-1])
		}
		return true
	case "ctrl+u":
		f.text = ""
		return true
	}
	if msg.Text == "" || msg.Mod&^tea.ModShift != 0 {
		return false
	}
	for _, r := range msg.Text {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	// A filter is a few words; a long paste is not one.
	if len(f.text)+len(msg.Text) <= 128 {
		f.text += msg.Text
	}
	return true
}

// filterNote is what a list's title says of its filter: the text, with a
// cursor while it is typed, and how many rows of how many it keeps.
func filterNote(f *filter, total int, st Styles) string {
	if !f.active() && !f.typing {
		return ""
	}
	text := "/" + netcfg.SafeText(f.text)
	if f.typing {
		text += "_"
	}
	kept := total
	if f.keep != nil {
		kept = len(f.keep)
	}
	note := "  " + st.Key.Render(text)
	if f.active() {
		note += st.Muted.Render("  " + strconv.Itoa(kept) + " of " + strconv.Itoa(total))
	}
	return note
}

// nicsHay are the lowered texts the NICs, tables and rules are found by:
// what each row shows, and the words a person would look for (owner,
// family, state).
type nicsHay struct {
	built [paneCount]bool
	hay   [paneCount][]string
}

func (h *nicsHay) pane(p pane, v *ShowView, names *netcfg.Names) []string {
	if h.built[p] {
		return h.hay[p]
	}
	var out []string
	switch p {
	case paneNICs:
		out = make([]string, len(v.NICs))
		for i, n := range v.NICs {
			parts := []string{n.Name, n.Kind, n.State, n.MAC, n.Alias, n.Master}
			parts = append(parts, n.Addrs...)
			parts = append(parts, n.Gateways...)
			for _, t := range n.Tables {
				parts = append(parts, tableLabel(t.ID, t.Name))
				if t.Owned {
					parts = append(parts, "nictab")
				}
			}
			if len(n.Tables) == 0 {
				parts = append(parts, "main")
			}
			out[i] = strings.ToLower(strings.Join(parts, " "))
		}
	case paneTables:
		out = make([]string, len(v.Tables))
		for i, t := range v.Tables {
			s := tableLabel(t.ID, t.Name)
			switch {
			case t.Owned:
				s += " nictab"
			case netcfg.ReservedTable(t.ID):
				s += " kernel"
			}
			out[i] = strings.ToLower(s)
		}
	case paneRules:
		// The text `ip rule` prints, made once per state read, and the
		// table as the pane labels it; RuleText per rule would cost ten
		// times as much on the first letter.
		out = make([]string, len(v.Rules))
		for i := range v.Rules {
			r := &v.Rules[i]
			out[i] = strings.ToLower(strconv.FormatUint(uint64(r.Priority), 10) + " " + famLabel(r.Family) + " " +
				ruleOwner(&r.Rule) + " " + r.Text + " " + tableLabel(r.Table, r.TableName))
		}
	}
	h.hay[p], h.built[p] = out, true
	return out
}

// filteredShow is the view the NICs screen lists: the whole one, or the
// rows the panes' filters keep.
func filteredShow(v *ShowView, f *[paneCount]filter) ShowView {
	out := *v
	if k := f[paneNICs].keep; k != nil {
		out.NICs = make([]NICView, len(k))
		for i, j := range k {
			out.NICs[i] = v.NICs[j]
		}
	}
	if k := f[paneTables].keep; k != nil {
		out.Tables = make([]TableView, len(k))
		for i, j := range k {
			out.Tables[i] = v.Tables[j]
		}
	}
	out.keepRules = f[paneRules].keep
	return out
}

// snapshotHay is the lowered text a snapshot is found by.
func snapshotHay(e SnapshotInfo) string {
	s := e.ID + " " + e.Kind + " " + e.Comment + " " + e.Summary
	if !e.Time.IsZero() {
		s += " " + e.Time.Local().Format(time.DateOnly+" 15:04")
	}
	if e.Damaged != "" {
		s += " damaged " + e.Damaged
	}
	return strings.ToLower(s)
}

// filterKey takes the keys of the focused pane's filter: `/` starts
// typing it, enter keeps it, esc clears it. Keys it does not take (arrows,
// tab) move through the rows it keeps. It reports whether it took msg.
func (m *Model) filterKey(msg tea.KeyPressMsg) bool {
	p := m.nics.focus
	f := &m.nics.filter[p]
	switch {
	case !f.typing && key.Matches(msg, m.keys.Filter):
		f.typing = true
		// What rows are found by is made now, not on the first letter.
		m.hay.pane(p, &m.show, &m.state.Names)
		return true
	case key.Matches(msg, m.keys.Back):
		m.clearFilter(p)
		return true
	case !f.typing:
		return false
	case msg.String() == "enter":
		f.typing = false
		return true
	case key.Matches(msg, m.keys.NextPane), key.Matches(msg, m.keys.PrevPane):
		// Leaving the pane keeps its filter, as enter does.
		f.typing = false
		return false
	}
	old := f.text
	if !f.edit(msg) {
		return false
	}
	if f.text != old {
		f.refilter(old, m.hay.pane(p, &m.show, &m.state.Names))
		m.nics.cursor[p], m.nics.offset[p] = 0, 0
		m.rebuildList()
		m.nics.reflow(&m.list, m.listLines, m.bodyHeight())
	}
	return true
}

// clearFilter drops pane p's filter, keeping the row under the cursor
// under it.
func (m *Model) clearFilter(p pane) {
	f := &m.nics.filter[p]
	if c := m.nics.cursor[p]; f.keep != nil && c < len(f.keep) {
		m.nics.cursor[p] = f.keep[c]
	}
	*f = filter{}
	m.rebuildList()
	m.nics.reflow(&m.list, m.listLines, m.bodyHeight())
}

// refilterAll runs the filters again over a newly read state.
func (m *Model) refilterAll() {
	for p := range paneCount {
		f := &m.nics.filter[p]
		// What was kept for each text is of the old state, filter on or
		// not: a text typed again must be looked for in the new one.
		f.keep, f.seen = nil, nil
		if f.active() {
			f.refilter("", m.hay.pane(p, &m.show, &m.state.Names))
		}
	}
	m.rebuildList()
}

// rebuildList makes what the NICs screen lists from the filters.
func (m *Model) rebuildList() {
	f := &m.nics.filter
	if !f[paneNICs].active() && !f[paneTables].active() && !f[paneRules].active() {
		m.list, m.listLines = m.show, m.lines
		return
	}
	m.list = filteredShow(&m.show, f)
	m.listLines = m.lines
	if f[paneNICs].active() {
		m.listLines = nicLines(&m.list, &m.state)
	}
}

// snapshotsFilterKey is filterKey for the history.
func (m *Model) snapshotsFilterKey(msg tea.KeyPressMsg) bool {
	s := &m.snaps
	f := &s.filter
	switch {
	case !f.typing && key.Matches(msg, m.keys.Filter):
		f.typing = true
		return true
	case key.Matches(msg, m.keys.Back):
		if c := s.cursor; f.keep != nil && c < len(f.keep) {
			s.cursor = f.keep[c]
		}
		*f = filter{}
		s.applyFilter("")
		s.reflow(m.bodyHeight())
		return true
	case !f.typing:
		return false
	case msg.String() == "enter":
		f.typing = false
		return true
	}
	old := f.text
	if !f.edit(msg) {
		return false
	}
	if f.text != old {
		s.applyFilter(old)
		s.cursor, s.offset = 0, 0
		s.reflow(m.bodyHeight())
	}
	return true
}

// applyFilter makes the listed history from the whole of it.
func (s *snapshotsScreen) applyFilter(old string) {
	if s.hay == nil || len(s.hay) != len(s.all) {
		s.filter.keep, s.filter.seen = nil, nil
		s.hay = make([]string, len(s.all))
		for i, e := range s.all {
			s.hay[i] = snapshotHay(e)
		}
		old = ""
	}
	s.filter.refilter(old, s.hay)
	if s.filter.keep == nil {
		s.list = s.all
		return
	}
	s.list = make([]SnapshotInfo, len(s.filter.keep))
	for i, j := range s.filter.keep {
		s.list[i] = s.all[j]
	}
	s.cursor = min(s.cursor, max(len(s.list)-1, 0))
}
