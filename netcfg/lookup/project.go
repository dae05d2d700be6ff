package lookup

import (
	"cmp"
	"path/filepath"
	"slices"

	"github.com/nictab/nictab/netcfg"
)

// ProjectPlan returns the state live would be in once p is applied: each
// change done to a copy, as the kernel would do it. It is what `nictab
// trace --planned` and the SSH guard route through to see a path after a
// change, before anything is changed.
//
// Tables that live did not read in full stay so: a plan's routes alone do
// not make a table complete.
//
// NOTE: a router's main table can hold a million routes and a plan
// thousands of ops, so nothing here searches the routes per op or moves
// the slice per delete: the routes the ops touch are found in one pass,
// deletes leave a tombstone swept once at the end, and new rules are
// merged into the rule list in one pass. The result is the same as doing
// the ops one by one.
func ProjectPlan(live netcfg.State, p netcfg.Plan) netcfg.State {
	s := live
	s.Links = slices.Clone(live.Links)
	s.Complete = slices.Clone(live.Complete)
	s.Names.Tables = slices.Clone(live.Names.Tables)
	var ops []netcfg.Op
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.Subject().Name != nil {
			projectName(&s, c)
			continue
		}
		ops = append(ops, c.Ops()...)
	}
	s.Routes = projectRoutes(live.Routes, ops)
	s.Rules = projectRules(live.Rules, ops)
	return s
}

// projectRoutes does the route ops to a copy of routes.
func projectRoutes(routes []netcfg.Route, ops []netcfg.Op) []netcfg.Route {
	// at is where the route of each key the ops touch is: -1 when there
	// is none (yet, or any more); dup marks keys held by more than one
	// route, which only a hand-built state has.
	at := map[netcfg.RouteKey]int{}
	dup := map[netcfg.RouteKey]bool{}
	adds := 0
	for _, o := range ops {
		if o.Route != nil {
			at[o.Route.Key()] = -1
			if o.Kind != netcfg.OpDelRoute {
				adds++
			}
		}
	}
	// Room for the new routes up front: growing a copy of a million
	// routes is a second copy.
	out := make([]netcfg.Route, len(routes), len(routes)+adds)
	copy(out, routes)
	if len(at) == 0 {
		return out
	}
	for i := range out {
		k := out[i].Key()
		// The first route of a key is the one the kernel finds.
		if j, ok := at[k]; ok {
			if j < 0 {
				at[k] = i
			} else {
				dup[k] = true
			}
		}
	}
	var dead []bool
	for _, o := range ops {
		switch o.Kind {
		case netcfg.OpAddRoute, netcfg.OpReplaceRoute:
			r := *o.Route
			r.MultiPath = slices.Clone(r.MultiPath)
			k := r.Key()
			// A replace takes the place of the route with the same key,
			// as the kernel's does; an add of a key that exists would
			// fail, and a plan never makes one.
			if i := at[k]; i >= 0 && o.Kind == netcfg.OpReplaceRoute {
				out[i] = r
				continue
			}
			out = append(out, r)
			if at[k] < 0 {
				at[k] = len(out) - 1
			} else {
				dup[k] = true
			}
		case netcfg.OpDelRoute:
			k := o.Route.Key()
			i := at[k]
			if i < 0 {
				continue
			}
			if dead == nil {
				dead = make([]bool, len(out), len(out)+len(ops))
			}
			for len(dead) < len(out) {
				dead = append(dead, false)
			}
			dead[i] = true
			at[k] = -1
			if dup[k] {
				at[k] = nextOfKey(out, dead, i, k)
			}
		}
	}
	if dead == nil {
		return out
	}
	n := 0
	for i := range out {
		if i < len(dead) && dead[i] {
			continue
		}
		out[n] = out[i]
		n++
	}
	clear(out[n:])
	return out[:n]
}

// nextOfKey is the next live route of key k after i, or -1.
func nextOfKey(out []netcfg.Route, dead []bool, i int, k netcfg.RouteKey) int {
	for j := i + 1; j < len(out); j++ {
		if (j >= len(dead) || !dead[j]) && out[j].Key() == k {
			return j
		}
	}
	return -1
}

// projectRules does the rule ops to a copy of rules. A new rule goes where
// the kernel puts it: after every rule of its family with a priority not
// above its own, so that among rules of equal priority the newest is
// tried last.
func projectRules(rules []netcfg.Rule, ops []netcfg.Op) []netcfg.Rule {
	var adds []netcfg.Rule
	delPrio := map[uint32]bool{}
	for _, o := range ops {
		if o.Rule == nil {
			continue
		}
		if o.Kind == netcfg.OpDelRule {
			delPrio[o.Rule.Priority] = true
		}
	}
	// Keys only of the rules a delete could be for: a key is a string
	// built from every attribute, too dear for each of 10k rules.
	byKey := map[string][]int{}
	for i := range rules {
		if delPrio[rules[i].Priority] {
			k := netcfg.RuleKey(&rules[i])
			byKey[k] = append(byKey[k], i)
		}
	}
	dead := map[int]bool{}
	for _, o := range ops {
		switch o.Kind {
		case netcfg.OpAddRule:
			adds = append(adds, *o.Rule)
		case netcfg.OpDelRule:
			k := netcfg.RuleKey(o.Rule)
			if is := byKey[k]; len(is) > 0 {
				dead[is[0]] = true
				byKey[k] = is[1:]
				continue
			}
			if i := slices.IndexFunc(adds, func(r netcfg.Rule) bool { return netcfg.RuleEqual(&r, o.Rule) }); i >= 0 {
				adds = slices.Delete(adds, i, i+1)
			}
		}
	}
	kept := make([]netcfg.Rule, 0, len(rules)+len(adds))
	for i := range rules {
		if !dead[i] {
			kept = append(kept, rules[i])
		}
	}
	if len(adds) == 0 {
		return kept
	}
	if !sortedByFamily(kept) {
		for _, r := range adds {
			kept = insertRule(kept, r)
		}
		return kept
	}
	return mergeRules(kept, adds)
}

// sortedByFamily reports whether each family's rules are in priority
// order, as a dump from the kernel is.
func sortedByFamily(rs []netcfg.Rule) bool {
	last := map[netcfg.Family]uint32{}
	for i := range rs {
		if p, ok := last[rs[i].Family]; ok && rs[i].Priority < p {
			return false
		}
		last[rs[i].Family] = rs[i].Priority
	}
	return true
}

// mergeRules inserts adds, in the order they are made, into rules sorted
// per family, in one pass: each new rule lands after the last rule of its
// family whose priority is not above its own, as insertRule puts it.
func mergeRules(rules, adds []netcfg.Rule) []netcfg.Rule {
	// Made one after another, adds of equal priority keep their order and
	// a lower one goes before: a stable sort per family gives that.
	slices.SortStableFunc(adds, func(a, b netcfg.Rule) int { return cmp.Compare(a.Priority, b.Priority) })
	pending := map[netcfg.Family][]netcfg.Rule{}
	for _, r := range adds {
		pending[r.Family] = append(pending[r.Family], r)
	}
	lastOf := map[netcfg.Family]int{}
	for i := range rules {
		lastOf[rules[i].Family] = i
	}
	out := make([]netcfg.Rule, 0, len(rules)+len(adds))
	for i := range rules {
		x := &rules[i]
		q := pending[x.Family]
		for len(q) > 0 && q[0].Priority < x.Priority {
			out = append(out, q[0])
			q = q[1:]
		}
		out = append(out, *x)
		if lastOf[x.Family] == i {
			out = append(out, q...)
			q = nil
		}
		pending[x.Family] = q
	}
	// A family with no rule yet: its new rules go at the end.
	for _, r := range adds {
		if _, ok := lastOf[r.Family]; !ok {
			out = append(out, r)
		}
	}
	return out
}

// insertRule puts r where the kernel puts a new rule: after every rule of
// its family with a priority not above its own.
func insertRule(rules []netcfg.Rule, r netcfg.Rule) []netcfg.Rule {
	at, first := -1, -1
	for i := range rules {
		x := &rules[i]
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
		at = len(rules)
	}
	return slices.Insert(rules, at, r)
}

// projectName applies a change of one of nictab's table names.
func projectName(s *netcfg.State, c *netcfg.Change) {
	owned := func(t netcfg.TableName) bool {
		return filepath.Base(t.File) == netcfg.OwnedNamesFile && filepath.Base(filepath.Dir(t.File)) == "rt_tables.d"
	}
	id := c.Subject().Name.ID
	s.Names.Tables = slices.DeleteFunc(s.Names.Tables, func(t netcfg.TableName) bool { return t.ID == id && owned(t) })
	if c.Action == netcfg.ChangeDelete {
		return
	}
	n := *c.After.Name
	n.File = filepath.Join(s.Names.Dir, "rt_tables.d", netcfg.OwnedNamesFile)
	s.Names.Tables = append(s.Names.Tables, n)
}
