package ui

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/nictab/nictab/netcfg"
)

// edit is what a person asked for one NIC and has not applied yet.
type edit struct {
	unassign bool
	nic      netcfg.NICIntent
	// newTable is a table created in the assign form, named with it.
	newTable *netcfg.TableDef
}

// edits are the unapplied changes of this session, per NIC, in the order
// they were first made.
type edits struct {
	order []string
	by    map[string]edit
}

func (e edits) len() int { return len(e.order) }

func (e edits) get(nic string) (edit, bool) {
	ed, ok := e.by[nic]
	return ed, ok
}

// with returns e with the NIC's edit set; e itself is left alone, so a
// model value that still holds it does not change under it.
func (e edits) with(nic string, ed edit) edits {
	out := edits{order: slices.Clone(e.order), by: make(map[string]edit, len(e.by)+1)}
	for k, v := range e.by {
		out.by[k] = v
	}
	if _, ok := out.by[nic]; !ok {
		out.order = append(out.order, nic)
	}
	out.by[nic] = ed
	return out
}

// without returns e without the NIC's edit.
func (e edits) without(nic string) edits {
	out := edits{by: make(map[string]edit, len(e.by))}
	for _, n := range e.order {
		if n != nic {
			out.order = append(out.order, n)
			out.by[n] = e.by[n]
		}
	}
	return out
}

// newTables are the tables the edits create, by id.
func (e edits) newTables() []netcfg.TableDef {
	var out []netcfg.TableDef
	for _, n := range e.order {
		if t := e.by[n].newTable; t != nil && !e.by[n].unassign {
			if !slices.ContainsFunc(out, func(x netcfg.TableDef) bool { return x.ID == t.ID }) {
				out = append(out, *t)
			}
		}
	}
	return out
}

// applyEdits is the intent that base becomes with the edits: an assigned
// NIC replaces its earlier entry, an unassigned one leaves, and tables the
// edits created are defined with their names.
func applyEdits(base netcfg.Intent, e edits) netcfg.Intent {
	out := netcfg.Intent{
		Tables: slices.Clone(base.Tables),
		Rules:  slices.Clone(base.Rules),
		Routes: slices.Clone(base.Routes),
	}
	for _, n := range base.NICs {
		if _, edited := e.by[n.Name]; !edited {
			out.NICs = append(out.NICs, n)
		}
	}
	for _, name := range e.order {
		ed := e.by[name]
		if ed.unassign {
			continue
		}
		nic := ed.nic
		// A priority given in the snapshot by hand survives an edit made
		// in the UI, which has no field for it.
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
	slices.SortFunc(out.Tables, func(a, b netcfg.TableDef) int { return cmp.Compare(a.ID, b.ID) })
	return out
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
