package netcfg

import "slices"

// Adoptable returns the rules and routes of s that were configured by hand
// and nictab may take over: policy rules other than the kernel's own (and
// other than nictab's), and the routes of the tables those rules look up,
// except routes the kernel made. Only tables read in full contribute
// routes.
func Adoptable(s State) (rules []Rule, routes []Route) {
	var tables []uint32
	for _, r := range s.Rules {
		if r.Owned() || r.Proto == ProtoKernel {
			continue
		}
		rules = append(rules, r)
		if r.Action == ActionLookup && !ReservedTable(r.Table) {
			tables = append(tables, r.Table)
		}
	}
	for _, r := range s.Routes {
		if r.Owned() || r.Proto == ProtoKernel || !slices.Contains(tables, r.Table) || !s.HasTable(r.Table) {
			continue
		}
		routes = append(routes, r)
	}
	return rules, routes
}

// AdoptPlan takes rules and routes of live into nictab's ownership without
// changing where any packet goes: each route is replaced in place by the
// same route with nictab's protocol (one atomic replace), each rule gets an
// owned twin before the original is deleted.
func AdoptPlan(live State, rules []Rule, routes []Route) Plan {
	p := Plan{Prior: Fingerprint(live), Tables: slices.Clone(live.Complete)}
	for i := range routes {
		before := routes[i]
		after := before
		after.Proto = ProtoNictab
		p.Changes = append(p.Changes, Change{Action: ChangeReplace, Before: Object{Route: &before}, After: Object{Route: &after}, Reason: "adopted"})
	}
	for i := range rules {
		before := rules[i]
		after := before
		after.Proto = ProtoNictab
		p.Changes = append(p.Changes, Change{Action: ChangeReplace, Before: Object{Rule: &before}, After: Object{Rule: &after}, Reason: "adopted"})
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
	p.Target = Target{Rules: t.Rules, Routes: t.Routes, Names: t.Names}
	return p
}
