package ui

import (
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nictab/nictab/netcfg"
)

// The tables and rules panes of the NICs screen, and their edit keys.

func renderTablePane(b *strings.Builder, d nicsView, st Styles) {
	v := d.show
	rows, off := d.layout.rows[paneTables], d.screen.offset[paneTables]
	note := scrollNote(off, rows, len(v.Tables), st) + filterNote(&d.screen.filter[paneTables], len(d.all.Tables), st)
	b.WriteString(paneTitle("Tables", d.screen.focus == paneTables, note, st))
	cols := []int{16, 6, 9}
	b.WriteString("  " + st.Muted.Render(row(cols, "TABLE", "RULES", "ROUTES", "OWNER")) + "\n")
	for i := off; i < min(off+rows, len(v.Tables)); i++ {
		t := v.Tables[i]
		routes := "not read"
		if t.Routes != nil {
			routes = strconv.Itoa(*t.Routes) + countDelta(t.RoutesAdd, t.RoutesDel)
		}
		rules := strconv.Itoa(t.Rules) + countDelta(t.RulesAdd, t.RulesDel)
		owner := ""
		switch {
		case t.Pending:
			owner = "new"
		case t.Owned:
			owner = "nictab"
		case netcfg.ReservedTable(t.ID):
			owner = "kernel"
		}
		sel := i == d.screen.cursor[paneTables]
		line := row(cols, cut(tableLabel(t.ID, t.Name), 16), rules, routes, owner)
		switch {
		case sel && d.screen.focus == paneTables:
			line = st.Selected.Render(line)
		case t.Pending:
			line = row(cols, cut(tableLabel(t.ID, t.Name), 16), rules, routes, st.Changed.Render(owner))
		case t.Owned:
			line = row(cols, cut(tableLabel(t.ID, t.Name), 16), rules, routes, st.Owned.Render(owner))
		case t.Routes == nil:
			line = row(cols, cut(tableLabel(t.ID, t.Name), 16), rules, st.Muted.Render(routes), owner)
		}
		b.WriteString(marker(sel && d.screen.focus == paneTables) + line + "\n")
	}
	for i := len(v.Tables) - off; i < rows; i++ {
		b.WriteByte('\n')
	}
}

// ruleOwner says whose a rule is: nictab's, the kernel's own three, or
// someone else's — those are the ones a person must know about before
// changing anything.
func ruleOwner(r *netcfg.Rule) string {
	switch {
	case r.Owned():
		return "nictab"
	case r.Proto == netcfg.ProtoKernel:
		return "kernel"
	}
	return "other"
}

func renderRulePane(b *strings.Builder, d nicsView, st Styles) {
	v := d.show
	rows, off := d.layout.rows[paneRules], d.screen.offset[paneRules]
	others := 0
	for i := range d.all.Rules {
		if ruleOwner(&d.all.Rules[i].Rule) == "other" {
			others++
		}
	}
	note := scrollNote(off, rows, v.ruleCount(), st) + filterNote(&d.screen.filter[paneRules], len(d.all.Rules), st)
	if others > 0 {
		note += "  " + st.Warning.Render("! "+plural(others, "rule")+" not nictab's")
	}
	b.WriteString(paneTitle("Rules", d.screen.focus == paneRules, note, st))
	cols := []int{6, 4, 6}
	b.WriteString("  " + st.Muted.Render(row(cols, "PRIO", "FAM", "OWNER", "RULE")) + "\n")
	for i := off; i < min(off+rows, v.ruleCount()); i++ {
		r := v.ruleAt(i)
		owner := ruleOwner(&r.Rule)
		ownerCell := owner
		switch owner {
		case "other":
			ownerCell = st.Warning.Render("!other")
		case "nictab":
			ownerCell = st.Owned.Render(owner)
		case "kernel":
			ownerCell = st.Muted.Render(owner)
		}
		text := netcfg.SafeText(RuleText(&r.Rule, r.TableName, d.names))
		mark := ""
		switch {
		case r.Pending:
			mark = "→new "
		case d.ruleMark != nil && d.edits.len() > 0:
			if mark = d.ruleMark(&r.Rule); mark != "" {
				mark = "→" + mark + " "
			}
		}
		prio := strconv.FormatUint(uint64(r.Priority), 10)
		if r.Pending && r.Priority == 0 {
			// nictab allocates it when the plan is made.
			prio = "auto"
		}
		sel := i == d.screen.cursor[paneRules] && d.screen.focus == paneRules
		line := row(cols, prio, famLabel(r.Family), ownerCell, text)
		if mark != "" {
			line = row(cols, prio, famLabel(r.Family), ownerCell, st.Changed.Render(mark)+text)
			text = mark + text
		}
		if sel {
			if owner == "other" {
				owner = "!other"
			}
			line = st.Selected.Render(row(cols, prio, famLabel(r.Family), owner, text))
		}
		b.WriteString(marker(sel) + line + "\n")
	}
}

// paneAction handles the edit keys of the tables and rules panes.
func (m *Model) paneAction(msg tea.KeyPressMsg) {
	k := m.keys
	act := ""
	switch {
	case key.Matches(msg, k.New):
		act = "new"
	case m.nics.focus == paneTables && msg.String() == "enter":
		m.openRoutes()
		return
	case key.Matches(msg, k.Edit):
		act = "edit"
	case key.Matches(msg, k.Delete):
		act = "delete"
	case key.Matches(msg, k.Adopt):
		act = "adopt"
	}
	switch m.nics.focus {
	case paneRules:
		m.ruleAction(act)
	case paneTables:
		if act == "adopt" {
			m.setFlash("adopt rules on the rules pane, routes in a table's routes (enter)", true)
			return
		}
		m.tableAction(act)
	}
}
