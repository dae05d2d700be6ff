package ui

import (
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/nictab/nictab/netcfg"
)

// The NICs screen: every NIC with its state, addresses, gateway and the
// table its traffic uses; the routing tables; the rules. Three panes, one
// focused; each shows only the rows that fit, so a host with ten thousand
// rules redraws as fast as one with ten.

type pane int

const (
	paneNICs pane = iota
	paneTables
	paneRules
	paneCount
)

// nicsScreen is the cursor and scroll position of each pane.
type nicsScreen struct {
	focus  pane
	cursor [paneCount]int
	offset [paneCount]int
	filter [paneCount]filter
}

// nicLine is one line of the NICs pane: a NIC's first line carries its
// name, later lines its further addresses.
type nicLine struct {
	nic   int // index into ShowView.NICs
	first bool
	addr  string
	gw    string
	// gwLine is set on the first line of each family, where its gateway
	// shows.
	gwLine bool
	fam    netcfg.Family
}

// nicLines lays the NICs out, one line per routable address (IPv6
// link-local addresses exist on every NIC and route nothing of their own,
// so they are left out), at most three per NIC.
func nicLines(v *ShowView, s *netcfg.State) []nicLine {
	var out []nicLine
	for i, n := range v.NICs {
		l, _ := s.LinkByIndex(n.Index)
		var addrs []netcfg.Addr
		if l != nil {
			for _, a := range l.Addrs {
				if !(a.Prefix.Addr().Is6() && a.Prefix.Addr().IsLinkLocalUnicast()) {
					addrs = append(addrs, a)
				}
			}
		}
		if len(addrs) == 0 {
			out = append(out, nicLine{nic: i, first: true})
			continue
		}
		seen := map[netcfg.Family]bool{}
		for j, a := range addrs {
			if j == 3 {
				out[len(out)-1].addr += " +" + strconv.Itoa(len(addrs)-3)
				break
			}
			ln := nicLine{nic: i, first: j == 0, addr: a.Prefix.String()}
			fam := netcfg.FamilyOf(a.Prefix.Addr())
			ln.fam = fam
			if !seen[fam] && l != nil {
				seen[fam] = true
				ln.gwLine = true
				if g, ok := s.Gateway(l.Name, fam); ok {
					ln.gw = g.String()
				}
			}
			out = append(out, ln)
		}
	}
	return out
}

// nicsLayout is how many rows each pane shows.
type nicsLayout struct{ rows [paneCount]int }

// paneOverhead is the title and column header of a pane, and the blank
// line after it.
const paneOverhead = 3

// layoutNICs shares height among the panes: each gets what it needs when
// all fit; otherwise the largest gives up rows first, so a long rule list
// shrinks before the NICs do.
func layoutNICs(need [paneCount]int, height int) nicsLayout {
	avail := max(height-int(paneCount)*paneOverhead+1, int(paneCount))
	var l nicsLayout
	total := 0
	for p := range paneCount {
		l.rows[p] = max(need[p], 1)
		total += l.rows[p]
	}
	for total > avail {
		big := paneRules
		for _, p := range []pane{paneTables, paneNICs} {
			if l.rows[p] > l.rows[big] {
				big = p
			}
		}
		if l.rows[big] <= 1 {
			break
		}
		// Shrink the largest to the size of the next largest in one step,
		// so ten thousand rules do not take ten thousand turns.
		second := 1
		for p := range paneCount {
			if p != big {
				second = max(second, l.rows[p])
			}
		}
		step := max(min(total-avail, l.rows[big]-second), 1)
		l.rows[big] -= step
		total -= step
	}
	return l
}

// paneSizes are the row counts of each pane's list.
func paneSizes(v *ShowView, lines []nicLine) [paneCount]int {
	return [paneCount]int{len(lines), len(v.Tables), v.ruleCount()}
}

// reflow keeps every cursor inside its list and on screen.
func (s *nicsScreen) reflow(v *ShowView, lines []nicLine, height int) nicsLayout {
	need := paneSizes(v, lines)
	lay := layoutNICs(need, height)
	n := [paneCount]int{len(v.NICs), len(v.Tables), v.ruleCount()}
	for p := range paneCount {
		s.cursor[p] = min(max(s.cursor[p], 0), max(n[p]-1, 0))
	}
	// The NICs pane scrolls by lines, keeping every line of the NIC under
	// the cursor in view.
	first, last := 0, 0
	for i, ln := range lines {
		if ln.nic == s.cursor[paneNICs] {
			if ln.first {
				first = i
			}
			last = i
		}
	}
	off := window(last, s.offset[paneNICs], len(lines), lay.rows[paneNICs])
	s.offset[paneNICs] = min(off, first)
	for _, p := range []pane{paneTables, paneRules} {
		s.offset[p] = window(s.cursor[p], s.offset[p], n[p], lay.rows[p])
	}
	return lay
}

// move applies a cursor movement of delta rows to the focused pane.
func (s *nicsScreen) move(delta int, n int) {
	c := s.cursor[s.focus] + delta
	s.cursor[s.focus] = min(max(c, 0), max(n-1, 0))
}

// nicsView is everything the NICs screen shows.
type nicsView struct {
	// show is what the panes list; all is the whole of it, which the
	// filters' notes count.
	show     *ShowView
	all      *ShowView
	lines    []nicLine
	screen   nicsScreen
	layout   nicsLayout
	edits    edits
	names    *netcfg.Names
	tableOf  func(uint32) string
	readOnly bool
	// ruleMark says what the pending edits do to a live rule.
	ruleMark func(*netcfg.Rule) string
}

// renderNICs draws the three panes.
func renderNICs(d nicsView, width int, st Styles) string {
	var b strings.Builder
	renderNICPane(&b, d, width, st)
	b.WriteByte('\n')
	renderTablePane(&b, d, st)
	b.WriteByte('\n')
	renderRulePane(&b, d, st)
	return b.String()
}

func paneTitle(title string, focused bool, note string, st Styles) string {
	if focused {
		title = st.Focus.Render("[" + title + "]")
	} else {
		title = st.Title.Render(" " + title + " ")
	}
	return title + note + "\n"
}

func renderNICPane(b *strings.Builder, d nicsView, width int, st Styles) {
	v := d.show
	note := st.Muted.Render("  " + plural(len(d.all.NICs), "NIC"))
	if f := &d.screen.filter[paneNICs]; f.active() || f.typing {
		note = filterNote(f, len(d.all.NICs), st)
	}
	if n := d.edits.len(); n > 0 {
		note += "  " + st.Changed.Render(plural(n, "unapplied edit"))
	}
	b.WriteString(paneTitle("NICs", d.screen.focus == paneNICs, note, st))
	// Fixed widths keep columns still while the cursor moves; the table
	// column takes the rest.
	wName, wState, wKind, wAddr, wGw := 8, 5, 6, 18, 14
	for _, n := range v.NICs {
		wName = max(wName, len(netcfg.SafeText(n.Name)))
		wState = max(wState, len(n.State))
		wKind = max(wKind, len(n.Kind))
	}
	for _, ln := range d.lines {
		wAddr = max(wAddr, len(ln.addr))
		wGw = max(wGw, len(ln.gw))
		if over := gatewayOverride(d, v.NICs[ln.nic].Name, ln); over != "" {
			wGw = max(wGw, len(over)+4)
		}
	}
	wName = min(wName, 16)
	if width < 100 {
		wAddr = min(wAddr, 19)
		wGw = min(wGw, 15)
	}
	lay := fitNICColumns(width, wName, wState, wKind, wAddr, wGw, nicTableWidth(d, st))
	b.WriteString("  " + st.Muted.Render(lay.row("NIC", "STATE", "KIND", "ADDRESS", "GATEWAY", "TABLE")) + "\n")
	rows := d.layout.rows[paneNICs]
	off := d.screen.offset[paneNICs]
	for i := off; i < min(off+rows, len(d.lines)); i++ {
		ln := d.lines[i]
		n := v.NICs[ln.nic]
		sel := ln.nic == d.screen.cursor[paneNICs]
		mark := "  "
		if ln.first {
			mark = marker(sel)
		}
		name, state, kind, table := "", "", "", ""
		if ln.first {
			name = netcfg.SafeText(n.Name)
			state, kind = n.State, netcfg.SafeText(n.Kind)
			table = nicTableCell(d, n, st)
		} else if i == off {
			// A NIC's further address at the top of the pane says
			// whose it is.
			name = st.Muted.Render(cut(netcfg.SafeText(n.Name), lay.w[colName]-2) + " ↑")
		}
		addr := ln.addr
		if ln.first && addr == "" {
			addr = "no address"
		}
		gw := cut(ln.gw, lay.w[colGw])
		if over := gatewayOverride(d, n.Name, ln); over != "" {
			// An unapplied gateway of the NIC's edit, beside the one
			// detected now.
			gw = st.Changed.Render(cut("→ "+over, lay.w[colGw]))
		}
		line := lay.row(cut(name, lay.w[colName]), state, kind, cut(addr, lay.w[colAddr]), gw, "")
		if sel && d.screen.focus == paneNICs {
			line = st.Selected.Render(ansi.Strip(line))
		} else if state != "" && state != "up" {
			line = lay.row(cut(name, lay.w[colName]), st.Warning.Render(state), kind, cut(addr, lay.w[colAddr]), gw, "")
		}
		b.WriteString(mark + line + table + "\n")
	}
	for i := len(d.lines) - off; i < rows; i++ {
		b.WriteByte('\n')
	}
}

// The NICs pane's columns; TABLE, the last, takes the rest of the line.
const (
	colName = iota
	colState
	colKind
	colAddr
	colGw
	colCount
)

// nicColumns are the widths of the NICs pane's columns; 0 hides one.
type nicColumns struct{ w [colCount]int }

// fitNICColumns keeps NIC and TABLE whole on a narrow terminal: KIND goes
// first, then STATE, then ADDRESS shrinks a little, then GATEWAY goes;
// only then is the table cell cut.
func fitNICColumns(width, wName, wState, wKind, wAddr, wGw, wTable int) nicColumns {
	c := nicColumns{w: [colCount]int{wName, wState, wKind, wAddr, wGw}}
	total := func() int {
		n := 2 + wTable
		for _, w := range c.w {
			if w > 0 {
				n += w + 2
			}
		}
		return n
	}
	shrinkAddr := func(least int) {
		if over := total() - width; over > 0 {
			c.w[colAddr] = max(c.w[colAddr]-over, least)
		}
	}
	for _, drop := range []int{colKind, colState} {
		if total() > width {
			c.w[drop] = 0
		}
	}
	// An IPv6 address cut by a few cells still reads; the gateway
	// column gone does not.
	if over := total() - width; over > 0 && c.w[colAddr]-over >= 16 {
		shrinkAddr(16)
	} else if over > 0 {
		c.w[colGw] = 0
		shrinkAddr(15)
	}
	return c
}

// row joins the shown cells padded to their widths, then the table cell.
func (c nicColumns) row(cells ...string) string {
	var b strings.Builder
	for i, w := range c.w {
		if w > 0 {
			b.WriteString(pad(cells[i], w))
			b.WriteString("  ")
		}
	}
	b.WriteString(cells[colCount])
	return b.String()
}

// nicTableWidth is the widest table cell, what the TABLE column needs.
func nicTableWidth(d nicsView, st Styles) int {
	w := len("TABLE")
	for _, n := range d.show.NICs {
		w = max(w, ansi.StringWidth(nicTableCell(d, n, st)))
	}
	return w
}

// gatewayOverride is the gateway an unapplied edit gives the NIC for the
// family of line ln, shown on the line that shows that family's gateway.
func gatewayOverride(d nicsView, name string, ln nicLine) string {
	ed, ok := d.edits.get(name)
	if !ok || ed.unassign || !ln.gwLine {
		return ""
	}
	for _, g := range ed.nic.Gateways {
		if netcfg.FamilyOf(g) == ln.fam {
			return g.String()
		}
	}
	return ""
}

// nicTableCell says which table a NIC's traffic uses now, whether nictab
// owns that, and where an unapplied edit sends it.
func nicTableCell(d nicsView, n NICView, st Styles) string {
	now := "main"
	if len(n.Tables) > 0 {
		var ts []string
		for _, t := range n.Tables {
			s := tableLabel(t.ID, t.Name)
			if t.Owned {
				s += " " + st.Owned.Render("(nictab)")
			} else {
				s += " " + st.Warning.Render("(not nictab)")
			}
			ts = append(ts, s)
		}
		now = strings.Join(ts, ", ")
	}
	ed, ok := d.edits.get(n.Name)
	if !ok {
		return now
	}
	if ed.unassign {
		return now + st.Changed.Render(" → main")
	}
	return now + st.Changed.Render(" → "+d.tableOf(ed.nic.Table.ID))
}

// row joins cells padded to the column widths; the last cell is not
// padded.
func row(widths []int, cells ...string) string {
	var b strings.Builder
	for i, c := range cells {
		if i < len(widths) {
			b.WriteString(pad(c, widths[i]))
			b.WriteString("  ")
			continue
		}
		b.WriteString(c)
	}
	return b.String()
}

// nicsKey handles a key on the NICs screen.
func (m *Model) nicsKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	s := &m.nics
	if s.filter[s.focus].typing || (s.filter[s.focus].active() && key.Matches(msg, k.Back)) || key.Matches(msg, k.Filter) {
		if m.filterKey(msg) {
			return nil
		}
	}
	n := [paneCount]int{len(m.list.NICs), len(m.list.Tables), m.list.ruleCount()}[s.focus]
	page := max(layoutNICs(paneSizes(&m.list, m.listLines), m.bodyHeight()).rows[s.focus]-1, 1)
	switch {
	case key.Matches(msg, k.Up):
		s.move(-1, n)
	case key.Matches(msg, k.Down):
		s.move(1, n)
	case key.Matches(msg, k.PageUp):
		s.move(-page, n)
	case key.Matches(msg, k.PageDown):
		s.move(page, n)
	case key.Matches(msg, k.Top):
		s.move(-n, n)
	case key.Matches(msg, k.Bottom):
		s.move(n, n)
	case key.Matches(msg, k.NextPane):
		s.focus = (s.focus + 1) % paneCount
	case key.Matches(msg, k.PrevPane):
		s.focus = (s.focus + paneCount - 1) % paneCount
	case key.Matches(msg, k.Reload):
		m.live.reading = true
		return tea.Batch(detectCmd(m.be), intentCmd(m.be))
	case key.Matches(msg, k.Snapshots):
		return m.openSnapshots()
	case s.focus == paneTables && key.Matches(msg, k.Routes):
		m.openRoutes()
		return nil
	case key.Matches(msg, k.Undo):
		if m.caps.ReadOnly {
			m.setFlash("nothing changed: "+m.caps.Reason, true)
			return nil
		}
		m.undo()
	case s.focus != paneNICs && !m.caps.ReadOnly && (key.Matches(msg, k.New) || key.Matches(msg, k.Edit) || key.Matches(msg, k.Delete) || key.Matches(msg, k.Adopt)):
		m.paneAction(msg)
	case key.Matches(msg, k.Assign), key.Matches(msg, k.Unassign), key.Matches(msg, k.Discard), key.Matches(msg, k.Preview),
		s.focus != paneNICs && (key.Matches(msg, k.New) || key.Matches(msg, k.Edit) || key.Matches(msg, k.Delete) || key.Matches(msg, k.Adopt)):
		return m.nicsAction(msg)
	}
	s.reflow(&m.list, m.listLines, m.bodyHeight())
	return nil
}

// nicsAction handles the keys that change or plan something.
func (m *Model) nicsAction(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	if m.caps.ReadOnly {
		m.setFlash("nothing changed: "+m.caps.Reason, true)
		return nil
	}
	if key.Matches(msg, k.Preview) {
		return m.openPreview()
	}
	if len(m.list.NICs) == 0 {
		if m.nics.filter[paneNICs].active() {
			m.setFlash("no NIC matches the filter (esc on the NICs pane clears it)", true)
			return nil
		}
		m.setFlash("there is no NIC here to assign", true)
		return nil
	}
	if m.nics.focus != paneNICs {
		if key.Matches(msg, k.Assign) && msg.String() == "enter" {
			return nil
		}
		m.nics.focus = paneNICs
	}
	nic := m.list.NICs[m.nics.cursor[paneNICs]]
	name := nic.Name
	switch {
	case key.Matches(msg, k.Assign):
		l, ok := m.state.Link(name)
		if !ok {
			m.setFlash(netcfg.SafeText(name)+" is gone", true)
			return nil
		}
		cur, assigned := intentNIC(m.base, name)
		if ed, ok := m.edits.get(name); ok && !ed.unassign {
			cur, assigned = ed.nic, true
		}
		m.assign = newAssign(*l, &m.state, knownTables(m.show, &m.state.Names, m.base, m.edits), cur, assigned, m.st)
		m.screen = screenAssign
	case key.Matches(msg, k.Unassign):
		_, inBase := intentNIC(m.base, name)
		switch {
		case inBase:
			m.edits = m.edits.with(name, edit{unassign: true})
			m.setFlash(netcfg.SafeText(name)+" will go back to main when applied (p to preview)", false)
		case hasEdit(m.edits, name):
			m.edits = m.edits.without(name)
			m.setFlash("dropped the edit of "+netcfg.SafeText(name), false)
		default:
			m.setFlash(netcfg.SafeText(name)+" is not assigned by nictab: nothing to unassign", true)
		}
	case key.Matches(msg, k.Discard):
		if !hasEdit(m.edits, name) {
			m.setFlash(netcfg.SafeText(name)+" has no unapplied edit", true)
			return nil
		}
		m.edits = m.edits.without(name)
		m.setFlash("dropped the edit of "+netcfg.SafeText(name), false)
	}
	return nil
}

func hasEdit(e edits, nic string) bool {
	_, ok := e.get(nic)
	return ok
}
