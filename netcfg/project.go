package netcfg

import (
	"path/filepath"
	"slices"
)

// ProjectPlan returns the state live would be in once p is applied: each
// change done to a copy, as the kernel would do it. It is what `nictab
// trace --planned` and the SSH guard route through to see a path after a
// change, before anything is changed.
//
// Tables that live did not read in full stay so: a plan's routes alone do
// not make a table complete.
func ProjectPlan(live State, p Plan) State {
	s := live
	s.Links = slices.Clone(live.Links)
	s.Rules = slices.Clone(live.Rules)
	s.Routes = slices.Clone(live.Routes)
	s.Complete = slices.Clone(live.Complete)
	s.Names.Tables = slices.Clone(live.Names.Tables)
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.Subject().Name != nil {
			projectName(&s, c)
			continue
		}
		for _, o := range c.Ops() {
			projectOp(&s, o)
		}
	}
	return s
}

func projectOp(s *State, o Op) {
	switch o.Kind {
	case OpAddRule:
		insertRule(s, *o.Rule)
	case OpDelRule:
		if i := slices.IndexFunc(s.Rules, func(r Rule) bool { return RuleEqual(&r, o.Rule) }); i >= 0 {
			s.Rules = slices.Delete(s.Rules, i, i+1)
		}
	case OpAddRoute, OpReplaceRoute:
		r := *o.Route
		r.MultiPath = slices.Clone(r.MultiPath)
		// A replace takes the place of the route with the same key, as
		// the kernel's does; an add of a key that exists would fail, and
		// a plan never makes one.
		if i := slices.IndexFunc(s.Routes, func(x Route) bool { return x.Key() == r.Key() }); i >= 0 && o.Kind == OpReplaceRoute {
			s.Routes[i] = r
			return
		}
		s.Routes = append(s.Routes, r)
	case OpDelRoute:
		k := o.Route.Key()
		if i := slices.IndexFunc(s.Routes, func(x Route) bool { return x.Key() == k }); i >= 0 {
			s.Routes = slices.Delete(s.Routes, i, i+1)
		}
	}
}

// insertRule puts r where the kernel puts a new rule: after every rule of
// its family with a priority not above its own, so that among rules of
// equal priority the newest is tried last.
func insertRule(s *State, r Rule) {
	at, first := -1, -1
	for i := range s.Rules {
		x := &s.Rules[i]
		if x.Family != r.Family {
			continue
		}
		if first < 0 {
			first = i
		}
		if x.Priority <= r.Priority {
			at = i + 1
		}
	}
	switch {
	case at >= 0:
	case first >= 0:
		at = first
	default:
		at = len(s.Rules)
	}
	s.Rules = slices.Insert(s.Rules, at, r)
}

// projectName applies a change of one of nictab's table names.
func projectName(s *State, c *Change) {
	owned := func(t TableName) bool {
		return filepath.Base(t.File) == OwnedNamesFile && filepath.Base(filepath.Dir(t.File)) == "rt_tables.d"
	}
	id := c.Subject().Name.ID
	s.Names.Tables = slices.DeleteFunc(s.Names.Tables, func(t TableName) bool { return t.ID == id && owned(t) })
	if c.Action == ChangeDelete {
		return
	}
	n := *c.After.Name
	n.File = filepath.Join(s.Names.Dir, "rt_tables.d", OwnedNamesFile)
	s.Names.Tables = append(s.Names.Tables, n)
}
