package netcfg

import (
	"path/filepath"
	"slices"
)

// Owned is a set of rules, routes and table names that nictab owns: what a
// plan leaves (Plan.Target), what a snapshot records, and the part of a
// Desired state that is applied.
type Owned struct {
	Rules  []Rule      `json:"rules"`
	Routes []Route     `json:"routes"`
	Names  []TableName `json:"names"`
}

// Clone returns a copy of o whose slices share no array with o's.
func (o Owned) Clone() Owned {
	return Owned{Rules: slices.Clone(o.Rules), Routes: slices.Clone(o.Routes), Names: slices.Clone(o.Names)}
}

// TargetTables returns every table the set puts routes or rules in.
func (o *Owned) TargetTables() []uint32 {
	var out []uint32
	for i := range o.Routes {
		out = appendTable(out, o.Routes[i].Table)
	}
	for i := range o.Rules {
		out = appendTable(out, o.Rules[i].Table)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// AsState is a recorded set as if it were live: everything in it owned by
// nictab, its names in nictab's names file.
func (o Owned) AsState() State {
	s := State{Rules: o.Rules, Routes: o.Routes, AllOwned: true, Complete: o.TargetTables()}
	file := filepath.Join("rt_tables.d", OwnedNamesFile)
	for _, n := range o.Names {
		n.File = file
		s.Names.Tables = append(s.Names.Tables, n)
	}
	return s
}

// AsDesired turns a recorded set back into a desired state for planning,
// managing the tables it uses or names. It holds copies of o's slices.
func (o Owned) AsDesired() Desired {
	d := Desired{Owned: o.Clone(), Tables: o.TargetTables()}
	for _, n := range o.Names {
		d.Tables = append(d.Tables, n.ID)
	}
	slices.Sort(d.Tables)
	d.Tables = slices.Compact(d.Tables)
	return d
}

// Diff is what changes from one recorded set to another, rule by rule and
// route by route, as a plan from a to b (the same diff `nictab plan`
// shows).
func Diff(a, b Owned) Plan {
	return PlanChanges(a.AsState(), b.AsDesired())
}
