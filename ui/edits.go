package ui

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/nictab/nictab/netcfg"
)

// edit is what a person asked for one NIC and has not applied yet.
type edit struct {
	unassign bool
	nic      netcfg.NICIntent
	// newTable is a table created in the assign form, named with it.
	newTable *netcfg.TableDef
}

// opKind says what one edit of the session changes.
type opKind int

const (
	opNIC opKind = iota
	opRule
	opRoute
	opTable
	opAdoptRule
	opAdoptRoute
)

// op is one edit of the session. Rules, routes and tables are named by
// their value before the edit (nil: added) and after it (nil: deleted), so
// that undoing an earlier edit never points a later one at another entry.
type op struct {
	kind opKind
	// what says the edit in a few words, for messages.
	what string

	nic string
	ed  edit

	ruleBefore, ruleAfter   *netcfg.RuleIntent
	routeBefore, routeAfter *netcfg.RouteIntent
	tableBefore, tableAfter *netcfg.TableDef

	// adoptRule and adoptRoute are live objects of someone else's that
	// the change takes into nictab's ownership.
	adoptRule  *netcfg.Rule
	adoptRoute *netcfg.Route
}

// edits are the unapplied changes of this session, in the order they
// were made; the last one is what u undoes. A value is never changed in
// place, so a model value that still holds one does not change under it.
type edits struct {
	ops []op
	// gen tells edits values apart: every change makes a new one.
	gen uint64
}

// editsGen numbers edits values. Atomic, as several UIs may run in one
// process (the tests run many).
var editsGen atomic.Uint64

func nextGen() uint64 { return editsGen.Add(1) }

func (e edits) len() int { return len(e.ops) }

// push returns e with one more edit.
func (e edits) push(o op) edits {
	return edits{ops: append(slices.Clip(slices.Clone(e.ops)), o), gen: nextGen()}
}

// undo returns e without its last edit, and that edit.
func (e edits) undo() (edits, op, bool) {
	if len(e.ops) == 0 {
		return e, op{}, false
	}
	n := len(e.ops) - 1
	return edits{ops: slices.Clone(e.ops[:n]), gen: nextGen()}, e.ops[n], true
}

// get is the NIC's latest edit.
func (e edits) get(nic string) (edit, bool) {
	for i := len(e.ops) - 1; i >= 0; i-- {
		if o := e.ops[i]; o.kind == opNIC && o.nic == nic {
			return o.ed, true
		}
	}
	return edit{}, false
}

// with returns e with the NIC's edit set.
func (e edits) with(nic string, ed edit) edits {
	return e.push(op{kind: opNIC, nic: nic, ed: ed, what: "edit of " + netcfg.SafeText(nic)})
}

// without returns e without any edit of the NIC.
func (e edits) without(nic string) edits {
	out := edits{gen: nextGen()}
	for _, o := range e.ops {
		if o.kind != opNIC || o.nic != nic {
			out.ops = append(out.ops, o)
		}
	}
	return out
}

// nicOrder lists the edited NICs in the order they were first edited.
func (e edits) nicOrder() []string {
	var out []string
	for _, o := range e.ops {
		if o.kind == opNIC && !slices.Contains(out, o.nic) {
			out = append(out, o.nic)
		}
	}
	return out
}

// newTables are the tables the edits create (in the assign form or on
// the tables pane), by id.
func (e edits) newTables() []netcfg.TableDef {
	var out []netcfg.TableDef
	add := func(t netcfg.TableDef) {
		if !slices.ContainsFunc(out, func(x netcfg.TableDef) bool { return x.ID == t.ID }) {
			out = append(out, t)
		}
	}
	for _, n := range e.nicOrder() {
		ed, _ := e.get(n)
		if t := ed.newTable; t != nil && !ed.unassign {
			add(*t)
		}
	}
	for _, o := range e.ops {
		if o.kind == opTable && o.tableBefore == nil {
			add(*o.tableAfter)
		}
	}
	return out
}

// adoptions are the live objects the edits take over.
func (e edits) adoptions() []netcfg.Object {
	var out []netcfg.Object
	for _, o := range e.ops {
		switch o.kind {
		case opAdoptRule:
			out = append(out, netcfg.Object{Rule: o.adoptRule})
		case opAdoptRoute:
			out = append(out, netcfg.Object{Route: o.adoptRoute})
		}
	}
	return out
}

// adoptingRule reports whether the edits adopt the live rule r.
func (e edits) adoptingRule(r *netcfg.Rule) bool {
	for _, o := range e.ops {
		if o.kind == opAdoptRule && netcfg.RuleEqual(o.adoptRule, r) {
			return true
		}
	}
	return false
}

// adoptingRoute reports whether the edits adopt the live route r.
func (e edits) adoptingRoute(r *netcfg.Route) bool {
	for _, o := range e.ops {
		if o.kind == opAdoptRoute && netcfg.RouteEqual(o.adoptRoute, r) {
			return true
		}
	}
	return false
}

// applyEdits is the intent that base becomes with the edits: an assigned
// NIC replaces its earlier entry, an unassigned one leaves, tables the
// edits created are defined with their names, and the rule, route and
// table edits are made in order.
func applyEdits(base netcfg.Intent, e edits) netcfg.Intent {
	out := netcfg.Intent{
		Tables: slices.Clone(base.Tables),
		Rules:  slices.Clone(base.Rules),
		Routes: slices.Clone(base.Routes),
	}
	order := e.nicOrder()
	for _, n := range base.NICs {
		if !slices.Contains(order, n.Name) {
			out.NICs = append(out.NICs, n)
		}
	}
	for _, name := range order {
		ed, _ := e.get(name)
		if ed.unassign {
			continue
		}
		nic := ed.nic
		// A priority given in the snapshot by hand survives an edit that
		// leaves the form's priority empty.
		if i := slices.IndexFunc(base.NICs, func(b netcfg.NICIntent) bool { return b.Name == name }); i >= 0 && nic.Priority == 0 {
			nic.Priority = base.NICs[i].Priority
		}
		out.NICs = append(out.NICs, nic)
	}
	for _, t := range e.newTables() {
		if !slices.ContainsFunc(out.Tables, func(x netcfg.TableDef) bool { return x.ID == t.ID }) {
			out.Tables = append(out.Tables, t)
		}
	}
	for _, o := range e.ops {
		o.applyTo(&out)
	}
	slices.SortFunc(out.Tables, func(a, b netcfg.TableDef) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// applyTo makes one rule, route, table or adoption edit in an intent.
func (o op) applyTo(in *netcfg.Intent) {
	switch o.kind {
	case opRule:
		in.Rules = replaceEntry(in.Rules, o.ruleBefore, o.ruleAfter, ruleIntentEqual)
	case opRoute:
		in.Routes = replaceEntry(in.Routes, o.routeBefore, o.routeAfter, routeIntentEqual)
	case opAdoptRule:
		if ri, ok := netcfg.RuleIntentOf(o.adoptRule); ok {
			in.Rules = append(in.Rules, ri)
		}
	case opAdoptRoute:
		if ri, ok := netcfg.RouteIntentOf(o.adoptRoute); ok {
			in.Routes = append(in.Routes, ri)
		}
	case opTable:
		switch {
		case o.tableBefore == nil:
			// newTables has defined it already, where a NIC may use it.
			if !slices.ContainsFunc(in.Tables, func(x netcfg.TableDef) bool { return x.ID == o.tableAfter.ID }) {
				in.Tables = append(in.Tables, *o.tableAfter)
			}
		case o.tableAfter == nil:
			dropTable(in, *o.tableBefore)
		default:
			renameTable(in, *o.tableBefore, *o.tableAfter)
		}
	}
}

// replaceEntry replaces the first entry equal to before with after;
// before nil appends after, after nil deletes.
func replaceEntry[T any](list []T, before, after *T, eq func(a, b *T) bool) []T {
	if before == nil {
		return append(list, *after)
	}
	i := slices.IndexFunc(list, func(x T) bool { return eq(&x, before) })
	if i < 0 {
		// Gone from under the edit (a reload brought another base):
		// an edit of it becomes an addition, a deletion nothing.
		if after != nil {
			return append(list, *after)
		}
		return list
	}
	if after == nil {
		return slices.Delete(list, i, i+1)
	}
	list[i] = *after
	return list
}

func refersTo(ref netcfg.TableRef, t netcfg.TableDef) bool {
	return (ref.Name == "" && ref.ID == t.ID) || (ref.Name != "" && ref.Name == t.Name)
}

// dropTable removes a table and everything of the intent in it: the NICs
// sent to it, its rules and its routes.
func dropTable(in *netcfg.Intent, t netcfg.TableDef) {
	in.Tables = slices.DeleteFunc(in.Tables, func(x netcfg.TableDef) bool { return x.ID == t.ID })
	in.NICs = slices.DeleteFunc(in.NICs, func(x netcfg.NICIntent) bool { return refersTo(x.Table, t) })
	in.Rules = slices.DeleteFunc(in.Rules, func(x netcfg.RuleIntent) bool { return refersTo(x.Table, t) })
	in.Routes = slices.DeleteFunc(in.Routes, func(x netcfg.RouteIntent) bool { return refersTo(x.Table, t) })
}

// renameTable gives a table a new name; entries that named it by its old
// name name it by id from now on.
func renameTable(in *netcfg.Intent, before, after netcfg.TableDef) {
	found := false
	for i := range in.Tables {
		if in.Tables[i].ID == before.ID {
			in.Tables[i], found = after, true
		}
	}
	if !found {
		in.Tables = append(in.Tables, after)
	}
	fix := func(ref *netcfg.TableRef) {
		if before.Name != "" && ref.Name == before.Name {
			*ref = netcfg.TableRef{ID: before.ID}
		}
	}
	for i := range in.NICs {
		fix(&in.NICs[i].Table)
	}
	for i := range in.Rules {
		fix(&in.Rules[i].Table)
	}
	for i := range in.Routes {
		fix(&in.Routes[i].Table)
	}
}

func ruleIntentEqual(a, b *netcfg.RuleIntent) bool {
	return a.Priority == b.Priority && a.From == b.From && a.To == b.To && a.IIF == b.IIF && a.OIF == b.OIF &&
		a.Table == b.Table && markEqual(a.FwMark, b.FwMark) && a.Lookup() == b.Lookup() && (a.Lookup() || a.Action == b.Action) &&
		a.IPProto == b.IPProto && uidEqual(a.UIDRange, b.UIDRange) && portEqual(a.SPort, b.SPort) && portEqual(a.DPort, b.DPort) &&
		a.Not == b.Not && a.Tos == b.Tos && a.TunID == b.TunID && a.Goto == b.Goto &&
		(a.DSCP == nil) == (b.DSCP == nil) && (a.DSCP == nil || *a.DSCP == *b.DSCP) &&
		(a.FlowLabel == nil) == (b.FlowLabel == nil) && (a.FlowLabel == nil || *a.FlowLabel == *b.FlowLabel)
}

func markEqual(a, b *netcfg.FwMark) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func routeIntentEqual(a, b *netcfg.RouteIntent) bool {
	return a.Table == b.Table && a.Type == b.Type && a.To == b.To && a.Via == b.Via && a.Dev == b.Dev &&
		a.Src == b.Src && a.Metric == b.Metric && (a.Scope == nil) == (b.Scope == nil) && (a.Scope == nil || *a.Scope == *b.Scope) &&
		a.MTU == b.MTU && a.AdvMSS == b.AdvMSS
}

// intentNIC returns the NIC's entry in an intent.
func intentNIC(in netcfg.Intent, name string) (netcfg.NICIntent, bool) {
	for _, n := range in.NICs {
		if n.Name == name {
			return n, true
		}
	}
	return netcfg.NICIntent{}, false
}

// tableChoice is a table offered in the assign form.
type tableChoice struct {
	ID   uint32
	Name string
	// Note says what is known of the table: who owns it, how full it is.
	Note string
}

func (c tableChoice) label() string { return tableLabel(c.ID, c.Name) }

// knownTables lists every table a NIC can be sent to: those rules refer
// to, those with routes read, those with names, those the intent defines
// and those the edits create. The kernel's own tables are not offered.
func knownTables(v ShowView, names *netcfg.Names, in netcfg.Intent, e edits) []tableChoice {
	by := map[uint32]*tableChoice{}
	get := func(id uint32) *tableChoice {
		if c, ok := by[id]; ok {
			return c
		}
		c := &tableChoice{ID: id, Name: names.TableName(id)}
		by[id] = c
		return c
	}
	notes := map[uint32][]string{}
	for _, t := range v.Tables {
		if netcfg.ReservedTable(t.ID) {
			continue
		}
		c := get(t.ID)
		var n []string
		if t.Owned {
			n = append(n, "nictab")
		}
		if t.Rules > 0 {
			n = append(n, plural(t.Rules, "rule"))
		}
		if t.Routes != nil {
			n = append(n, plural(*t.Routes, "route"))
		}
		notes[c.ID] = n
	}
	for _, t := range names.Tables {
		if !netcfg.ReservedTable(t.ID) {
			get(t.ID)
		}
	}
	for _, t := range in.Tables {
		if c := get(t.ID); c.Name == "" {
			c.Name = t.Name
		}
	}
	for _, t := range e.newTables() {
		get(t.ID).Name = t.Name
		notes[t.ID] = append(notes[t.ID], "new")
	}
	out := make([]tableChoice, 0, len(by))
	for id, c := range by {
		c.Note = strings.Join(notes[id], " · ")
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b tableChoice) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
