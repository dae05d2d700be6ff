package netcfg

import (
	"fmt"
	"slices"
)

// Adoptable returns the rules and routes of s that were configured by hand
// and nictab may take over: policy rules other than the kernel's own (and
// other than nictab's), and the routes of the tables those rules look up,
// except routes the kernel made. Only tables read in full contribute
// routes.
func Adoptable(s State) (rules []Rule, routes []Route) {
	var tables []uint32
	for _, r := range s.Rules {
		if r.Owned() || r.Proto == ProtoKernel || len(r.Opaque()) > 0 {
			continue
		}
		rules = append(rules, r)
		if r.Action == ActionLookup && !ReservedTable(r.Table) {
			tables = append(tables, r.Table)
		}
	}
	for _, r := range s.Routes {
		if r.Owned() || r.Proto == ProtoKernel || !slices.Contains(tables, r.Table) || !s.HasTable(r.Table) || len(r.Opaque()) > 0 {
			continue
		}
		// A table read twice (by its rules and as owned) must not give
		// its routes twice.
		if slices.ContainsFunc(routes, func(o Route) bool { return RouteEqual(&o, &r) }) {
			continue
		}
		routes = append(routes, r)
	}
	return rules, routes
}

// AdoptRefusals names the rules and routes adoption would have taken but
// leaves alone because nictab cannot reproduce them, with what it cannot.
func AdoptRefusals(s State) []string {
	var out []string
	var tables []uint32
	for _, r := range s.Rules {
		if r.Owned() || r.Proto == ProtoKernel {
			continue
		}
		if o := r.Opaque(); len(o) > 0 {
			out = append(out, "not adopted: "+OpaqueReason(fmt.Sprintf("rule \"%s\"", RuleString(&r)), o))
			continue
		}
		if r.Action == ActionLookup && !ReservedTable(r.Table) {
			tables = append(tables, r.Table)
		}
	}
	for _, r := range s.Routes {
		if r.Owned() || r.Proto == ProtoKernel || !slices.Contains(tables, r.Table) || !s.HasTable(r.Table) {
			continue
		}
		if o := r.Opaque(); len(o) > 0 {
			out = append(out, "not adopted: "+OpaqueReason(fmt.Sprintf("route \"%s\"", RouteString(&r)), o))
		}
	}
	return out
}

// AdoptPlan takes rules and routes of live into nictab's ownership without
// changing where any packet goes: each route is replaced in place by the
// same route with nictab's protocol (one atomic replace), each rule gets an
// owned twin before the original is deleted.
func AdoptPlan(live State, rules []Rule, routes []Route) Plan {
	p := Plan{Prior: PriorOf(Fingerprint(live)), Tables: slices.Clone(live.Complete), Owned: ownedElsewhere(&live)}
	for _, t := range AdoptRefusals(live) {
		p.Notes = append(p.Notes, Note{Text: t})
	}
	for i := range routes {
		p.Changes = append(p.Changes, AdoptChange(Object{Route: &routes[i]}))
	}
	for i := range rules {
		p.Changes = append(p.Changes, AdoptChange(Object{Rule: &rules[i]}))
	}
	t := OwnedAsDesired(live)
	for _, c := range p.Changes {
		if c.After.Rule != nil {
			t.Rules = append(t.Rules, *c.After.Rule)
		} else {
			t.Routes = append(t.Routes, *c.After.Route)
		}
	}
	slices.SortFunc(t.Rules, func(a, b Rule) int { return CompareRules(&a, &b) })
	slices.SortFunc(t.Routes, func(a, b Route) int { return a.Key().Compare(b.Key()) })
	p.Target = t.Owned
	return p
}

// AdoptChange is the change that takes o over where it is: the same rule
// or route with nictab's protocol. It holds copies, not o's pointers.
func AdoptChange(o Object) Change {
	c := Change{Action: ChangeReplace, Reason: "adopted"}
	switch {
	case o.Rule != nil:
		before, after := *o.Rule, *o.Rule
		after.Proto = ProtoNictab
		c.Before, c.After = Object{Rule: &before}, Object{Rule: &after}
	case o.Route != nil:
		before, after := *o.Route, *o.Route
		after.Proto = ProtoNictab
		c.Before, c.After = Object{Route: &before}, Object{Route: &after}
	}
	return c
}
