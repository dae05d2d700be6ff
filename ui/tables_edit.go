package ui

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"github.com/nictab/nictab/netcfg"
)

// Tables on screen: create, rename and delete the tables nictab manages.
// Deleting one takes with it every NIC assignment, rule and route of the
// intent in it; the preview lists each before anything happens.

// tableEntry is the table a rename form renames.
type tableEntry struct{ def netcfg.TableDef }

// The table form's fields: id and name for a new table, the name alone
// for a rename.
const (
	tfID = iota
	tfName
)

// managedTable reports whether the pending intent uses table id, or
// nictab owns something in it.
func (m *Model) managedTable(id uint32) bool {
	in := m.intent()
	if slices.ContainsFunc(in.Tables, func(t netcfg.TableDef) bool { return t.ID == id }) ||
		slices.ContainsFunc(in.NICs, func(n netcfg.NICIntent) bool { return m.refID(n.Table) == id }) ||
		slices.ContainsFunc(in.Rules, func(r netcfg.RuleIntent) bool { return m.refID(r.Table) == id }) ||
		slices.ContainsFunc(in.Routes, func(r netcfg.RouteIntent) bool { return m.refID(r.Table) == id }) {
		return true
	}
	for _, t := range m.show.Tables {
		if t.ID == id && t.Owned {
			return true
		}
	}
	return false
}

// intentTable is the table's definition in the pending intent, or one
// with the name it has here.
func (m *Model) intentTable(id uint32) netcfg.TableDef {
	for _, t := range m.intent().Tables {
		if t.ID == id {
			return t
		}
	}
	return netcfg.TableDef{ID: id, Name: m.tableName(id)}
}

func (m *Model) openTableForm(rename *netcfg.TableDef) {
	f := &editForm{kind: formTable, title: "New table"}
	if rename != nil {
		f.tableBefore = &tableEntry{def: *rename}
		f.title = "Rename table " + tableLabel(rename.ID, rename.Name)
		f.addField(m.st, "Table id", "", "", 10, strconv.FormatUint(uint64(rename.ID), 10))
		f.addField(m.st, "Name", "e.g. vpn (empty: no name)", "", 64, rename.Name)
		f.focus = tfName
	} else {
		f.addField(m.st, "Table id", "e.g. 13", "1-252 or 256-4294967295", 10, "")
		f.addField(m.st, "Name", "e.g. vpn (optional)", "written to rt_tables.d/nictab.conf", 64, "")
		f.focus = tfID
	}
	f.focusInput()
	m.form = f
	m.formFrom, m.screen = m.screen, screenForm
}

func (m *Model) checkTableForm(f *editForm) formCheck {
	c := formCheck{problems: map[int]string{}, notes: map[int]string{}}
	known := knownTables(m.show, &m.state.Names, m.intent(), m.edits)
	var t netcfg.TableDef
	if f.tableBefore != nil {
		t.ID = f.tableBefore.def.ID
		if f.value(tfID) != strconv.FormatUint(uint64(t.ID), 10) {
			c.problems[tfID] = "a table keeps its id; create a new table for another one"
		}
	} else {
		id, msg := checkTableID(f.value(tfID), known)
		if msg != "" {
			c.problems[tfID] = msg
		}
		t.ID = id
	}
	t.Name = f.value(tfName)
	if msg := checkTableName(t.Name, t.ID, &m.state.Names, known); msg != "" {
		c.problems[tfName] = msg
	}
	if len(c.problems) > 0 {
		return c
	}
	if f.tableBefore == nil {
		c.op = op{kind: opTable, tableAfter: &t, what: "new table " + tableLabel(t.ID, t.Name)}
		c.meaning = "creates table " + tableLabel(t.ID, t.Name) + "; send NICs to it (a) or give it rules and routes."
		return c
	}
	b := f.tableBefore.def
	if b.Name == t.Name {
		c.problems[tfName] = "that is its name already"
		return c
	}
	c.op = op{kind: opTable, tableBefore: &b, tableAfter: &t, what: fmt.Sprintf("rename of table %d", t.ID)}
	c.meaning = "renames table " + tableLabel(b.ID, b.Name) + " to " + tableLabel(t.ID, t.Name) + "."
	if t.Name == "" {
		c.meaning = "takes the name " + netcfg.SafeText(b.Name) + " from table " + strconv.FormatUint(uint64(t.ID), 10) + "."
	}
	return c
}

// tableAction handles n, e and d on the tables pane.
func (m *Model) tableAction(act string) {
	if act == "new" {
		m.openTableForm(nil)
		return
	}
	if len(m.list.Tables) == 0 {
		m.setFlash("no table is under the cursor", true)
		return
	}
	t := m.list.Tables[m.nics.cursor[paneTables]]
	label := tableLabel(t.ID, t.Name)
	switch {
	case netcfg.ReservedTable(t.ID):
		m.setFlash("table "+label+" is the kernel's own: nictab leaves it alone", true)
		return
	case !m.managedTable(t.ID):
		m.setFlash("table "+label+" is not nictab's: adopt its rules and routes first (A on each)", true)
		return
	}
	def := m.intentTable(t.ID)
	switch act {
	case "edit":
		m.openTableForm(&def)
	case "delete":
		m.edits = m.edits.push(op{kind: opTable, tableBefore: &def, what: "deletion of table " + label})
		m.setFlash("table "+label+" goes when applied, with nictab's rules and routes in it (p previews, u undoes)", false)
	}
}

// syncPending lists, after the tables and rules read, those only the
// pending intent has: tables created, or named by a NIC, rule or route of
// it; rules added or edited by the edits, marked new.
func (m *Model) syncPending() {
	m.tablesGen = m.edits.gen
	m.show.Tables, m.show.Rules = m.liveTables, m.liveRules
	if m.edits.len() == 0 {
		return
	}
	in := m.intent()
	m.show.Rules = m.pendingRules(in)
	var ids []uint32
	for _, t := range in.Tables {
		ids = append(ids, t.ID)
	}
	for _, n := range in.NICs {
		ids = append(ids, m.refID(n.Table))
	}
	for _, r := range in.Rules {
		if r.Lookup() {
			ids = append(ids, m.refID(r.Table))
		}
	}
	for _, r := range in.Routes {
		ids = append(ids, m.refID(r.Table))
	}
	out := m.liveTables
	cloned := false
	for _, id := range ids {
		if id == 0 || slices.ContainsFunc(out, func(t TableView) bool { return t.ID == id }) {
			continue
		}
		if !cloned {
			out, cloned = slices.Clone(out), true
		}
		zero := 0
		out = append(out, TableView{ID: id, Name: m.tableName(id), Routes: &zero, Pending: true})
	}
	slices.SortFunc(out, func(a, b TableView) int { return cmp.Compare(a.ID, b.ID) })
	if !cloned {
		out = slices.Clone(out)
	}
	m.pendingCounts(out)
	m.show.Tables = out
}

// pendingRules are the live rules, then a row per family for each rule
// the edits add or change to that the kernel does not hold yet.
func (m *Model) pendingRules(in netcfg.Intent) []RuleView {
	out := m.liveRules
	cloned := false
	for _, o := range m.edits.ops {
		x := o.ruleAfter
		if o.kind != opRule || x == nil || !slices.ContainsFunc(in.Rules, func(y netcfg.RuleIntent) bool { return ruleIntentEqual(&y, x) }) {
			continue
		}
		for _, f := range netcfg.IntentRuleFamilies(x) {
			r := netcfg.IntentRule(x, f, x.Priority, m.refID(x.Table))
			if slices.ContainsFunc(m.state.Rules, func(l netcfg.Rule) bool { return l.Family == f && m.intentRuleMakes(x, &l) }) {
				continue
			}
			if !cloned {
				out, cloned = slices.Clone(out), true
			}
			out = append(out, RuleView{Rule: r, Text: netcfg.RuleString(&r), TableName: m.tableName(r.Table), Owned: true, Pending: true})
		}
	}
	return out
}
