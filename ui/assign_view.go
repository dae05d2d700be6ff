package ui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/nictab/nictab/netcfg"
)

// assignView is what the assign screen shows.
type assignView struct {
	form    *assignScreen
	check   assignResult
	current string // the table the NIC's traffic uses now
	tableOf func(uint32) string
}

func (m *Model) assignView() assignView {
	cur := "main"
	for _, n := range m.show.NICs {
		if n.Name == m.assign.link.Name && len(n.Tables) > 0 {
			var ts []string
			for _, t := range n.Tables {
				s := tableLabel(t.ID, t.Name)
				if !t.Owned {
					s += " (not nictab)"
				}
				ts = append(ts, s)
			}
			cur = strings.Join(ts, ", ")
		}
	}
	return assignView{form: &m.assign, check: m.assign.check(), current: cur, tableOf: m.tableLabel}
}

// assignKey handles a key on the assign screen.
func (m *Model) assignKey(msg tea.KeyPressMsg) tea.Cmd {
	saved, cancel, cmd := m.assign.update(msg, m.keys)
	switch {
	case cancel:
		m.screen = screenNICs
	case saved != nil:
		name := m.assign.link.Name
		m.edits = m.edits.with(name, *saved)
		m.screen = screenNICs
		m.setFlash(netcfg.SafeText(name)+" → "+m.tableLabel(saved.nic.Table.ID)+" noted; p previews every edit", false)
	}
	return cmd
}

const labelWidth = 13

// renderAssign draws the form: the NIC, then each field with its label,
// value and what is wrong with it or what it means.
func renderAssign(v assignView, width int, st Styles) string {
	a := v.form
	var b strings.Builder
	l := &a.link
	var addrs []string
	for _, x := range l.Addrs {
		addrs = append(addrs, x.Prefix.String())
	}
	kind := l.Kind
	if kind == "" {
		kind = "device"
	}
	head := st.Title.Render(netcfg.SafeText(l.Name)) + "  " + netcfg.SafeText(kind) + "  " + NICState(l)
	if l.Alias != "" {
		head += "  " + st.Muted.Render("alias ") + netcfg.SafeText(l.Alias)
	}
	b.WriteString(" " + head + "\n")
	if len(addrs) == 0 {
		addrs = []string{st.Muted.Render("no address")}
	}
	rest := max(width-labelWidth-1, 10)
	b.WriteString(" " + st.Muted.Render(pad("addresses", labelWidth)) + hang(strings.Join(addrs, ", "), rest, labelWidth+1, st.Plain) + "\n")
	b.WriteString(" " + st.Muted.Render(pad("now", labelWidth)) + hang("traffic uses "+v.current, rest, labelWidth+1, st.Plain) + "\n\n")

	label := func(f field, text string) string {
		if a.focus == f {
			return st.Focus.Render(pad("> "+text, labelWidth+1))
		}
		return " " + pad(text, labelWidth)
	}
	problem := func(f field, touched bool) string {
		msg, bad := v.check.problems[f]
		if !bad || (!touched && !a.tried) {
			return ""
		}
		return "\n" + strings.Repeat(" ", labelWidth+3) + hang("! "+msg, max(width-labelWidth-3, 10), labelWidth+5, st.Warning)
	}

	// The table list.
	n := len(a.choices) + 1
	for i := a.offset; i < min(a.offset+tableListRows, n); i++ {
		lab := strings.Repeat(" ", labelWidth+1)
		if i == a.offset {
			lab = label(fieldTable, "Table")
		}
		text := "+ new table..."
		note := ""
		if i < len(a.choices) {
			text = a.choices[i].label()
			note = a.choices[i].Note
		}
		sel := i == a.choice
		line := pad(cut(text, 24), 24)
		if sel && a.focus == fieldTable {
			line = st.Selected.Render(line)
		}
		b.WriteString(lab + " " + marker(sel) + line + " " + st.Muted.Render(note) + "\n")
	}
	if more := n - a.offset - tableListRows; more > 0 {
		b.WriteString(strings.Repeat(" ", labelWidth+4) + st.Muted.Render(fmt.Sprintf("... %d more below", more)) + "\n")
	}

	if a.isNew() {
		b.WriteString(label(fieldID, "Table id") + " " + a.inputs[fieldID].View() + problem(fieldID, a.inputs[fieldID].Value() != "") + "\n")
		b.WriteString(label(fieldName, "Name") + " " + a.inputs[fieldName].View() + problem(fieldName, true) + "\n")
	}
	gw := func(f field, fam netcfg.Family, detected string) {
		in := a.inputs[f]
		hint := ""
		if in.Value() == "" {
			// Beside the field when it fits, else shorter or under it.
			room := width - labelWidth - 3 - in.Width()
			switch {
			case detected != "" && room >= 31:
				hint = st.Muted.Render("  detected; empty follows main")
			case detected != "":
				hint = st.Muted.Render("  detected")
			default:
				none := "none: the table gets no " + famLabel(fam) + " default"
				if room >= len(none)+2 {
					hint = st.Warning.Render("  " + none)
				} else {
					hint = "\n" + strings.Repeat(" ", labelWidth+3) + hang(none, max(width-labelWidth-3, 10), labelWidth+3, st.Warning)
				}
			}
		}
		b.WriteString(label(f, "Gateway "+famLabel(fam)) + " " + in.View() + hint + problem(f, true) + "\n")
	}
	if a.has4 {
		gw(fieldGw4, netcfg.V4, addrText(a.detected4))
	}
	if a.has6 {
		gw(fieldGw6, netcfg.V6, addrText(a.detected6))
	}
	var boxes []string
	for i, s := range netcfg.Selectors {
		mark := "[ ]"
		if a.sel[i] {
			mark = "[x]"
		}
		item := mark + " " + string(s)
		if a.focus == fieldSelect && i == a.selAt {
			item = st.Selected.Render(item)
		}
		boxes = append(boxes, item)
	}
	b.WriteString(label(fieldSelect, "Select") + " " + strings.Join(boxes, "  ") + problem(fieldSelect, true) + "\n")
	if a.sel[3] {
		b.WriteString(label(fieldMark, "fwmark") + " " + a.inputs[fieldMark].View() + problem(fieldMark, a.inputs[fieldMark].Value() != "") + "\n")
	}
	b.WriteString(label(fieldPrio, "Priority") + " " + a.inputs[fieldPrio].View() + problem(fieldPrio, a.inputs[fieldPrio].Value() != "") + "\n")
	b.WriteString("\n" + assignMeaning(v, width, st) + "\n")
	return b.String()
}

func addrText(a interface{ IsValid() bool }) string {
	if !a.IsValid() {
		return ""
	}
	return fmt.Sprint(a)
}

// assignMeaning says in one sentence what saving the form does.
func assignMeaning(v assignView, width int, st Styles) string {
	w := max(width-2, 10)
	if len(v.check.problems) > 0 {
		return " " + hang("Fix the fields marked ! (or press enter to see what is missing); esc cancels.", w, 1, st.Muted)
	}
	nic := v.check.edit.nic
	table := v.tableOf(nic.Table.ID)
	if t := v.check.edit.newTable; t != nil && v.form.isNew() {
		table = tableLabel(t.ID, t.Name) + " (new)"
	}
	sel := "from its addresses"
	if len(nic.Select) > 0 {
		var s []string
		for _, x := range nic.Select {
			s = append(s, string(x))
		}
		sel = "by " + strings.Join(s, ", ")
	}
	prio := ""
	if nic.Priority != 0 {
		prio = fmt.Sprintf(" at priority %d", nic.Priority)
	}
	text := hang("enter sends "+netcfg.SafeText(nic.Name)+"'s traffic ("+sel+") to table "+table+prio+".", w, 1, st.Plain)
	return " " + st.OK.Render("enter") + strings.TrimPrefix(text, "enter") + "\n " + hang("Nothing changes until you preview (p) and apply.", w, 1, st.Muted)
}
