package netcfg

import "slices"

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
	for _, r := range o.Routes {
		out = append(out, r.Table)
	}
	for _, r := range o.Rules {
		out = append(out, r.Table)
	}
	slices.Sort(out)
	return slices.Compact(out)
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
